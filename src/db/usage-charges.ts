// Usage charges and billed usage in Postgres: the charges of plans, the period quantities read from
// hourly rollups (never the raw event log), and the usage_billed rows an invoice writes.

import { trimDecimal } from './numeric-text';
import type { PoolClient } from 'pg';
import { randomBase62 } from './ids';
import type { UsageBilledRecord } from '../domain/usage/charge-billing';
import type { Meter } from '../domain/usage/meter';
import type { GroupedState, GroupedValue } from '../domain/usage/usage-query';
import type { ChargePricing, UsageCharge } from '../domain/usage/usage-charge';
import type { RollupState } from '../domain/usage/rollup';

export const newChargeId = (): string => `chg_${randomBase62(20)}`;

export interface ChargeRow {
  id: string;
  plan_id: string;
  meter_id: string;
  name: string;
  currency: string;
  pricing: ChargePricing;
  included_quantity: string;
  minimum_amount_minor: string | null;
  group_by: string[];
  created_at: Date;
}

const COLUMNS = `c.id, c.plan_id, c.meter_id, c.name, c.currency, c.pricing, trim_scale(c.included_quantity)::text AS included_quantity,
  c.minimum_amount_minor::text AS minimum_amount_minor, c.group_by, c.created_at`;

export function chargeOf(row: ChargeRow): UsageCharge {
  return {
    id: row.id,
    planId: row.plan_id,
    meterId: row.meter_id,
    name: row.name,
    currency: row.currency,
    pricing: row.pricing,
    includedQuantity: row.included_quantity,
    minimumAmountMinor: row.minimum_amount_minor === null ? null : Number(row.minimum_amount_minor),
    groupBy: row.group_by,
  };
}

export interface NewCharge {
  readonly planId: string;
  readonly meterId: string;
  readonly name: string;
  readonly currency: string;
  readonly pricing: ChargePricing;
  readonly includedQuantity: string;
  readonly minimumAmountMinor: number | null;
  readonly groupBy: readonly string[];
}

export async function insertCharge(db: PoolClient, tenantId: string, charge: NewCharge): Promise<ChargeRow> {
  const { rows } = await db.query<ChargeRow>(
    `WITH c AS (
       INSERT INTO plan_usage_charges (id, tenant_id, plan_id, meter_id, name, currency, pricing, included_quantity,
                                       minimum_amount_minor, group_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *)
     SELECT ${COLUMNS} FROM c`,
    [
      newChargeId(),
      tenantId,
      charge.planId,
      charge.meterId,
      charge.name,
      charge.currency,
      JSON.stringify(charge.pricing),
      charge.includedQuantity,
      charge.minimumAmountMinor,
      charge.groupBy,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('INSERT … RETURNING returned no charge');
  return row;
}

export async function listPlanCharges(db: PoolClient, planId: string): Promise<ChargeRow[]> {
  const { rows } = await db.query<ChargeRow>(
    `SELECT ${COLUMNS} FROM plan_usage_charges c WHERE c.plan_id = $1 ORDER BY c.created_at, c.id`,
    [planId],
  );
  return rows;
}

export interface ChargeWithMeter {
  readonly charge: UsageCharge;
  readonly meter: Meter;
}

/** The charges of these plans, plus these charges by id (late usage on a plan no longer held). */
export async function chargesWithMeters(
  db: PoolClient,
  planIds: readonly string[],
  chargeIds: readonly string[],
): Promise<ChargeWithMeter[]> {
  if (planIds.length === 0 && chargeIds.length === 0) return [];
  const { rows } = await db.query<
    ChargeRow & {
      event_name: string;
      aggregation: Meter['aggregation'];
      value_property: string | null;
      filters: Meter['filters'];
      meter_group_by: string[];
    }
  >(
    `SELECT ${COLUMNS}, m.event_name, m.aggregation, m.value_property, m.filters, m.group_by AS meter_group_by
       FROM plan_usage_charges c JOIN meters m ON m.tenant_id = c.tenant_id AND m.id = c.meter_id
      WHERE c.plan_id = ANY($1::text[]) OR c.id = ANY($2::text[])
      ORDER BY c.created_at, c.id`,
    [planIds, chargeIds],
  );
  return rows.map((row) => ({
    charge: chargeOf(row),
    meter: {
      id: row.meter_id,
      eventName: row.event_name,
      aggregation: row.aggregation,
      valueProperty: row.value_property,
      filters: row.filters,
      groupBy: row.meter_group_by,
    },
  }));
}

export interface PeriodUsageRows {
  /** Per period index (as given), per meter: every group's combined state (slots and hours merged). */
  readonly states: Map<number, Map<string, GroupedState[]>>;
  /** Per period index, per unique_count meter: the distinct (group, value) pairs. */
  readonly distinct: Map<number, Map<string, GroupedValue[]>>;
}

function push<V>(map: Map<number, Map<string, V[]>>, index: number, meterId: string, value: V): void {
  let byMeter = map.get(index);
  if (byMeter === undefined) map.set(index, (byMeter = new Map<string, V[]>()));
  let list = byMeter.get(meterId);
  if (list === undefined) byMeter.set(meterId, (list = []));
  list.push(value);
}

/**
 * The rollups of `meters` for one customer over each period (whole hours [start, end)), combined in
 * SQL per (period, meter, group): three index range scans on the rollup primary keys, whatever the
 * number of events behind them.
 */
export async function readPeriodUsage(
  db: PoolClient,
  tenantId: string,
  customerId: string,
  meters: readonly Meter[],
  periods: readonly { readonly start: string; readonly end: string }[],
  /**
   * Runs the distinct-values read on another connection of the tenant, in parallel with the rollup
   * reads on `db` (the two are independent index reads, each meter's quantity comes from one of
   * them, and a late event between them is adjusted on the next invoice like any other).
   */
  alongside?: <T>(read: (other: PoolClient) => Promise<T>) => Promise<T>,
): Promise<PeriodUsageRows> {
  const states = new Map<number, Map<string, GroupedState[]>>();
  const distinct = new Map<number, Map<string, GroupedValue[]>>();
  const stateMeters = meters.filter((m) => m.aggregation !== 'unique_count').map((m) => m.id);
  const latestMeters = meters.filter((m) => m.aggregation === 'latest').map((m) => m.id);
  const uniqueMeters = meters.filter((m) => m.aggregation === 'unique_count').map((m) => m.id);
  if (periods.length === 0 || meters.length === 0) return { states, distinct };
  const periodArgs = [periods.map((p) => p.start), periods.map((p) => p.end)];
  const FROM = `unnest($3::timestamptz[], $4::timestamptz[]) WITH ORDINALITY AS p (s, e, i)`;
  const days = periods.map(wholeDaysOf);
  const readDistinct = (client: PoolClient) =>
    uniqueMeters.length === 0
      ? Promise.resolve({ rows: [] as { i: string; meter_id: string; group_key: string; value: string }[] })
      : client.query<{ i: string; meter_id: string; group_key: string; value: string }>(
          `WITH p AS (
             SELECT * FROM unnest($3::timestamptz[], $4::timestamptz[], $6::timestamptz[], $7::timestamptz[])
                    WITH ORDINALITY AS p (s, e, d1, d2, i))
           SELECT p.i, u.meter_id, u.group_key, u.value
             FROM p JOIN usage_unique_values_daily u
                    ON u.tenant_id = $1 AND u.customer_id = $2 AND u.meter_id = ANY($5::text[])
                   AND u.day >= (p.d1 AT TIME ZONE 'UTC')::date AND u.day < (p.d2 AT TIME ZONE 'UTC')::date
           UNION ALL
           SELECT p.i, u.meter_id, u.group_key, u.value
             FROM p JOIN usage_unique_values u
                    ON u.tenant_id = $1 AND u.customer_id = $2 AND u.meter_id = ANY($5::text[])
                   AND u.bucket_start >= p.s AND u.bucket_start < p.d1
           UNION ALL
           SELECT p.i, u.meter_id, u.group_key, u.value
             FROM p JOIN usage_unique_values u
                    ON u.tenant_id = $1 AND u.customer_id = $2 AND u.meter_id = ANY($5::text[])
                   AND u.bucket_start >= p.d2 AND u.bucket_start < p.e`,
          [
            tenantId,
            customerId,
            ...periodArgs,
            uniqueMeters,
            days.map((d) => d.fromDay),
            days.map((d) => d.toDay),
          ],
        );
  // Started first so it runs while `db` reads the rollups (one client runs one query at a time).
  const uniquePending = alongside === undefined || uniqueMeters.length === 0 ? null : alongside(readDistinct);
  // Observed at once, awaited below: a failing rollup read must not leave it unhandled.
  uniquePending?.catch(() => undefined);
  // One client runs one query at a time: sequential, not Promise.all.
  const sums =
    stateMeters.length === 0
      ? { rows: [] }
      : await db.query<{
          i: string;
          meter_id: string;
          group_key: string;
          n: string;
          s: string | null;
          x: string | null;
        }>(
          `SELECT p.i, r.meter_id, r.group_key, sum(r.event_count)::text AS n, sum(r.value_sum)::text AS s,
                  max(r.value_max)::text AS x
             FROM ${FROM}
             JOIN usage_rollups r ON r.tenant_id = $1 AND r.customer_id = $2 AND r.meter_id = ANY($5::text[])
                                 AND r.bucket_start >= p.s AND r.bucket_start < p.e
            GROUP BY p.i, r.meter_id, r.group_key`,
          [tenantId, customerId, ...periodArgs, stateMeters],
        );
  const latest =
    latestMeters.length === 0
      ? { rows: [] }
      : await db.query<{ i: string; meter_id: string; group_key: string; ms: string; id: string; v: string }>(
          `SELECT DISTINCT ON (p.i, r.meter_id, r.group_key) p.i, r.meter_id, r.group_key,
                  (extract(epoch FROM r.latest_at) * 1000)::bigint::text AS ms, r.latest_event_id AS id,
                  r.latest_value::text AS v
             FROM ${FROM}
             JOIN usage_rollups r ON r.tenant_id = $1 AND r.customer_id = $2 AND r.meter_id = ANY($5::text[])
                                 AND r.bucket_start >= p.s AND r.bucket_start < p.e
            WHERE r.latest_at IS NOT NULL
            ORDER BY p.i, r.meter_id, r.group_key, r.latest_at DESC, r.latest_event_id COLLATE "C" DESC`,
          [tenantId, customerId, ...periodArgs, latestMeters],
        );
  // Whole UTC days come from the daily distinct sets, the partial days at either end from the hourly
  // ones (two index ranges: [s, d1) and [d2, e)). A value seen in more than one part is dropped here
  // in memory: cheaper than Postgres sorting every row for a UNION. A period inside one day reads
  // hours only (d1 = d2 = e).
  const unique = uniquePending === null ? await readDistinct(db) : await uniquePending;
  const latestByKey = new Map(
    latest.rows.map((row) => [`${row.i}\x1f${row.meter_id}\x1f${row.group_key}`, row]),
  );
  for (const row of sums.rows) {
    const found = latestByKey.get(`${row.i}\x1f${row.meter_id}\x1f${row.group_key}`);
    const state: RollupState = {
      eventCount: Number(row.n),
      valueSum: row.s === null ? null : trimDecimal(row.s),
      valueMax: row.x === null ? null : trimDecimal(row.x),
      latest:
        found === undefined
          ? null
          : { atMs: Number(found.ms), eventId: found.id, value: trimDecimal(found.v) },
    };
    push(states, Number(row.i) - 1, row.meter_id, { groupKey: row.group_key, state });
  }
  const seen = new Set<string>();
  for (const row of unique.rows) {
    const key = `${row.i}\x1f${row.meter_id}\x1f${row.group_key}\x1f${row.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    push(distinct, Number(row.i) - 1, row.meter_id, { groupKey: row.group_key, value: row.value });
  }
  return { states, distinct };
}

const DAY_MS = 86_400_000;

/**
 * The whole UTC days inside [start, end) as instants [fromDay, toDay) at midnight; when there is no
 * whole day, both are `end` (so the hourly read covers everything and the daily read nothing).
 */
export function wholeDaysOf(period: { readonly start: string; readonly end: string }): {
  readonly fromDay: string;
  readonly toDay: string;
} {
  const startMs = Date.parse(period.start);
  const endMs = Date.parse(period.end);
  const fromMs = Math.ceil(startMs / DAY_MS) * DAY_MS;
  const toMs = Math.floor(endMs / DAY_MS) * DAY_MS;
  if (fromMs >= toMs) return { fromDay: period.end, toDay: period.end };
  return { fromDay: new Date(fromMs).toISOString(), toDay: new Date(toMs).toISOString() };
}

export interface BilledRow extends UsageBilledRecord {
  readonly seq: number;
}

/**
 * What earlier invoices billed for the subscription's most recent `periods` usage periods starting at
 * or before `upToStart`, oldest row first — ignoring the invoice with `excludeIdempotencyKey` (the one
 * being computed: a retry must see what the first attempt saw).
 */
export async function readBilledUsage(
  db: PoolClient,
  subscriptionId: string,
  upToStart: string,
  periods: number,
  excludeIdempotencyKey: string,
): Promise<BilledRow[]> {
  const { rows } = await db.query<{
    seq: string;
    charge_id: string;
    period_start: Date;
    period_end: Date;
    kind: 'usage' | 'commitment';
    group_key: string;
    quantity: string | null;
    amount_minor: string;
    late: boolean;
    price_id: string | null;
    item_id: string | null;
  }>(
    `WITH mine AS (
       SELECT b.* FROM usage_billed b
        WHERE b.subscription_id = $1 AND b.period_start <= $2
          AND NOT EXISTS (SELECT 1 FROM invoices i WHERE i.id = b.invoice_id AND i.idempotency_key = $4)),
     recent AS (SELECT DISTINCT period_start FROM mine ORDER BY period_start DESC LIMIT $3)
     SELECT seq, charge_id, period_start, period_end, kind, group_key, trim_scale(quantity)::text AS quantity,
            amount_minor, late, price_id, item_id
       FROM mine WHERE period_start IN (SELECT period_start FROM recent)
      ORDER BY seq`,
    [subscriptionId, upToStart, periods, excludeIdempotencyKey],
  );
  return rows.map((row) => ({
    seq: Number(row.seq),
    chargeId: row.charge_id,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    kind: row.kind,
    groupKey: row.group_key,
    quantity: row.quantity,
    amountMinor: Number(row.amount_minor),
    late: row.late,
    priceId: row.price_id,
    itemId: row.item_id,
  }));
}

/** Called by issueInvoice inside the invoice's transaction, right after its lines. */
export async function insertUsageBilled(
  db: PoolClient,
  invoice: {
    readonly tenantId: string;
    readonly subscriptionId: string;
    readonly invoiceId: string;
    readonly billedAt: string;
  },
  records: readonly UsageBilledRecord[],
): Promise<void> {
  if (records.length === 0) return;
  await db.query(
    `INSERT INTO usage_billed (tenant_id, subscription_id, invoice_id, billed_at, charge_id, period_start, period_end,
                               kind, group_key, quantity, amount_minor, late, price_id, item_id)
     SELECT $1, $2, $3, $4, r.charge_id, r.period_start, r.period_end, r.kind, r.group_key, r.quantity,
            r.amount_minor, r.late, r.price_id, r.item_id
       FROM unnest($5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::numeric[],
                   $11::bigint[], $12::boolean[], $13::text[], $14::text[]) WITH ORDINALITY
            AS r (charge_id, period_start, period_end, kind, group_key, quantity, amount_minor, late, price_id, item_id, n)
      ORDER BY r.n`,
    [
      invoice.tenantId,
      invoice.subscriptionId,
      invoice.invoiceId,
      invoice.billedAt,
      records.map((r) => r.chargeId),
      records.map((r) => r.periodStart),
      records.map((r) => r.periodEnd),
      records.map((r) => r.kind),
      records.map((r) => r.groupKey),
      records.map((r) => r.quantity),
      records.map((r) => r.amountMinor),
      records.map((r) => r.late),
      records.map((r) => r.priceId),
      records.map((r) => r.itemId),
    ],
  );
}
