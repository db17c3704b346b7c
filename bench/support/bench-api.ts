import { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import { StripeGateway } from '../../src/gateways/stripe-gateway';
import { startCompactionThread } from '../../src/usage/compaction-thread';
import { DEFAULT_COMPACTION_INTERVAL_MS, type UsageOptions } from '../../src/usage/usage-service';

/**
 * The real API on a loopback port for a benchmark: the same app as production, with a lazy Temporal
 * client that never connects (the endpoints measured never touch Temporal) and a Stripe gateway that
 * is never called. With `compactionThread`, rollup compaction runs on its own thread as in the API
 * server (src/api/server.ts); without, on the API's event loop.
 */
export async function startBenchApi(
  pool: Pool,
  redis: Redis,
  usage?: UsageOptions,
  compactionThread?: { databaseUrl: string; redisUrl: string },
): Promise<{ server: Server; port: number; origin: string; close: () => Promise<void> }> {
  const thread =
    compactionThread === undefined
      ? undefined
      : startCompactionThread(
          {
            ...compactionThread,
            intervalMs: usage?.compactionIntervalMs ?? DEFAULT_COMPACTION_INTERVAL_MS,
          },
          (error) => console.error('compaction pass failed:', error.message),
        );
  const app = createApp({
    pool,
    redis,
    temporal: new Client(),
    logger: pino({ level: 'silent' }),
    adminToken: 'x'.repeat(32),
    taskQueue: 'bench',
    temporalUiUrl: 'http://127.0.0.1:8233',
    gateway: new StripeGateway({ apiKey: 'sk_test_bench_unused', webhookSecret: 'whsec_bench_unused' }),
    usage: { ...usage, ...(thread === undefined ? {} : { backgroundCompaction: 'external' as const }) },
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.close();
    // The usage service's rollup compactor runs in the background until stopped (src/api/app.ts).
    await (app.locals.stopUsage as () => Promise<void>)();
    await thread?.stop();
  };
  return { server, port, origin: `http://127.0.0.1:${port}`, close };
}
