// Pricing one usage charge for one usage period, and the late-usage adjustment of a period already
// billed. Pure: the activity reads quantities from rollups and what was billed from usage_billed, and
// this module decides the invoice lines and the rows that record them.
//
// A charge with group_by is priced once per group (each group has its own tiers and included
// quantity); the minimum commitment applies to the charge as a whole. Every line is rounded once
// (price-models.ts); the charge total is the sum of its visible lines.

import type { InvoiceLineDraft } from '../billing-types';
import { compare, dec, format, max, ZERO } from '../pricing/exact';
import { priceUsage, type UsageLine } from '../pricing/price-models';
import type { RoundingMode } from '../rounding';
import { toMinor } from '../pricing/exact';
import type { PropertyValue } from './usage-event';
import { describeUsagePeriod, type UsagePeriod } from './usage-period';
import { minorToMajor, priceModelOf, type UsageCharge } from './usage-charge';

export interface GroupQuantity {
  /** '' without group_by; otherwise the JSON array of the charge's group_by values: '["eu"]'. */
  readonly groupKey: string;
  readonly group: Readonly<Record<string, PropertyValue>>;
  /** Exact decimal string. */
  readonly quantity: string;
}

/** One usage_billed row, as JSON (it travels in the issueInvoice activity input). */
export interface UsageBilledRecord {
  readonly chargeId: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly kind: 'usage' | 'commitment';
  readonly groupKey: string;
  /** For 'usage': the quantity billed so far for the group (decimal string); null for 'commitment'. */
  readonly quantity: string | null;
  /** What this invoice adds (signed integer minor units). */
  readonly amountMinor: number;
  readonly late: boolean;
  readonly priceId: string | null;
  readonly itemId: string | null;
}

export interface PricedGroup extends GroupQuantity {
  readonly lines: readonly UsageLine[];
  readonly amountMinor: number;
}

export interface PricedCharge {
  readonly groups: readonly PricedGroup[];
  /** Minimum-commitment true-up (>= 0). */
  readonly trueUpMinor: number;
  readonly totalMinor: number;
}

export interface ChargeContext {
  readonly charge: UsageCharge;
  readonly roundingMode: RoundingMode;
  readonly period: UsagePeriod;
  /** The subscription item the charge is billed through (its price decides the line's tax category). */
  readonly priceId: string | null;
  readonly itemId: string | null;
}

/** A negative sum (refund events) bills nothing; it never becomes a credit line by itself. */
function billableQuantity(quantity: string): string {
  return format(max(dec(quantity), ZERO));
}

/**
 * Prices every group; ungrouped charges pass exactly one group ('' key), even at zero usage, so a flat
 * fee or a minimum commitment applies to a period without events.
 */
export function priceCharge(
  charge: UsageCharge,
  groups: readonly GroupQuantity[],
  roundingMode: RoundingMode,
): PricedCharge {
  const price = priceModelOf(charge.pricing, charge.currency);
  const priced = groups.map((group): PricedGroup => {
    const quantity = billableQuantity(group.quantity);
    const result = priceUsage({
      price,
      quantity,
      currency: charge.currency,
      roundingMode,
      includedQuantity: charge.includedQuantity,
      unitLabel: 'units',
    });
    return { ...group, quantity, lines: result.lines, amountMinor: result.totalMinor };
  });
  const linesMinor = priced.reduce((sum, group) => sum + group.amountMinor, 0);
  const minimumMinor =
    charge.minimumAmountMinor === null
      ? 0
      : toMinor(dec(minorToMajor(charge.minimumAmountMinor, charge.currency)), charge.currency, roundingMode);
  const trueUpMinor = Math.max(minimumMinor - linesMinor, 0);
  return { groups: priced, trueUpMinor, totalMinor: linesMinor + trueUpMinor };
}

function groupLabel(group: Readonly<Record<string, PropertyValue>>): string {
  const entries = Object.entries(group);
  if (entries.length === 0) return '';
  return ` (${entries.map(([name, value]) => `${name}: ${value === null ? '—' : String(value)}`).join(', ')})`;
}

function usageLine(
  ctx: ChargeContext,
  kind: InvoiceLineDraft['kind'],
  description: string,
  amountMinor: number,
) {
  return {
    kind,
    description,
    // invoice_lines.quantity is an integer: the exact usage quantity and unit price are in the
    // description (and in usage_billed), and the amount is not unit × quantity in minor units.
    quantity: 1,
    unitAmountMinor: null,
    amountMinor,
    periodStart: ctx.period.start,
    periodEnd: ctx.period.end,
    priceId: ctx.priceId,
    itemId: ctx.itemId,
  } satisfies InvoiceLineDraft;
}

/**
 * The invoice lines of a charge billed with its period, and the usage_billed rows recording it.
 * Zero-amount lines are dropped unless they say something: a group used but entirely within its
 * included quantity keeps one line at 0 ("1200 units, 5000 included").
 */
export function chargeLines(
  ctx: ChargeContext,
  groups: readonly GroupQuantity[],
): {
  readonly lines: InvoiceLineDraft[];
  readonly records: UsageBilledRecord[];
  readonly totalMinor: number;
} {
  const priced = priceCharge(ctx.charge, groups, ctx.roundingMode);
  const lines: InvoiceLineDraft[] = [];
  const records: UsageBilledRecord[] = [];
  const record = (
    kind: UsageBilledRecord['kind'],
    groupKey: string,
    quantity: string | null,
    amountMinor: number,
  ) =>
    records.push({
      chargeId: ctx.charge.id,
      periodStart: ctx.period.start,
      periodEnd: ctx.period.end,
      kind,
      groupKey,
      quantity,
      amountMinor,
      late: false,
      priceId: ctx.priceId,
      itemId: ctx.itemId,
    });
  for (const group of priced.groups) {
    const prefix = `${ctx.charge.name}${groupLabel(group.group)}`;
    const visible = group.lines.filter((line) => line.amountMinor !== 0 || dec(line.quantity).units !== 0n);
    for (const line of visible)
      lines.push(usageLine(ctx, 'subscription', `${prefix}: ${line.description}`, line.amountMinor));
    if (visible.length === 0 && dec(group.quantity).units > 0n) {
      lines.push(
        usageLine(
          ctx,
          'subscription',
          `${prefix}: ${group.quantity} units, ${ctx.charge.includedQuantity} included`,
          0,
        ),
      );
    }
    record('usage', group.groupKey, group.quantity, group.amountMinor);
  }
  if (priced.trueUpMinor > 0) {
    const minimum = minorToMajor(ctx.charge.minimumAmountMinor ?? 0, ctx.charge.currency);
    lines.push(
      usageLine(
        ctx,
        'subscription',
        `${ctx.charge.name}: minimum commitment ${minimum} ${ctx.charge.currency} (true-up)`,
        priced.trueUpMinor,
      ),
    );
  }
  // Always recorded: it marks the charge-period as billed, so late usage on it is found later.
  record('commitment', '', null, priced.trueUpMinor);
  return { lines, records, totalMinor: priced.totalMinor };
}

/** What usage_billed says about one charge-period, folded. */
export interface BilledChargePeriod {
  /** Per group: the latest billed quantity and Σ of amounts billed for it. */
  readonly groups: ReadonlyMap<string, { readonly quantity: string; readonly amountMinor: number }>;
  /** Σ of the commitment rows (true-ups billed so far). */
  readonly commitmentMinor: number;
}

export interface LateAdjustment {
  readonly amountMinor: number;
  readonly lines: InvoiceLineDraft[];
  readonly records: UsageBilledRecord[];
}

/**
 * Usage that reached an already billed period after it was invoiced: the period is repriced with the
 * quantities the rollups hold now, and the difference to what was billed becomes one line
 * "Late usage for <period>". Per group: price(new quantity) − Σ billed for the group — exact for
 * graduated and volume tiers, where the late units' price depends on the units before them; the
 * minimum commitment is re-trued over the whole charge. Null when no quantity changed.
 *
 * The records carry the new quantities, so once the invoice holding them exists, the same late events
 * are never billed again.
 */
export function lateAdjustment(
  ctx: ChargeContext,
  billed: BilledChargePeriod,
  current: readonly GroupQuantity[],
): LateAdjustment | null {
  const currentByKey = new Map(current.map((group) => [group.groupKey, group]));
  const keys = [...new Set([...billed.groups.keys(), ...currentByKey.keys()])].sort();
  const changed = keys.filter((key) => {
    const now = billableQuantity(currentByKey.get(key)?.quantity ?? '0');
    return compare(dec(now), dec(billed.groups.get(key)?.quantity ?? '0')) !== 0;
  });
  if (changed.length === 0) return null;
  const repriceGroups = keys.map(
    (key): GroupQuantity =>
      currentByKey.get(key) ?? {
        groupKey: key,
        group: groupObjectOf(ctx.charge.groupBy, key),
        quantity: '0',
      },
  );
  const repriced = priceCharge(ctx.charge, repriceGroups, ctx.roundingMode);
  const records: UsageBilledRecord[] = [];
  const base = {
    chargeId: ctx.charge.id,
    periodStart: ctx.period.start,
    periodEnd: ctx.period.end,
    late: true,
    priceId: ctx.priceId,
    itemId: ctx.itemId,
  };
  let amountMinor = 0;
  const moves: string[] = [];
  for (const key of changed) {
    const group = repriced.groups.find((g) => g.groupKey === key);
    if (group === undefined) throw new Error(`repriced charge ${ctx.charge.id} lost group ${key}`);
    const before = billed.groups.get(key);
    const delta = group.amountMinor - (before?.amountMinor ?? 0);
    amountMinor += delta;
    records.push({ ...base, kind: 'usage', groupKey: key, quantity: group.quantity, amountMinor: delta });
    moves.push(
      `${groupLabel(group.group).trim()} ${before?.quantity ?? '0'} → ${group.quantity} units`.trim(),
    );
  }
  const commitmentDelta = repriced.trueUpMinor - billed.commitmentMinor;
  amountMinor += commitmentDelta;
  records.push({ ...base, kind: 'commitment', groupKey: '', quantity: null, amountMinor: commitmentDelta });
  const description = `Late usage for ${describeUsagePeriod(ctx.period)}: ${ctx.charge.name}, ${moves.join('; ')}`;
  const lines = amountMinor === 0 ? [] : [usageLine(ctx, 'adjustment', description, amountMinor)];
  return { amountMinor, lines, records };
}

/** '["eu","gpt-4"]' under group_by [region, model] → { region: 'eu', model: 'gpt-4' }. */
export function groupObjectOf(groupBy: readonly string[], groupKey: string): Record<string, PropertyValue> {
  if (groupBy.length === 0 || groupKey === '') return {};
  const values = JSON.parse(groupKey) as PropertyValue[];
  return Object.fromEntries(groupBy.map((name, index) => [name, values[index] ?? null]));
}

/** Folds a charge-period's usage_billed rows (in seq order). */
export function foldBilled(
  rows: readonly Pick<UsageBilledRecord, 'kind' | 'groupKey' | 'quantity' | 'amountMinor'>[],
): BilledChargePeriod {
  const groups = new Map<string, { quantity: string; amountMinor: number }>();
  let commitmentMinor = 0;
  for (const row of rows) {
    if (row.kind === 'commitment') {
      commitmentMinor += row.amountMinor;
      continue;
    }
    const previous = groups.get(row.groupKey);
    groups.set(row.groupKey, {
      quantity: row.quantity ?? '0',
      amountMinor: (previous?.amountMinor ?? 0) + row.amountMinor,
    });
  }
  return { groups, commitmentMinor };
}
