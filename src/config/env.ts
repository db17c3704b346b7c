import { z } from 'zod';
import { SUBSCRIPTION_TASK_QUEUE } from '../workflows/contracts';

const port = z.coerce.number().int().min(1).max(65535);
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection URL');

export const ConfigSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: port.default(3000),
  /** The API and workers connect as a role that owns no table, so row-level security always applies. */
  DATABASE_URL: postgresUrl,
  /** Only the migration runner uses the schema owner. */
  MIGRATION_DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_TASK_QUEUE: z.string().default(SUBSCRIPTION_TASK_QUEUE),
  TEMPORAL_UI_URL: z.string().default('http://127.0.0.1:8233'),
  /** Bearer token for /v1/admin (tenant bootstrap). At least 32 characters so it cannot be guessed. */
  ADMIN_TOKEN: z.string().min(32, 'must be at least 32 characters'),
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
