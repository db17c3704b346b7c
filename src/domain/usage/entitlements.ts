// What a customer may use: the features of the plans of its live subscriptions, merged into one
// entitlement per feature, and the quota arithmetic of metered ones. Pure: time is a parameter,
// decimals are exact strings (src/domain/pricing/exact.ts).
//
// Merge rules (docs/api.md, "Entitlements and quotas"):
// - inside one subscription, the plan item and its add-ons add up: metered limits are summed (an
//   "extra 10,000 calls" add-on extends the plan's allowance), over the subscription's one period;
// - across subscriptions, a boolean is granted if any grants it (OR); a metered feature is the single
//   most generous subscription allowance (highest limit; ties: the one resetting first, then the
//   subscription id), never a sum: usage is per customer, and adding allowances that reset at
//   different instants would compare one usage window against a limit meant for another;
// - `soft` wins over `hard` when allowances are summed (the most permissive grant applies).

import { add, compare, dec, format, sub, ZERO, type ExactDecimal } from '../pricing/exact';
import { HOUR_MS } from './rollup';

export const FEATURE_KINDS = ['boolean', 'metered'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const ENFORCEMENTS = ['hard', 'soft'] as const;
export type Enforcement = (typeof ENFORCEMENTS)[number];
/** The statuses that serve the customer; canceled, ended, paused, unpaid and incomplete grant nothing. */
export const ENTITLED_STATUSES = ['trialing', 'active', 'past_due'] as const;

/** One plan feature reached through one item of one live subscription. */
export interface FeatureGrant {
  readonly subscriptionId: string;
  readonly planId: string;
  readonly feature: string;
  readonly kind: FeatureKind;
  /** Metered only (null for boolean). */
  readonly meterId: string | null;
  readonly limit: string | null;
  readonly enforcement: Enforcement | null;
  /** The subscription's current period (the trial while trialing), ISO-8601 UTC. */
  readonly periodStart: string | null;
  readonly periodEnd: string | null;
}

/** A metered feature's allowance within one subscription (its items summed). */
export interface MeteredAllowance {
  readonly feature: string;
  readonly subscriptionId: string;
  readonly meterId: string;
  readonly limit: string;
  readonly enforcement: Enforcement;
  readonly periodStart: string;
  readonly periodEnd: string;
}

export type Entitlement =
  | {
      readonly feature: string;
      readonly kind: 'boolean';
      /** The subscriptions granting it, sorted. */
      readonly subscriptionIds: readonly string[];
    }
  | ({ readonly kind: 'metered' } & MeteredAllowance);

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Metered grants summed per (subscription, feature). Grants without a period are skipped. */
export function allowancesOf(grants: readonly FeatureGrant[]): MeteredAllowance[] {
  const byKey = new Map<string, MeteredAllowance>();
  for (const grant of grants) {
    if (grant.kind !== 'metered') continue;
    const { meterId, limit, enforcement, periodStart, periodEnd } = grant;
    if (meterId === null || limit === null || enforcement === null) {
      throw new RangeError(`metered grant ${grant.feature} of plan ${grant.planId} lacks meter or limit`);
    }
    if (periodStart === null || periodEnd === null) continue;
    const key = `${grant.subscriptionId}\x1f${grant.feature}`;
    const known = byKey.get(key);
    if (known === undefined) {
      byKey.set(key, {
        feature: grant.feature,
        subscriptionId: grant.subscriptionId,
        meterId,
        limit: format(dec(limit)),
        enforcement,
        periodStart,
        periodEnd,
      });
      continue;
    }
    if (known.meterId !== meterId) {
      throw new RangeError(`feature ${grant.feature} is metered by ${known.meterId} and ${meterId}`);
    }
    byKey.set(key, {
      ...known,
      limit: format(add(dec(known.limit), dec(limit))),
      enforcement: known.enforcement === 'soft' || enforcement === 'soft' ? 'soft' : 'hard',
    });
  }
  return [...byKey.values()].sort(
    (a, b) => byString(a.feature, b.feature) || byString(a.subscriptionId, b.subscriptionId),
  );
}

function moreGenerous(a: MeteredAllowance, b: MeteredAllowance): boolean {
  const limits = compare(dec(a.limit), dec(b.limit));
  if (limits !== 0) return limits > 0;
  if (a.periodEnd !== b.periodEnd) return a.periodEnd < b.periodEnd;
  return a.subscriptionId < b.subscriptionId;
}

/** One entitlement per feature, sorted by feature key. */
export function mergeEntitlements(grants: readonly FeatureGrant[]): Entitlement[] {
  const booleans = new Map<string, Set<string>>();
  const metered = new Map<string, MeteredAllowance>();
  for (const grant of grants) {
    if (grant.kind !== 'boolean') continue;
    const subscriptions = booleans.get(grant.feature) ?? new Set<string>();
    subscriptions.add(grant.subscriptionId);
    booleans.set(grant.feature, subscriptions);
  }
  for (const allowance of allowancesOf(grants)) {
    const best = metered.get(allowance.feature);
    if (best === undefined || moreGenerous(allowance, best)) metered.set(allowance.feature, allowance);
  }
  const out: Entitlement[] = [];
  for (const [feature, subscriptions] of booleans) {
    // A key is one kind across a tenant's plans (the API enforces it); metered wins if data disagree.
    if (metered.has(feature)) continue;
    out.push({ feature, kind: 'boolean', subscriptionIds: [...subscriptions].sort(byString) });
  }
  for (const allowance of metered.values()) out.push({ kind: 'metered', ...allowance });
  return out.sort((a, b) => byString(a.feature, b.feature));
}

const floorHour = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** How far ahead of now an event may be stamped (validateUsageEvent's bound), rounded up to an hour. */
const FUTURE_EVENT_HOURS = 1;

/**
 * The whole hours of usage counted against a period: rollups are hourly, so the period's bounds are
 * floored to the hour (consecutive periods partition time: nothing is counted twice or skipped). Hours
 * that cannot hold events yet (beyond now + the future-event allowance) are left out of the read.
 * Empty (fromMs === toMs) when the period is shorter than the hour rounding.
 */
export function usageWindow(
  periodStart: string,
  periodEnd: string,
  nowMs: number,
): { readonly fromMs: number; readonly toMs: number } {
  const fromMs = floorHour(Date.parse(periodStart));
  const endMs = floorHour(Date.parse(periodEnd));
  const horizonMs = floorHour(nowMs) + (1 + FUTURE_EVENT_HOURS) * HOUR_MS;
  const toMs = Math.max(fromMs, Math.min(endMs, horizonMs));
  return { fromMs, toMs };
}

export interface QuotaStatus {
  readonly used: string;
  /** limit − used, never below 0. */
  readonly remaining: string;
  /** used ≥ limit: no allowance left. */
  readonly exhausted: boolean;
  /**
   * Whether `quantity` more units fit (used + quantity ≤ limit), or without a quantity whether any
   * allowance is left; a `soft` limit always allows (it only reports).
   */
  readonly allowed: boolean;
  /** used + quantity (or used) is beyond the limit. */
  readonly overLimit: boolean;
}

/** `used` is the meter's aggregate over the window (null when nothing was recorded: 0). */
export function quotaStatus(
  allowance: Pick<MeteredAllowance, 'limit' | 'enforcement'>,
  used: string | null,
  quantity?: string,
): QuotaStatus {
  const limit = dec(allowance.limit);
  const usedValue = used === null ? ZERO : dec(used);
  const left = sub(limit, usedValue);
  const remaining: ExactDecimal = compare(left, ZERO) > 0 ? left : ZERO;
  const exhausted = compare(usedValue, limit) >= 0;
  const fits = quantity === undefined ? !exhausted : compare(add(usedValue, dec(quantity)), limit) <= 0;
  return {
    used: format(usedValue),
    remaining: format(remaining),
    exhausted,
    allowed: allowance.enforcement === 'soft' || fits,
    overLimit: !fits,
  };
}

/** Seconds until `resetsAt` (at least 1): the Retry-After of an exhausted hard limit. */
export function secondsUntil(resetsAt: string, nowMs: number): number {
  return Math.max(1, Math.ceil((Date.parse(resetsAt) - nowMs) / 1000));
}

// ---------------------------------------------------------------------------------------------------
// Free-to-paid conversions (analytics).

export interface PlanPosition {
  readonly status: string;
  readonly planId: string;
  readonly priceId: string;
  /** What the customer pays per unit (a customer override included), minor units. */
  readonly unitAmountMinor: number;
}

export interface Conversion {
  readonly kind: 'plan_change' | 'trial';
  readonly from: Omit<PlanPosition, 'status'>;
  readonly to: Omit<PlanPosition, 'status'>;
}

const LIVE_AFTER_CONVERSION: readonly string[] = ['trialing', 'active', 'past_due'];

/**
 * The conversion a persisted change makes, if any: the plan item moving from a free price (0) to a
 * paid one while the subscription is live (`plan_change`), or a subscription that had a trial becoming
 * active on a paid price (`trial`; the caller records it once per subscription, so a later recovery
 * from dunning is not a second conversion). `before` is null for a subscription not persisted yet.
 */
export function conversionOf(
  before: PlanPosition | null,
  after: PlanPosition,
  hadTrial: boolean,
): Conversion | null {
  if (before === null || after.unitAmountMinor <= 0) return null;
  const strip = ({ planId, priceId, unitAmountMinor }: PlanPosition) => ({
    planId,
    priceId,
    unitAmountMinor,
  });
  if (before.unitAmountMinor === 0 && before.priceId !== after.priceId) {
    if (!LIVE_AFTER_CONVERSION.includes(after.status)) return null;
    return { kind: 'plan_change', from: strip(before), to: strip(after) };
  }
  if (hadTrial && after.status === 'active' && before.status !== 'active') {
    return { kind: 'trial', from: strip(before), to: strip(after) };
  }
  return null;
}
