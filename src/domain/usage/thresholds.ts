// Usage thresholds of a metered allowance: which percentages of the limit the usage has reached, and
// the bounded list of the latest crossings the subscription workflow keeps in its state. Pure.
//
// Level-triggered, not edge-triggered: "reached" is computed from the current aggregate alone, and the
// caller announces whatever is reached and not yet recorded. So a missed or late evaluation only
// delays an announcement, and a jump from 10 % to 120 % announces 80 and 100 together.

import { compare, dec, format, mul } from '../pricing/exact';

export const USAGE_THRESHOLDS = [80, 100] as const;
export type UsageThreshold = (typeof USAGE_THRESHOLDS)[number];

/**
 * The thresholds `used` has reached: used × 100 ≥ limit × threshold, exactly. Nothing is reached
 * before any usage (a zero limit is reached by the first unit, not by the absence of usage).
 */
export function reachedThresholds(used: string | null, limit: string): UsageThreshold[] {
  if (used === null) return [];
  const usedValue = dec(used);
  if (usedValue.units <= 0n) return [];
  const hundredTimesUsed = mul(usedValue, dec('100'));
  return USAGE_THRESHOLDS.filter(
    (threshold) => compare(hundredTimesUsed, mul(dec(limit), dec(String(threshold)))) >= 0,
  );
}

/** What the subscription workflow is told, and keeps (JSON: decimals as strings, instants ISO). */
export interface UsageThresholdCrossing {
  readonly feature: string;
  readonly meterId: string;
  readonly threshold: UsageThreshold;
  readonly used: string;
  readonly limit: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly reachedAt: string;
}

export const MAX_KEPT_CROSSINGS = 20;

const keyOf = (c: UsageThresholdCrossing): string =>
  `${c.feature}\x1f${c.periodStart}\x1f${c.threshold}\x1f${format(dec(c.limit))}`;

/**
 * The latest crossings, newest last, at most `max`; a repeat of a known (feature, period, threshold,
 * limit) — a re-sent signal — changes nothing, so signals may be delivered more than once.
 */
export function withCrossing(
  kept: readonly UsageThresholdCrossing[] | undefined,
  crossing: UsageThresholdCrossing,
  max = MAX_KEPT_CROSSINGS,
): UsageThresholdCrossing[] {
  const list = kept ?? [];
  const key = keyOf(crossing);
  if (list.some((known) => keyOf(known) === key)) return [...list];
  return [...list, crossing].slice(-max);
}
