import { Client } from '@temporalio/client';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/api/app';
import { newId } from '../../src/db/ids';
import { withTenant } from '../../src/db/with-tenant';
import type { IngestLimit } from '../../src/usage/rate-limit';
import { DEFAULT_INGEST_LIMIT } from '../../src/usage/usage-service';
import { ADMIN_TOKEN, createTenant, type TestTenant } from './api-harness';
import { migratedAppPool, testIngestThreads } from './db';
import { FakeGateway } from './fake-gateway';

/**
 * The real API on Postgres (as the non-owner role) and Redis, without Temporal: usage ingestion and
 * meters never talk to it, so the client is lazy and never connects. Redis is a database of its own
 * (14 unless TEST_USAGE_REDIS_URL says otherwise) so tests may FLUSHDB it without touching anyone else's.
 */
export interface UsageHarness {
  readonly app: Express;
  readonly pools: { app: Pool; owner: Pool };
  readonly redis: Redis;
  /** Per-tenant ingestion limits; tenants not listed get the default. */
  readonly limits: Map<string, IngestLimit>;
  newTenant(name: string): Promise<TestTenant>;
  /** Another API process on the same Postgres and Redis (a replica): its own memory and caches. */
  replica(): Express;
  close(): Promise<void>;
}

export interface UsageHarnessOptions {
  /** Ingest request bodies on two ingest threads, as the API server does (ingest-threads.ts). */
  readonly ingestThreads?: boolean;
}

export async function createUsageHarness(options: UsageHarnessOptions = {}): Promise<UsageHarness> {
  const pools = await migratedAppPool();
  const redis = new Redis(process.env.TEST_USAGE_REDIS_URL ?? 'redis://127.0.0.1:6379/14', {
    maxRetriesPerRequest: 1,
  });
  const limits = new Map<string, IngestLimit>();
  const newApp = () =>
    createApp({
      pool: pools.app,
      redis,
      temporal: new Client(),
      logger: pino({ level: 'silent' }),
      adminToken: ADMIN_TOKEN,
      taskQueue: 'usage-tests',
      temporalUiUrl: 'http://127.0.0.1:8233',
      gateway: new FakeGateway(),
      usage: {
        ingestLimit: (tenantId) => limits.get(tenantId) ?? DEFAULT_INGEST_LIMIT,
        ...(options.ingestThreads === true ? { ingestThreads: testIngestThreads() } : {}),
      },
    });
  const app = newApp();
  const replicas: Express[] = [];
  return {
    app,
    pools,
    redis,
    limits,
    newTenant: (name) => createTenant({ app }, name),
    replica() {
      const replica = newApp();
      replicas.push(replica);
      return replica;
    },
    async close() {
      for (const each of [app, ...replicas]) await (each.locals.stopUsage as () => Promise<void>)();
      redis.disconnect();
      await Promise.all([pools.app.end(), pools.owner.end()]);
    },
  };
}

/** A customer with an external id, written directly (the customers API is not what is under test). */
export async function seedCustomer(
  harness: UsageHarness,
  tenant: TestTenant,
  externalId?: string,
): Promise<string> {
  const id = newId('customer');
  await withTenant(harness.pools.app, tenant.id, (db) =>
    db.query('INSERT INTO customers (id, tenant_id, external_id, email) VALUES ($1, $2, $3, $4)', [
      id,
      tenant.id,
      externalId ?? null,
      `${id}@example.com`,
    ]),
  );
  return id;
}

export function usageApi(harness: UsageHarness, tenant: TestTenant) {
  const auth = `Bearer ${tenant.key}`;
  return {
    sendBatch: (events: unknown[]) =>
      request(harness.app).post('/v1/events/batch').set('Authorization', auth).send({ events }),
    sendEvent: (event: unknown) =>
      request(harness.app)
        .post('/v1/events')
        .set('Authorization', auth)
        .send(event as object),
    createMeter: async (meter: Record<string, unknown>): Promise<string> => {
      const res = await request(harness.app).post('/v1/meters').set('Authorization', auth).send(meter);
      if (res.status !== 201)
        throw new Error(`creating meter failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.id as string;
    },
    get: (url: string) => request(harness.app).get(url).set('Authorization', auth),
    post: (url: string, body: object) => request(harness.app).post(url).set('Authorization', auth).send(body),
    /** The meter's aggregate for a customer over [from, to) (whole hours), as the API reports it. */
    usage: async (meterId: string, customer: string, from: string, to: string, groupBy?: string) => {
      const query = new URLSearchParams({ customer, from, to, ...(groupBy ? { group_by: groupBy } : {}) });
      const res = await request(harness.app)
        .get(`/v1/meters/${meterId}/usage?${query.toString()}`)
        .set('Authorization', auth);
      if (res.status !== 200) throw new Error(`usage failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body as {
        value: string | null;
        groups: Array<{ group: Record<string, unknown>; value: string | null }>;
        source: string;
      };
    },
  };
}

/** The UTC hour containing `ms`, and the one after it, as ISO strings. */
export function hourAround(ms: number): { from: string; to: string } {
  const start = Math.floor(ms / 3_600_000) * 3_600_000;
  return { from: new Date(start).toISOString(), to: new Date(start + 3_600_000).toISOString() };
}
