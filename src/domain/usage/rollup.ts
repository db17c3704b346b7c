// Rollup arithmetic: the state one hour bucket keeps per meter, customer and group, how two states
// combine, and what a state reads as for each aggregation. The same merge runs when a batch is summed
// before its write, when Postgres slot rows are combined, and when the Redis cache is read, so the
// three cannot disagree.

import { add, compare, dec, format, type ExactDecimal } from '../pricing/exact';
import type { MeterAggregation, MeterContribution } from './meter';

export const HOUR_MS = 3_600_000;

/** Usage is attributed to the UTC hour containing the event's own timestamp (never ingestion time). */
export function bucketStartMs(occurredAtMs: number): number {
  return Math.floor(occurredAtMs / HOUR_MS) * HOUR_MS;
}

export interface LatestValue {
  readonly atMs: number;
  readonly eventId: string;
  readonly value: string;
}

export interface RollupState {
  readonly eventCount: number;
  /** Exact decimal strings; null while no event carried a value. */
  readonly valueSum: string | null;
  readonly valueMax: string | null;
  readonly latest: LatestValue | null;
}

export const EMPTY_STATE: RollupState = { eventCount: 0, valueSum: null, valueMax: null, latest: null };

/** (atMs, eventId) order: a tie on the instant goes to the greater id, the same rule as the SQL. */
export function isLater(a: LatestValue, b: LatestValue): boolean {
  if (a.atMs !== b.atMs) return a.atMs > b.atMs;
  return a.eventId > b.eventId;
}

function addDecimals(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return format(add(dec(a), dec(b)));
}

function maxDecimal(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return compare(dec(a), dec(b)) >= 0 ? a : b;
}

export function mergeStates(a: RollupState, b: RollupState): RollupState {
  let latest = a.latest ?? b.latest;
  if (a.latest !== null && b.latest !== null) latest = isLater(b.latest, a.latest) ? b.latest : a.latest;
  return {
    eventCount: a.eventCount + b.eventCount,
    valueSum: addDecimals(a.valueSum, b.valueSum),
    valueMax: maxDecimal(a.valueMax, b.valueMax),
    latest,
  };
}

/** The aggregate a state stands for; unique_count is not a state (it is a set of values). */
export function readState(
  aggregation: Exclude<MeterAggregation, 'unique_count'>,
  state: RollupState,
): string | null {
  switch (aggregation) {
    case 'count':
      return String(state.eventCount);
    case 'sum':
      return state.valueSum ?? '0';
    case 'max':
      return state.valueMax;
    case 'latest':
      return state.latest?.value ?? null;
  }
}

export interface FreshEvent {
  readonly id: string;
  readonly customerId: string;
  readonly occurredAtMs: number;
  readonly contributions: readonly MeterContribution[];
}

export interface RollupDelta {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  readonly state: RollupState;
}

export interface UniqueValueRow {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  readonly value: string;
}

/** A delta being summed: exact decimals kept parsed until the end, so each event costs one parse. */
interface Accumulator {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  eventCount: number;
  sum: ExactDecimal | null;
  max: ExactDecimal | null;
  maxText: string | null;
  latest: LatestValue | null;
}

function accumulate(acc: Accumulator, event: FreshEvent, contribution: MeterContribution): void {
  acc.eventCount += 1;
  if (contribution.aggregation === 'unique_count' || contribution.value === null) return;
  const text = contribution.value;
  const value = dec(text);
  acc.sum = acc.sum === null ? value : add(acc.sum, value);
  if (acc.max === null || compare(value, acc.max) > 0) {
    acc.max = value;
    acc.maxText = text;
  }
  const candidate = { atMs: event.occurredAtMs, eventId: event.id, value: text };
  if (acc.latest === null || isLater(candidate, acc.latest)) acc.latest = candidate;
}

const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The newly stored events of one batch, summed per (meter, customer, hour, group), plus the distinct
 * values for unique_count meters. Sorted by key: concurrent transactions then lock rollup rows in
 * the same order and cannot deadlock each other.
 */
export function rollupDeltasOf(events: readonly FreshEvent[]): {
  readonly deltas: RollupDelta[];
  readonly uniqueValues: UniqueValueRow[];
} {
  const byKey = new Map<string, Accumulator>();
  const unique = new Map<string, UniqueValueRow>();
  for (const event of events) {
    const bucket = bucketStartMs(event.occurredAtMs);
    for (const contribution of event.contributions) {
      const key = `${contribution.meterId}\x1f${event.customerId}\x1f${bucket}\x1f${contribution.groupKey}`;
      let acc = byKey.get(key);
      if (acc === undefined) {
        acc = {
          meterId: contribution.meterId,
          customerId: event.customerId,
          bucketStartMs: bucket,
          groupKey: contribution.groupKey,
          eventCount: 0,
          sum: null,
          max: null,
          maxText: null,
          latest: null,
        };
        byKey.set(key, acc);
      }
      accumulate(acc, event, contribution);
      if (contribution.aggregation === 'unique_count' && contribution.value !== null) {
        unique.set(`${key}\x1f${contribution.value}`, {
          meterId: contribution.meterId,
          customerId: event.customerId,
          bucketStartMs: bucket,
          groupKey: contribution.groupKey,
          value: contribution.value,
        });
      }
    }
  }
  const sortedEntries = <T>(map: Map<string, T>): T[] =>
    [...map.entries()].sort((a, b) => compareKeys(a[0], b[0])).map(([, value]) => value);
  const deltas = sortedEntries(byKey).map((acc): RollupDelta => ({
    meterId: acc.meterId,
    customerId: acc.customerId,
    bucketStartMs: acc.bucketStartMs,
    groupKey: acc.groupKey,
    state: {
      eventCount: acc.eventCount,
      valueSum: acc.sum === null ? null : format(acc.sum),
      valueMax: acc.maxText,
      latest: acc.latest,
    },
  }));
  return { deltas, uniqueValues: sortedEntries(unique) };
}
