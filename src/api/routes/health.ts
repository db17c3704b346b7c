import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Pool } from 'pg';

export interface HealthDeps {
  readonly pool: Pool;
  readonly redis: Redis;
  readonly temporal: Client;
}

const CHECK_TIMEOUT_MS = 2_000;

async function timed(
  check: () => Promise<unknown>,
): Promise<{ ok: boolean; latency_ms: number; error?: string }> {
  const startedMs = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)),
          CHECK_TIMEOUT_MS,
        );
      }),
    ]);
    return { ok: true, latency_ms: Date.now() - startedMs };
  } catch (error) {
    return { ok: false, latency_ms: Date.now() - startedMs, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** /healthz: the process is up. /readyz: every dependency answers, so a load balancer may send traffic. */
export function healthRouter({ pool, redis, temporal }: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, redisCheck, temporalCheck] = await Promise.all([
      timed(() => pool.query('SELECT 1')),
      timed(() => redis.ping()),
      timed(() => temporal.connection.workflowService.getSystemInfo({})),
    ]);
    const checks = { postgres, redis: redisCheck, temporal: temporalCheck };
    const ready = postgres.ok && redisCheck.ok && temporalCheck.ok;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  return router;
}
