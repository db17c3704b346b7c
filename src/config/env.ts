import { z } from 'zod';
import type { StripeGatewayConfig } from '../gateways/stripe-gateway';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/contracts';

const port = z.coerce.number().int().min(1).max(65535);
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL');

/** Where the Stripe SDK sends requests, parsed from STRIPE_API_BASE (absent: api.stripe.com). */
export interface StripeApiBase {
  readonly protocol: 'http' | 'https';
  readonly host: string;
  readonly port: number;
}

/** `http://127.0.0.1:12111` (stripe-mock) → its parts; only scheme, host and port are allowed. */
const stripeApiBase = z.string().transform((value, ctx): StripeApiBase => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a URL like http://127.0.0.1:12111' });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http:// or https:// URL' });
    return z.NEVER;
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '') {
    ctx.addIssue({ code: 'custom', message: 'must be scheme, host and port only (no path, query or user)' });
    return z.NEVER;
  }
  const protocol = url.protocol === 'https:' ? 'https' : 'http';
  // URL keeps IPv6 literals bracketed; the SDK's http client wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { protocol, host, port: url.port === '' ? (protocol === 'https' ? 443 : 80) : Number(url.port) };
});

export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    HTTP_HOST: z.string().default('127.0.0.1'),
    HTTP_PORT: port.default(3000),
    /** The API and workers connect as a role that owns no table, so row-level security always applies. */
    DATABASE_URL: postgresUrl,
    /** Only the migration runner uses the schema owner. */
    MIGRATION_DATABASE_URL: postgresUrl.optional(),
    REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
    /**
     * Worker threads that ingest usage event bodies (src/usage/ingest-threads.ts); 0 ingests them on
     * the event loop that serves HTTP. Two use both cores of a two-core machine (BENCHMARKS.md).
     */
    INGEST_THREADS: z.coerce.number().int().min(0).max(64).default(2),
    TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().default('default'),
    TEMPORAL_TASK_QUEUE: z.string().default(SUBSCRIPTION_TASK_QUEUE),
    TEMPORAL_UI_URL: z.string().default('http://127.0.0.1:8233'),
    /** Bearer token for /v1/admin (tenant bootstrap). At least 32 characters so it cannot be guessed. */
    ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters'),
    /** Secret (`sk_…`) or restricted (`rk_…`) key of the Stripe account that charges the customers. */
    STRIPE_SECRET_KEY: z
      .string({ error: 'is required (a Stripe secret key, sk_test_… or sk_live_…)' })
      .regex(
        /^(sk|rk)_(test|live)_[0-9A-Za-z_]+$/,
        'must be a Stripe secret key (sk_test_…, sk_live_… or rk_…)',
      ),
    /** Signing secret of the webhook endpoint /v1/webhooks/stripe (`whsec_…`, shown in Stripe's dashboard). */
    STRIPE_WEBHOOK_SECRET: z
      .string({ error: 'is required (the webhook endpoint signing secret, whsec_…)' })
      .regex(/^whsec_[0-9A-Za-z_]+$/, "must be the webhook endpoint's signing secret (whsec_…)"),
    /** Another Stripe API host, e.g. stripe-mock for local runs and tests. Default: api.stripe.com. */
    STRIPE_API_BASE: z.preprocess((value) => (value === '' ? undefined : value), stripeApiBase.optional()),
  })
  .superRefine((config, ctx) => {
    if (config.NODE_ENV === 'production' && config.STRIPE_API_BASE?.protocol === 'http') {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_API_BASE'],
        message: 'must be https in production (card data and the secret key would travel in clear text)',
      });
    }
  });

export type Config = z.infer<typeof ConfigSchema>;

/** Parses the environment once at start-up; a bad value stops the process with every problem listed. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((issue) => `  ${issue.path.join('.')}: ${issue.message}`)
      .join('\n');
    throw new Error(`Invalid configuration (see .env.example):\n${problems}`);
  }
  return parsed.data;
}

/** What StripeGateway needs from the configuration. */
export function stripeGatewayConfig(config: Config): StripeGatewayConfig {
  return {
    apiKey: config.STRIPE_SECRET_KEY,
    webhookSecret: config.STRIPE_WEBHOOK_SECRET,
    ...(config.STRIPE_API_BASE ?? {}),
  };
}
