// The usage lines of a subscription's invoice: each usage charge of its plans priced over the usage
// period (read from hourly rollups), plus late-usage adjustments of the periods billed before it.
//
// A pure read: it writes nothing. What it bills comes back as `usageBilled` records, which the
// workflow hands to issueInvoice with the lines; issueInvoice writes them to usage_billed in the
// invoice's own transaction. So the record exists exactly when the invoice does, and a retried
// issueInvoice (same idempotency key) neither re-records nor bills the same late events twice.

import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import {
  chargesWithMeters,
  readBilledUsage,
  readPeriodUsage,
  type BilledRow,
  type ChargeWithMeter,
} from '../db/usage-charges';
import { withTenant } from '../db/with-tenant';
import { compactPendingRollups } from '../usage/rollup-compactor';
import type { InvoiceLineDraft } from '../domain/billing-types';
import {
  chargeLines,
  foldBilled,
  lateAdjustment,
  type ChargeContext,
  type GroupQuantity,
  type UsageBilledRecord,
} from '../domain/usage/charge-billing';
import { aggregateUsage } from '../domain/usage/usage-query';
import { usagePeriodOf, type UsagePeriod } from '../domain/usage/usage-period';
import { tenantRoundingMode } from './invoice-tax';
import type { PeriodUsageRows } from '../db/usage-charges';
import type { UsageLinesInput, UsageLinesResult } from './contracts';

/**
 * Deltas set aside by a fold (migration 0013) hold stored events that no rollup counts yet: an invoice
 * made now could miss usage, so it is not made. The failure is retryable: the activity retries with
 * backoff (the pending activity and this message are what the Temporal UI shows) and succeeds once an
 * operator has fixed the cause and requeued the deltas.
 */
async function refuseWhileUsageQuarantined(db: PoolClient, tenantId: string): Promise<void> {
  const { rows } = await db.query<{ id: string; error: string; total: string }>(
    `SELECT id, error, count(*) OVER () AS total FROM usage_rollup_deltas_quarantined ORDER BY id LIMIT 10`,
  );
  const first = rows[0];
  if (first === undefined) return;
  throw ApplicationFailure.create({
    type: 'UsageQuarantined',
    message:
      `usage invoice held: tenant ${tenantId} has ${first.total} quarantined rollup delta(s) ` +
      `(ids ${rows.map((r) => r.id).join(', ')}) whose events are not counted yet; fix the cause, then ` +
      `POST /v1/usage/quarantined-deltas/requeue. First error: ${first.error}`,
    nonRetryable: false,
  });
}

/** How many earlier usage periods are checked for late usage. */
export const LATE_USAGE_LOOKBACK_PERIODS = 12;

export function createUsageBillingActivities({ pool }: { readonly pool: Pool }) {
  return {
    async usageLines(input: UsageLinesInput): Promise<UsageLinesResult> {
      const usagePeriod = usagePeriodOf(input.period);
      const lookback = Math.min(Math.max(input.lookbackPeriods ?? LATE_USAGE_LOOKBACK_PERIODS, 0), 36);
      const planIds = [...new Set(input.items.map((item) => item.planId))];
      // Rollups lag ingestion by a compaction pass: billing folds what is pending first and commits
      // it, so an invoice counts every event acknowledged before it, and the reads below (on two
      // connections) all see the fold.
      await withTenant(pool, input.tenantId, (db) => compactPendingRollups(db, input.tenantId));
      return withTenant(pool, input.tenantId, async (db) => {
        await refuseWhileUsageQuarantined(db, input.tenantId);
        const roundingMode = await tenantRoundingMode(db);
        const billedRows = await readBilledUsage(
          db,
          input.subscriptionId,
          usagePeriod.start,
          lookback + 1,
          input.idempotencyKey,
        );
        const isCurrent = (row: { periodStart: string; periodEnd: string }) =>
          row.periodStart === usagePeriod.start && row.periodEnd === usagePeriod.end;
        // The current period itself may have been billed already (by another invoice): then only what
        // changed since is billed, as an adjustment, never the whole period again.
        const considered = billedRows.filter(
          (row) => isCurrent(row) || (lookback > 0 && row.periodStart < usagePeriod.start),
        );
        const charges = await chargesWithMeters(db, planIds, [
          ...new Set(considered.map((row) => row.chargeId)),
        ]);
        const chargeById = new Map(charges.map((c) => [c.charge.id, c]));
        const billed = groupBilled(considered);

        const periods: UsagePeriod[] = [usagePeriod];
        for (const entry of billed.values()) {
          if (!periods.some((p) => p.start === entry.period.start && p.end === entry.period.end))
            periods.push(entry.period);
        }
        const meters = [...new Map(charges.map((c) => [c.meter.id, c.meter])).values()];
        const usage = await readPeriodUsage(db, input.tenantId, input.customerId, meters, periods, (read) =>
          withTenant(pool, input.tenantId, read),
        );
        const quantitiesOf = (entry: ChargeWithMeter, period: UsagePeriod) =>
          quantities(
            entry,
            usage,
            periods.findIndex((p) => p.start === period.start && p.end === period.end),
          );

        const lines: InvoiceLineDraft[] = [];
        const usageBilled: UsageBilledRecord[] = [];
        // This period's charges, plan by plan, in the order the charges were created.
        // An empty usage period (a subscription ended within the hour it started) bills nothing.
        const billable = usagePeriod.start < usagePeriod.end ? input.items : [];
        for (const item of billable) {
          for (const entry of charges) {
            if (entry.charge.planId !== item.planId || entry.charge.currency !== input.currency) continue;
            const ctx: ChargeContext = {
              charge: entry.charge,
              roundingMode,
              period: usagePeriod,
              priceId: item.priceId,
              itemId: item.itemId,
            };
            const key = billedKey(entry.charge.id, usagePeriod);
            const already = billed.get(key);
            const current = quantitiesOf(entry, usagePeriod);
            if (already !== undefined) {
              billed.delete(key);
              const adjustment = lateAdjustment(ctx, foldBilled(already.rows), current);
              if (adjustment !== null) {
                lines.push(...adjustment.lines);
                usageBilled.push(...adjustment.records);
              }
              continue;
            }
            const billedNow = chargeLines(ctx, current);
            lines.push(...billedNow.lines);
            usageBilled.push(...billedNow.records);
          }
        }
        // Late usage in earlier periods, oldest period first.
        const earlier = [...billed.values()].filter(
          (entry) => !isCurrent({ periodStart: entry.period.start, periodEnd: entry.period.end }),
        );
        earlier.sort((a, b) =>
          a.period.start < b.period.start ? -1 : a.period.start > b.period.start ? 1 : 0,
        );
        for (const entry of earlier) {
          const found = chargeById.get(entry.chargeId);
          if (found === undefined || found.charge.currency !== input.currency) continue;
          const last = entry.rows[entry.rows.length - 1];
          const ctx: ChargeContext = {
            charge: found.charge,
            roundingMode,
            period: entry.period,
            priceId: last?.priceId ?? null,
            itemId: last?.itemId ?? null,
          };
          const adjustment = lateAdjustment(ctx, foldBilled(entry.rows), quantitiesOf(found, entry.period));
          if (adjustment === null) continue;
          lines.push(...adjustment.lines);
          usageBilled.push(...adjustment.records);
        }
        return { lines, usageBilled, usagePeriod };
      });
    },
  };
}

const billedKey = (chargeId: string, period: UsagePeriod) =>
  `${chargeId}\x1f${period.start}\x1f${period.end}`;

function groupBilled(rows: readonly BilledRow[]) {
  const byKey = new Map<string, { chargeId: string; period: UsagePeriod; rows: BilledRow[] }>();
  for (const row of rows) {
    const period = { start: row.periodStart, end: row.periodEnd };
    const key = billedKey(row.chargeId, period);
    const entry = byKey.get(key) ?? { chargeId: row.chargeId, period, rows: [] };
    entry.rows.push(row);
    byKey.set(key, entry);
  }
  return byKey;
}

/** The charge's quantity per group over one period (index into the periods read). */
function quantities(entry: ChargeWithMeter, usage: PeriodUsageRows, periodIndex: number): GroupQuantity[] {
  const { charge, meter } = entry;
  const states = usage.states.get(periodIndex)?.get(meter.id) ?? [];
  const distinct = usage.distinct.get(periodIndex)?.get(meter.id) ?? [];
  const aggregate = aggregateUsage(meter, states, distinct, charge.groupBy);
  if (charge.groupBy.length === 0) return [{ groupKey: '', group: {}, quantity: aggregate.value ?? '0' }];
  return aggregate.groups.map((group) => ({
    groupKey: JSON.stringify(charge.groupBy.map((name) => group.group[name] ?? null)),
    group: group.group,
    quantity: group.value ?? '0',
  }));
}
