import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { TaxProvider } from '../domain/tax/types';
import type { PaymentGateway } from '../gateways/payment-gateway';
import { pinoHttp } from 'pino-http';
import { requireApiKey } from './auth';
import { ProblemError, problemHandler } from './problem';
import { adminRouter } from './routes/admin';
import { quarantinedDeltasRouter } from './routes/quarantined-deltas';
import { billingSettingsRouter } from './routes/billing-settings';
import { plansRouter, productsRouter } from './routes/catalog';
import { conversionsRouter } from './routes/conversions';
import { creditNotesRouter } from './routes/credit-notes';
import { customersRouter } from './routes/customers';
import { entitlementsRouter } from './routes/entitlements';
import { eventsRouter } from './routes/events';
import { healthRouter } from './routes/health';
import { invoicesRouter } from './routes/invoices';
import { metersRouter } from './routes/meters';
import { planFeaturesRouter } from './routes/plan-features';
import { subscriptionsRouter } from './routes/subscriptions';
import { usageChargesRouter } from './routes/usage-charges';
import { fxRatesRouter, taxProfileRouter, taxReportsRouter } from './routes/tax';
import { stripeWebhookRouter } from './routes/webhooks';
import { UsageService, type UsageOptions } from '../usage/usage-service';
import { ThresholdWatcher } from '../usage/threshold-watcher';

export interface AppDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly temporal: Client;
  readonly logger: Logger;
  readonly adminToken: string;
  readonly taskQueue: string;
  readonly temporalUiUrl: string;
  /** The payment provider (StripeGateway in every process; tests may inject another implementation). */
  readonly gateway: PaymentGateway;
  readonly now?: () => Date;
  /** Tax for previews; the worker's activities use the same provider (built-in tables by default). */
  readonly taxProvider?: TaxProvider;
  /** Usage metering knobs (ingestion rate limit, cache lifetimes); defaults suit production. */
  readonly usage?: UsageOptions;
}

export function createApp(deps: AppDeps): Express {
  const { pool } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(pinoHttp({ logger: deps.logger, autoLogging: { ignore: (req) => req.url === '/healthz' } }));
  // Before the JSON parser (Stripe signs the raw bytes) and outside the API-key check (the signature
  // authenticates the delivery).
  app.use('/v1/webhooks/stripe', stripeWebhookRouter(deps));
  const usage = new UsageService({
    ...deps.usage,
    pool,
    redis: deps.redis,
    onCacheError: (error) => deps.logger.warn({ err: error }, 'usage aggregate cache unavailable'),
  });
  // Usage thresholds of metered features: evaluated after the acknowledgement, batched (entitlements).
  const thresholds = new ThresholdWatcher({
    pool,
    usage,
    temporal: deps.temporal,
    onError: (error, context) =>
      deps.logger.warn({ err: error, context }, 'usage threshold evaluation failed'),
  });
  usage.onAccepted(thresholds.notify);
  // The usage service's ingest threads and background rollup compactor; stop them before closing the
  // pool (server.ts, tests).
  app.locals.stopUsage = (): Promise<void> => usage.stop();
  // Event batches (up to 10,000 events) bring their own larger body parser, so it goes first.
  app.use('/v1/events', eventsRouter({ pool, usage }));
  app.use(express.json({ limit: '1mb' }));

  app.use(healthRouter(deps));
  app.use('/v1/admin', adminRouter(pool, deps.adminToken));

  const v1 = express.Router();
  v1.use(requireApiKey(pool));
  v1.use('/products', productsRouter(pool));
  v1.use('/plans/:planId/charges', usageChargesRouter(pool));
  v1.use('/plans', plansRouter(pool));
  v1.use(
    '/plans/:id/features',
    planFeaturesRouter({ pool, onChange: (tenantId) => thresholds.invalidate(tenantId) }),
  );
  v1.use('/customers', customersRouter(deps));
  v1.use('/subscriptions', subscriptionsRouter(deps));
  v1.use('/invoices', invoicesRouter(deps));
  v1.use('/credit_notes', creditNotesRouter(deps));
  v1.use('/billing_settings', billingSettingsRouter(pool));
  v1.use('/meters', metersRouter({ pool, usage }));
  v1.use('/usage/quarantined-deltas', quarantinedDeltasRouter(pool));
  v1.use('/entitlements', entitlementsRouter({ pool, usage, now: deps.now }));
  v1.use('/tax_profile', taxProfileRouter(pool));
  v1.use('/fx_rates', fxRatesRouter(pool));
  v1.use('/reports', taxReportsRouter(pool));
  v1.use('/reports/conversions', conversionsRouter(pool));
  app.use('/v1', v1);

  app.use((req) => {
    throw new ProblemError('notFound', `No route for ${req.method} ${req.path}`, { field: 'path' });
  });
  app.use(problemHandler(deps.logger));
  return app;
}
