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

/** A canonical integer that a double holds exactly, with room to add another of its kind. */
const SMALL_INTEGER = /^-?\d{1,15}$/;
const SAFE_SUM = Number.MAX_SAFE_INTEGER - 1e15;

/**
 * A state being summed: exact decimals kept parsed until the end, so each contribution costs one parse
 * (and an integer of up to 15 digits none: it is added as a double while the total stays exact). The
 * same sum serves a batch's events (before its write) and many deltas (the compactor's fold).
 */
export class StateAccumulator {
  eventCount = 0;
  /** Integer part of the sum kept as a double (exact below SAFE_SUM); `exact` holds the rest. */
  private small = 0;
  private hasSum = false;
  private exact: ExactDecimal | null = null;
  private max: ExactDecimal | null = null;
  private maxText: string | null = null;
  private latest: LatestValue | null = null;

  /**
   * One event's value for a meter of `aggregation`: only the part of the state that aggregation reads
   * is kept (a meter's aggregation never changes), so a sum meter's rows carry no max or latest.
   */
  addEvent(aggregation: MeterAggregation, eventId: string, occurredAtMs: number, value: string | null): void {
    this.eventCount += 1;
    if (value === null) return;
    if (aggregation === 'sum') this.addSum(value);
    else if (aggregation === 'max') this.addMax(value);
    else if (aggregation === 'latest') {
      if (
        this.latest === null ||
        occurredAtMs > this.latest.atMs ||
        (occurredAtMs === this.latest.atMs && eventId > this.latest.eventId)
      )
        this.latest = { atMs: occurredAtMs, eventId, value };
    }
  }

  /** A whole state (a delta of a batch, or a rollup row). */
  addState(state: RollupState): void {
    this.eventCount += state.eventCount;
    if (state.valueSum !== null) this.addSum(state.valueSum);
    if (state.valueMax !== null) this.addMax(state.valueMax);
    if (state.latest !== null && (this.latest === null || isLater(state.latest, this.latest)))
      this.latest = state.latest;
  }

  state(): RollupState {
    let valueSum: string | null = null;
    if (this.hasSum) {
      valueSum =
        this.exact === null
          ? String(this.small)
          : format(this.small === 0 ? this.exact : add(this.exact, dec(String(this.small))));
    }
    return { eventCount: this.eventCount, valueSum, valueMax: this.maxText, latest: this.latest };
  }

  private addSum(text: string): void {
    this.hasSum = true;
    if (SMALL_INTEGER.test(text)) {
      const value = Number(text);
      if (Math.abs(this.small) < SAFE_SUM) {
        this.small += value;
        return;
      }
    }
    const value = dec(text);
    this.exact = this.exact === null ? value : add(this.exact, value);
  }

  private addMax(text: string): void {
    const value = dec(text);
    if (this.max === null || compare(value, this.max) > 0) {
      this.max = value;
      this.maxText = text;
    }
  }
}

interface Accumulator {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  readonly sum: StateAccumulator;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Key order of rollup rows: meter, customer, hour, group (then value, for distinct values). */
export function compareRows(a: RowKey, b: RowKey): number {
  return (
    compareText(a.meterId, b.meterId) ||
    compareText(a.customerId, b.customerId) ||
    a.bucketStartMs - b.bucketStartMs ||
    compareText(a.groupKey, b.groupKey)
  );
}

export interface RowKey {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
}

/** A map keyed by (a, b, c, d) without building a key string per lookup: the ids are shared strings. */
export type Nested<T> = Map<string, Map<string, Map<number, Map<string, T>>>>;

/** The value under (a, b, c, d), made and stored by `make` the first time. */
export function slotOf<T>(nested: Nested<T>, a: string, b: string, c: number, d: string, make: () => T): T {
  let byB = nested.get(a);
  if (byB === undefined) nested.set(a, (byB = new Map<string, Map<number, Map<string, T>>>()));
  let byC = byB.get(b);
  if (byC === undefined) byB.set(b, (byC = new Map<number, Map<string, T>>()));
  let byD = byC.get(c);
  if (byD === undefined) byC.set(c, (byD = new Map<string, T>()));
  let value = byD.get(d);
  if (value === undefined) byD.set(d, (value = make()));
  return value;
}

/**
 * The newly stored events of one batch, summed per (meter, customer, hour, group), plus the distinct
 * values for unique_count meters, sorted by key (a batch's delta document is then deterministic).
 */
export function rollupDeltasOf(events: readonly FreshEvent[]): {
  readonly deltas: RollupDelta[];
  readonly uniqueValues: UniqueValueRow[];
} {
  const byKey: Nested<Accumulator> = new Map();
  const accumulators: Accumulator[] = [];
  const unique: Nested<Set<string>> = new Map();
  const uniqueValues: UniqueValueRow[] = [];
  for (const event of events) {
    const bucket = bucketStartMs(event.occurredAtMs);
    for (const contribution of event.contributions) {
      const acc = slotOf(byKey, contribution.meterId, event.customerId, bucket, contribution.groupKey, () => {
        const created: Accumulator = {
          meterId: contribution.meterId,
          customerId: event.customerId,
          bucketStartMs: bucket,
          groupKey: contribution.groupKey,
          sum: new StateAccumulator(),
        };
        accumulators.push(created);
        return created;
      });
      acc.sum.addEvent(contribution.aggregation, event.id, event.occurredAtMs, contribution.value);
      if (contribution.aggregation === 'unique_count' && contribution.value !== null) {
        const seen = slotOf(
          unique,
          contribution.meterId,
          event.customerId,
          bucket,
          contribution.groupKey,
          () => new Set<string>(),
        );
        if (!seen.has(contribution.value)) {
          seen.add(contribution.value);
          uniqueValues.push({
            meterId: contribution.meterId,
            customerId: event.customerId,
            bucketStartMs: bucket,
            groupKey: contribution.groupKey,
            value: contribution.value,
          });
        }
      }
    }
  }
  const deltas = accumulators.sort(compareRows).map((acc): RollupDelta => ({
    meterId: acc.meterId,
    customerId: acc.customerId,
    bucketStartMs: acc.bucketStartMs,
    groupKey: acc.groupKey,
    state: acc.sum.state(),
  }));
  uniqueValues.sort((a, b) => compareRows(a, b) || compareText(a.value, b.value));
  return { deltas, uniqueValues };
}
