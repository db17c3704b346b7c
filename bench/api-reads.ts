/**
 * `npm run bench:api-reads`: authenticated, tenant-scoped reads through the real HTTP stack
 * (express, API-key lookup by hash, withTenant transaction with RLS, JSON) over loopback.
 * Prints one result line. Needs Postgres and Redis (scripts/bench.sh starts them).
 */
import { startBenchApi } from './support/bench-api';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { newId } from '../src/db/ids';
import { createPool } from '../src/db/pool';
import { createTenantWithApiKey } from '../src/db/tenants';
import { withTenant } from '../src/db/with-tenant';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 15_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);

function percentile(sortedMs: number[], p: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor((p / 100) * sortedMs.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const databaseUrl =
    process.env.DATABASE_URL ?? 'postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test';
  const pool = createPool(databaseUrl, { max: 16 });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15');
  const { tenant, apiKey } = await createTenantWithApiKey(pool, { name: 'bench', mode: 'test' });
  const customerId = newId('customer');
  await withTenant(pool, tenant.id, (db) =>
    db.query('INSERT INTO customers (id, tenant_id, email) VALUES ($1, $2, $3)', [
      customerId,
      tenant.id,
      'b@example.com',
    ]),
  );
  const { close, origin } = await startBenchApi(pool, redis);
  const url = `${origin}/v1/customers/${customerId}`;
  const headers = { authorization: `Bearer ${apiKey.secret}` };

  const latenciesMs: number[] = [];
  let errors = 0;
  const deadline = performance.now() + DURATION_MS;
  const startedMs = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const response = await fetch(url, { headers });
        await response.arrayBuffer();
        if (response.status !== 200) errors += 1;
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const elapsedS = (performance.now() - startedMs) / 1000;
  latenciesMs.sort((a, b) => a - b);
  console.log(
    `api-reads: ${(latenciesMs.length / elapsedS).toFixed(0)} req/s, p50 ${percentile(latenciesMs, 50).toFixed(2)} ms, ` +
      `p99 ${percentile(latenciesMs, 99).toFixed(2)} ms, errors ${errors} ` +
      `(GET /v1/customers/:id, concurrency ${CONCURRENCY}, ${elapsedS.toFixed(0)} s, client and server in one Node process)`,
  );
  await close();
  redis.disconnect();
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
