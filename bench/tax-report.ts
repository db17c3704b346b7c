/**
 * `npm run bench:tax-report`: a tenant with 100,000 invoices in one month (spread over 14 EU countries,
 * two currencies, some reverse-charged, plus 2,000 credit notes), then the month's VAT report through
 * the real HTTP endpoint (API key, RLS transaction, grouped index scan, JSON and CSV). Prints the
 * cold first request and the median of 10 warm ones. Needs Postgres (scripts/bench.sh starts it).
 */
import { startBenchApi } from './support/bench-api';
import { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import { newId } from '../src/db/ids';
import { createPool } from '../src/db/pool';
import { createTenantWithApiKey } from '../src/db/tenants';
import { withTenant } from '../src/db/with-tenant';

const INVOICES = Number(process.env.BENCH_INVOICES ?? 100_000);
const CREDIT_NOTES = Math.floor(INVOICES / 50);
const RUNS = 10;

async function seed(pool: ReturnType<typeof createPool>, tenantId: string): Promise<void> {
  const customerId = newId('customer');
  const subscriptionId = newId('subscription');
  await withTenant(pool, tenantId, async (db) => {
    await db.query(`INSERT INTO customers (id, tenant_id, email) VALUES ($1, $2, 'bench@example.com')`, [
      customerId,
      tenantId,
    ]);
    await db.query(`INSERT INTO products (id, tenant_id, name) VALUES ($1, $2, 'Bench')`, [
      `prod_bench${tenantId.slice(4)}`,
      tenantId,
    ]);
  });
  // Rows are written the way finalization writes them (an invoice, its number, its tax summary), in
  // set-based SQL so seeding 100k invoices takes seconds, not the benchmark's subject.
  await withTenant(pool, tenantId, async (db) => {
    const planId = `plan_bench${tenantId.slice(4)}`;
    const priceId = `price_bench${tenantId.slice(4)}`;
    await db.query(
      `INSERT INTO plans (id, tenant_id, product_id, currency, amount_minor, billing_interval, interval_count,
                          current_price_id)
       VALUES ($1, $2, $3, 'EUR', 4900, 'month', 1, $4)`,
      [planId, tenantId, `prod_bench${tenantId.slice(4)}`, priceId],
    );
    await db.query(
      `INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval,
                           interval_count)
       VALUES ($1, $2, $3, 1, 'EUR', 4900, 'month', 1)`,
      [priceId, tenantId, planId],
    );
    await db.query(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, workflow_id, billing_anchor,
                                  current_period_start, current_period_end)
       VALUES ($1, $2, $3, $4, 'active', $5, '2026-03-01', '2026-03-01', '2026-04-01')`,
      [subscriptionId, tenantId, customerId, planId, `bench:${subscriptionId}`],
    );
    await db.query(
      `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency, period_start, period_end,
                             subtotal_minor, tax_minor, total_minor, billing_reason, idempotency_key, issued_at)
       SELECT 'in_bench' || g, $1, $2, $3, 'draft', CASE WHEN g % 5 = 0 THEN 'USD' ELSE 'EUR' END,
              '2026-03-01'::timestamptz, '2026-04-01'::timestamptz, 4900, 0, 4900, 'manual', 'bench:' || g,
              '2026-03-01'::timestamptz + (g % 2678400) * interval '1 second'
         FROM generate_series(1, $4::int) g`,
      [tenantId, customerId, subscriptionId, INVOICES],
    );
    const countries = ['DE', 'FR', 'IT', 'ES', 'NL', 'BE', 'AT', 'IE', 'PL', 'SE', 'DK', 'FI', 'PT', 'CZ'];
    const rates = [19, 20, 22, 21, 21, 21, 20, 23, 23, 25, 25, 25.5, 23, 21];
    await db.query(
      `INSERT INTO invoice_tax_lines (tenant_id, invoice_id, position, issued_at, currency, jurisdiction, country,
                                      region, tax_name, rate_percent, rate_kind, treatment, taxable_minor, tax_minor,
                                      reporting_currency, reporting_taxable_minor, reporting_tax_minor)
       SELECT $1, i.id, 0, i.issued_at, i.currency, c.country, c.country, NULL, 'VAT',
              CASE WHEN g % 10 = 0 THEN 0 ELSE c.rate END, 'standard',
              CASE WHEN g % 10 = 0 THEN 'reverse_charge' ELSE 'taxed' END, 4900,
              CASE WHEN g % 10 = 0 THEN 0 ELSE round(4900 * c.rate / 100) END, 'EUR',
              CASE WHEN i.currency = 'USD' THEN 4525 ELSE 4900 END,
              CASE WHEN g % 10 = 0 THEN 0 ELSE round(4900 * c.rate / 100) END
         FROM generate_series(1, $2::int) g
         JOIN invoices i ON i.id = 'in_bench' || g
         JOIN unnest($3::text[], $4::numeric[]) WITH ORDINALITY AS c (country, rate, n)
           ON c.n = 1 + g % array_length($3::text[], 1)`,
      [tenantId, INVOICES, countries, rates],
    );
    await db.query(
      `INSERT INTO credit_notes (id, tenant_id, invoice_id, customer_id, number, currency, amount_minor, reason,
                                 idempotency_key, issued_at, net_amount_minor, tax_minor)
       SELECT 'cn_bench' || g, $1, 'in_bench' || (g * 50), $2, 'CN-B' || g, 'EUR', 2450, 'other', 'bench-cn:' || g,
              '2026-03-15', 2450, 0
         FROM generate_series(1, $3::int) g`,
      [tenantId, customerId, CREDIT_NOTES],
    );
    await db.query(
      `INSERT INTO credit_note_tax_lines (tenant_id, credit_note_id, position, issued_at, currency, jurisdiction,
                                          country, region, tax_name, rate_percent, rate_kind, treatment, taxable_minor,
                                          tax_minor, reporting_currency, reporting_taxable_minor, reporting_tax_minor)
       SELECT $1, 'cn_bench' || g, 0, '2026-03-15', 'EUR', 'DE', 'DE', NULL, 'VAT', 19, 'standard', 'taxed', -2450,
              -466, 'EUR', -2450, -466
         FROM generate_series(1, $2::int) g`,
      [tenantId, CREDIT_NOTES],
    );
  });
  await pool.query('ANALYZE invoice_tax_lines; ANALYZE credit_note_tax_lines').catch(() => undefined);
}

async function main(): Promise<void> {
  const databaseUrl =
    process.env.DATABASE_URL ?? 'postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test';
  const pool = createPool(databaseUrl, { max: 4 });
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/15', { lazyConnect: true });
  const { tenant, apiKey } = await createTenantWithApiKey(pool, { name: 'bench-tax', mode: 'test' });
  const seedStarted = performance.now();
  await seed(pool, tenant.id);
  const seedMs = performance.now() - seedStarted;

  const { close, origin } = await startBenchApi(pool, redis);
  const base = `${origin}/v1/reports/tax?kind=vat&from=2026-03-01&to=2026-04-01`;
  const headers = { authorization: `Bearer ${apiKey.secret}` };

  const timed = async (url: string): Promise<{ ms: number; body: string; status: number }> => {
    const started = performance.now();
    const res = await fetch(url, { headers });
    const body = await res.text();
    return { ms: performance.now() - started, body, status: res.status };
  };
  const cold = await timed(base);
  if (cold.status !== 200) throw new Error(`report failed: ${cold.status} ${cold.body}`);
  const report = JSON.parse(cold.body) as { rows: { invoice_count: number }[] };
  const documents = report.rows.reduce((sum, row) => sum + row.invoice_count, 0);
  const warm: number[] = [];
  for (let run = 0; run < RUNS; run += 1) warm.push((await timed(base)).ms);
  const csv = await timed(`${base}&format=csv`);
  warm.sort((a, b) => a - b);
  const median = warm[Math.floor(warm.length / 2)] ?? Number.NaN;
  console.log(
    `tax-report: ${INVOICES} invoices + ${CREDIT_NOTES} credit notes in one month (seeded in ${(seedMs / 1000).toFixed(1)} s); ` +
      `VAT report ${report.rows.length} rows over ${documents} documents: cold ${cold.ms.toFixed(1)} ms, ` +
      `warm median ${median.toFixed(1)} ms (max ${(warm[warm.length - 1] ?? 0).toFixed(1)} ms), CSV ${csv.ms.toFixed(1)} ms; target < 3000 ms`,
  );
  await close();
  redis.disconnect();
  await pool.end();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
