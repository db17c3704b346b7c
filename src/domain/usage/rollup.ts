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

/** A customer's rows are searched in place up to this many; beyond, through a map of composed keys. */
const LINEAR_ROWS = 12;

const composedKey = (meterId: string, bucketStartMs: number, groupKey: string): string =>
  `${meterId}\x1f${bucketStartMs}\x1f${groupKey}`;

/**
 * Rows keyed by (meter, customer, hour, group) without building a key string per lookup: per customer
 * a short list searched in place (one batch or fold touches a handful of rows per customer: one per
 * meter, group and hour), and a map of composed keys for a customer once its list grows long (a
 * group-by over a property with many values), so that no lookup degrades to a long scan.
 */
export class RowIndex<T extends RowKey> {
  private readonly byCustomer = new Map<string, T[]>();
  private readonly composed = new Map<string, Map<string, T>>();

  get(meterId: string, customerId: string, bucketStartMs: number, groupKey: string): T | undefined {
    const rows = this.byCustomer.get(customerId);
    if (rows === undefined) return undefined;
    if (rows.length > LINEAR_ROWS)
      return this.composed.get(customerId)?.get(composedKey(meterId, bucketStartMs, groupKey));
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i] as T;
      if (row.meterId === meterId && row.bucketStartMs === bucketStartMs && row.groupKey === groupKey)
        return row;
    }
    return undefined;
  }

  /** Adds a row whose key is not in the index yet. */
  add(row: T): void {
    const rows = this.byCustomer.get(row.customerId);
    if (rows === undefined) {
      this.byCustomer.set(row.customerId, [row]);
      return;
    }
    rows.push(row);
    if (rows.length <= LINEAR_ROWS) return;
    let index = this.composed.get(row.customerId);
    if (index === undefined) {
      index = new Map(rows.map((r) => [composedKey(r.meterId, r.bucketStartMs, r.groupKey), r]));
      this.composed.set(row.customerId, index);
    } else index.set(composedKey(row.meterId, row.bucketStartMs, row.groupKey), row);
  }
}

interface DistinctValues extends RowKey {
  readonly values: Set<string>;
}

/**
 * The newly stored events of one batch, summed per (meter, customer, hour, group), plus the distinct
 * values for unique_count meters, sorted by key (a batch's delta document is then deterministic).
 */
export function rollupDeltasOf(events: readonly FreshEvent[]): {
  readonly deltas: RollupDelta[];
  readonly uniqueValues: UniqueValueRow[];
} {
  const byKey = new RowIndex<Accumulator>();
  const accumulators: Accumulator[] = [];
  const unique = new RowIndex<DistinctValues>();
  const uniqueValues: UniqueValueRow[] = [];
  for (const event of events) {
    const bucket = bucketStartMs(event.occurredAtMs);
    const { customerId } = event;
    for (const contribution of event.contributions) {
      const { meterId, groupKey, aggregation, value } = contribution;
      let acc = byKey.get(meterId, customerId, bucket, groupKey);
      if (acc === undefined) {
        acc = { meterId, customerId, bucketStartMs: bucket, groupKey, sum: new StateAccumulator() };
        byKey.add(acc);
        accumulators.push(acc);
      }
      acc.sum.addEvent(aggregation, event.id, event.occurredAtMs, value);
      if (aggregation === 'unique_count' && value !== null) {
        let seen = unique.get(meterId, customerId, bucket, groupKey);
        if (seen === undefined) {
          seen = { meterId, customerId, bucketStartMs: bucket, groupKey, values: new Set<string>() };
          unique.add(seen);
        }
        if (!seen.values.has(value)) {
          seen.values.add(value);
          uniqueValues.push({ meterId, customerId, bucketStartMs: bucket, groupKey, value });
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
