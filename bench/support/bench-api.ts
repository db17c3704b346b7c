import { Client } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import pino from 'pino';
import { createApp } from '../../src/api/app';
import { StripeGateway } from '../../src/gateways/stripe-gateway';
import type { UsageOptions } from '../../src/usage/usage-service';

/**
 * The real API on a loopback port for a benchmark: the same app as production, with a lazy Temporal
 * client that never connects (the endpoints measured never touch Temporal) and a Stripe gateway that
 * is never called.
 */
export async function startBenchApi(
  pool: Pool,
  redis: Redis,
  usage?: UsageOptions,
): Promise<{ server: Server; port: number; origin: string; close: () => Promise<void> }> {
  const app = createApp({
    pool,
    redis,
    temporal: new Client(),
    logger: pino({ level: 'silent' }),
    adminToken: 'x'.repeat(32),
    taskQueue: 'bench',
    temporalUiUrl: 'http://127.0.0.1:8233',
    gateway: new StripeGateway({ apiKey: 'sk_test_bench_unused', webhookSecret: 'whsec_bench_unused' }),
    ...(usage === undefined ? {} : { usage }),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    server.close();
    // The usage service's rollup compactor runs in the background until stopped (src/api/app.ts).
    await (app.locals.stopUsageCompactor as () => Promise<void>)();
  };
  return { server, port, origin: `http://127.0.0.1:${port}`, close };
}
