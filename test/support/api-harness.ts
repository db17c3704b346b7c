import type { WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import pino from 'pino';
import request from 'supertest';
import { createActivities } from '../../src/activities';
import { createApp } from '../../src/api/app';
import type { PaymentGateway } from '../../src/gateways/payment-gateway';
import type { SubscriptionWorkflowInput } from '../../src/workflows/contracts';
import type { subscriptionWorkflow } from '../../src/workflows/subscription';
import { migratedAppPool, testIngestThreads } from './db';
import { FakeGateway } from './fake-gateway';
import { createDevServerEnv, workflowBundle } from './temporal';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

/**
 * The real API wired to the dev server, Postgres (as the non-owner role) and Redis, plus a worker. The
 * API and the activities share one payment gateway: a FakeGateway unless the test passes another one
 * (e.g. a StripeGateway on stripe-mock, or one that knows a test webhook secret).
 */
export interface ApiHarness<G extends PaymentGateway = FakeGateway> {
  readonly app: Express;
  readonly gateway: G;
  readonly env: TestWorkflowEnvironment;
  readonly pools: { app: Pool; owner: Pool };
  readonly redis: Redis;
  readonly taskQueue: string;
  startWorker(): Promise<RunningWorker>;
  /**
   * Starts a subscription workflow as POST /v1/subscriptions would (e.g. for rows written by
   * seedSubscription). Without a running worker it stays open and records what it is sent.
   */
  startSubscriptionWorkflow(seeded: {
    workflowId: string;
    input: SubscriptionWorkflowInput;
  }): Promise<WorkflowHandle<typeof subscriptionWorkflow>>;
  close(): Promise<void>;
}

export interface RunningWorker {
  stop(): Promise<void>;
}

export interface ApiHarnessOptions<G extends PaymentGateway> {
  readonly gateway?: G;
  /** Ingest usage events on two ingest threads, as the API server does (src/usage/ingest-threads.ts). */
  readonly ingestThreads?: boolean;
}

export async function createApiHarness<G extends PaymentGateway = FakeGateway>(
  taskQueue: string,
  options: ApiHarnessOptions<G> = {},
): Promise<ApiHarness<G>> {
  // Without an explicit gateway G is its default, FakeGateway.
  const gateway = options.gateway ?? (new FakeGateway() as PaymentGateway as G);
  const [env, pools] = await Promise.all([createDevServerEnv(), migratedAppPool()]);
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15', {
    maxRetriesPerRequest: 1,
  });
  const app = createApp({
    pool: pools.app,
    redis,
    temporal: env.client,
    logger: pino({ level: 'silent' }),
    adminToken: ADMIN_TOKEN,
    taskQueue,
    temporalUiUrl: 'http://127.0.0.1:8233',
    gateway,
    ...(options.ingestThreads === true ? { usage: { ingestThreads: testIngestThreads() } } : {}),
  });
  const workers = new Set<RunningWorker>();
  return {
    app,
    gateway,
    env,
    pools,
    redis,
    taskQueue,
    async startWorker() {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: createActivities({ pool: pools.app, gateway }),
      });
      const running = worker.run();
      const handle: RunningWorker = {
        async stop() {
          worker.shutdown();
          await running;
          workers.delete(handle);
        },
      };
      workers.add(handle);
      return handle;
    },
    startSubscriptionWorkflow({ workflowId, input }) {
      return env.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
      });
    },
    async close() {
      for (const worker of [...workers]) await worker.stop();
      await (app.locals.stopUsage as () => Promise<void>)();
      await env.teardown();
      redis.disconnect();
      await Promise.all([pools.app.end(), pools.owner.end()]);
    },
  };
}

/** Polls until `check` stops throwing (for effects that land asynchronously through the workflow). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export interface TestTenant {
  readonly id: string;
  /** The tenant's API key secret. */
  readonly key: string;
}

/** A fresh tenant through the admin endpoint, as a tenant's first request would be. */
export async function createTenant(harness: Pick<ApiHarness<PaymentGateway>, 'app'>, name: string) {
  const res = await request(harness.app)
    .post('/v1/admin/tenants')
    .set('Authorization', `Bearer ${ADMIN_TOKEN}`)
    .send({ name });
  if (res.status !== 201) throw new Error(`creating tenant ${name} failed: ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, key: res.body.api_key.secret as string } satisfies TestTenant;
}

/** Requests authenticated as `tenant`; POSTs carry an Idempotency-Key when one is given. */
export function apiAs(harness: Pick<ApiHarness<PaymentGateway>, 'app'>, tenant: TestTenant) {
  const auth = `Bearer ${tenant.key}`;
  return {
    post(url: string, body?: unknown, idempotencyKey?: string) {
      const req = request(harness.app).post(url).set('Authorization', auth);
      if (idempotencyKey !== undefined) req.set('Idempotency-Key', idempotencyKey);
      return body === undefined ? req : req.send(body as object);
    },
    put: (url: string, body: object) => request(harness.app).put(url).set('Authorization', auth).send(body),
    get: (url: string) => request(harness.app).get(url).set('Authorization', auth),
    delete: (url: string) => request(harness.app).delete(url).set('Authorization', auth),
  };
}

/** An RFC 9457 answer of this status and type, naming `field`, without a stack trace. */
export function expectProblem(res: request.Response, status: number, type: string, field?: string): void {
  expect({ status: res.status, body: res.body as unknown }).toMatchObject({
    status,
    body: { type: `https://ledgerline.dev/problems/${type}`, status },
  });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(typeof res.body.title).toBe('string');
  expect(typeof res.body.detail).toBe('string');
  expect(JSON.stringify(res.body)).not.toMatch(/at .*\.ts:\d+/);
  if (field !== undefined) expect(res.body.field).toBe(field);
}

/** The signals a workflow has recorded in its history, oldest first, with their decoded (JSON) argument. */
export async function signalsReceived(
  handle: WorkflowHandle,
): Promise<Array<{ name: string; payload: unknown }>> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).flatMap((event) => {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (!signaled) return [];
    const data = signaled.input?.payloads?.[0]?.data;
    return [
      {
        name: signaled.signalName ?? '',
        payload: data ? (JSON.parse(Buffer.from(data).toString('utf8')) as unknown) : undefined,
      },
    ];
  });
}
