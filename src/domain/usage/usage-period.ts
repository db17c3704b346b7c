// Which usage a billing period pays for. Rollups are hourly (ADR 0008), so the usage period of a
// billing period [s, e) is [floor_hour(s), floor_hour(e)): whole UTC hours, read from rollups only.
// Consecutive billing periods share their boundary, so their usage periods share floor_hour(boundary)
// and tile time with no gap and no overlap: every event is billed exactly once, in the usage period
// containing its own timestamp. An event in the last partial hour of a period is billed with the next
// period (at most 59 minutes later than a raw rescan would), never twice and never zero times.

import { formatInstant, parseInstantMs } from '../calendar';
import { HOUR_MS } from './rollup';

export interface UsagePeriod {
  /** ISO-8601 UTC, a whole hour. */
  readonly start: string;
  /** ISO-8601 UTC, a whole hour, >= start (equal when the billing period lies inside one hour). */
  readonly end: string;
}

export function floorHourMs(ms: number): number {
  return Math.floor(ms / HOUR_MS) * HOUR_MS;
}

/** [floor_hour(start), floor_hour(end)) of a billing period (or of a partial one ending at a cancel). */
export function usagePeriodOf(period: { readonly start: string; readonly end: string }): UsagePeriod {
  const startMs = parseInstantMs(period.start);
  const endMs = parseInstantMs(period.end);
  if (endMs < startMs) throw new RangeError(`period ends (${period.end}) before it starts (${period.start})`);
  return { start: formatInstant(floorHourMs(startMs)), end: formatInstant(floorHourMs(endMs)) };
}

/** '2026-03-01 – 2026-04-01' or, for periods not on midnight, '2026-03-01 09:00 – 2026-04-01 09:00' (UTC). */
export function describeUsagePeriod(period: UsagePeriod): string {
  const onMidnight = period.start.slice(11, 16) === '00:00' && period.end.slice(11, 16) === '00:00';
  const show = (iso: string) => (onMidnight ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`);
  return `${show(period.start)} – ${show(period.end)}${onMidnight ? '' : ' UTC'}`;
}
