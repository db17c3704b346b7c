import { Client, Connection } from '@temporalio/client';
import { Redis } from 'ioredis';
import { loadConfig, stripeGatewayConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createPool } from '../db/pool';
import { StripeGateway } from '../gateways/stripe-gateway';
import { startCompactionThread } from '../usage/compaction-thread';
import { DEFAULT_COMPACTION_INTERVAL_MS } from '../usage/usage-service';
import { createApp } from './app';

/** API process entry point: config → connections → HTTP server, and a clean stop on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'ledgerline-api');
  // Built first: a bad key or webhook secret stops the process before it opens any connection.
  const gateway = new StripeGateway(stripeGatewayConfig(config));
  const pool = createPool(config.DATABASE_URL);
  const redis = new Redis(config.REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  // Rollup compaction runs on its own thread, off the event loop that serves requests.
  const compaction = startCompactionThread(
    {
      databaseUrl: config.DATABASE_URL,
      redisUrl: config.REDIS_URL,
      intervalMs: DEFAULT_COMPACTION_INTERVAL_MS,
    },
    (error) =>
      error.name === 'QuarantinedDeltasError'
        ? logger.error({ err: error }, 'usage rollup deltas quarantined: usage not counted, invoices held')
        : logger.warn({ err: error }, 'usage rollup compaction pass failed'),
  );
  const app = createApp({
    pool,
    redis,
    temporal,
    logger,
    adminToken: config.ADMIN_TOKEN,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    temporalUiUrl: config.TEMPORAL_UI_URL,
    gateway,
    usage: {
      backgroundCompaction: 'external',
      ...(config.INGEST_THREADS === 0
        ? {}
        : { ingestThreads: { count: config.INGEST_THREADS, databaseUrl: config.DATABASE_URL } }),
    },
  });
  const server = app.listen(config.HTTP_PORT, config.HTTP_HOST, () => {
    logger.info(
      {
        host: config.HTTP_HOST,
        port: config.HTTP_PORT,
        stripe: config.STRIPE_API_BASE?.host ?? 'api.stripe.com',
      },
      'API listening',
    );
  });
  const stop = (signal: string) => {
    logger.info({ signal }, 'stopping API');
    server.close(() => {
      // Usage first (ingest threads finish their requests; the compactors their last pass and
      // publishes), since they need the pool and Redis.
      const stopUsage = app.locals.stopUsage as (() => Promise<void>) | undefined;
      void Promise.all([stopUsage?.(), compaction.stop()])
        .catch(() => undefined)
        .then(() => Promise.allSettled([pool.end(), redis.quit(), connection.close()]))
        .then(() => process.exit(0));
    });
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
