import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import type { Pool } from 'pg';
import pino from 'pino';
import { createActivities } from '../../src/activities';
import { createApp } from '../../src/api/app';
import { migratedAppPool } from './db';
import { createDevServerEnv, workflowBundle } from './temporal';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

/** The real API wired to the dev server, Postgres (as the non-owner role) and Redis, plus a worker. */
export interface ApiHarness {
  readonly app: Express;
  readonly env: TestWorkflowEnvironment;
  readonly pools: { app: Pool; owner: Pool };
  readonly redis: Redis;
  readonly taskQueue: string;
  startWorker(): Promise<RunningWorker>;
  close(): Promise<void>;
}

export interface RunningWorker {
  stop(): Promise<void>;
}

export async function createApiHarness(taskQueue: string): Promise<ApiHarness> {
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
  });
  const workers = new Set<RunningWorker>();
  return {
    app,
    env,
    pools,
    redis,
    taskQueue,
    async startWorker() {
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: await workflowBundle(),
        activities: createActivities({ pool: pools.app }),
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
    async close() {
      for (const worker of [...workers]) await worker.stop();
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
