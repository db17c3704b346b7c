// The pending rollup delta of one committed batch (a usage_rollup_deltas row), written by the ingest
// path, and the sum of many deltas, taken by the compactor's fold. The API sums a batch's claimed events
// (domain rollupDeltasOf) and stores the result compactly; the fold sums deltas with the same
// StateAccumulator, so a batch, a fold and a Redis read combine states by one rule.
//
// Document (json), version 2 — indexes into the meter and customer lists keep it small:
//   {"v":2, "m":[meter ids], "c":[customer ids],
//    "r":[[meter i, customer i, hour (epoch ms), group key, count, sum, max, latest at, latest id,
//          latest value], …],   decimals as strings; trailing nulls omitted
//    "u":[[meter i, customer i, hour, group key, distinct value], …]}
// Version 1 (migration 0007, summed in SQL) is an array of {"m","c","b","g","n","s","x","la","le","lv"}
// with the distinct values in a second column as [{"m","c","b","g","u"}]; deltas still pending when
// migration 0011 ran are in that form, and are folded the same way.

import {
  compareRows,
  RowIndex,
  StateAccumulator,
  type RollupDelta,
  type RollupState,
  type UniqueValueRow,
} from '../domain/usage/rollup';
import { jsonString, JsonStringList } from '../domain/usage/json-text';

type Cell = string | number | null;

const cell = (text: string | null): string => (text === null ? 'null' : jsonString(text));

/**
 * The delta document of one batch; null when no event contributed to any meter. Written as text in
 * one pass: the same JSON that JSON.stringify of the document would give (a test pins it).
 */
export function encodeBatchDelta(
  deltas: readonly RollupDelta[],
  uniqueValues: readonly UniqueValueRow[],
): string | null {
  if (deltas.length === 0) return null;
  const meters = new JsonStringList();
  const customers = new JsonStringList();
  let rows = '';
  for (let r = 0; r < deltas.length; r += 1) {
    const d = deltas[r] as RollupDelta;
    const { eventCount, valueSum, valueMax, latest } = d.state;
    let row = `${r === 0 ? '' : ','}[${meters.indexOf(d.meterId)},${customers.indexOf(d.customerId)},${d.bucketStartMs},${jsonString(d.groupKey)},${eventCount}`;
    // Trailing nulls are omitted: a count meter's row ends at the count.
    if (latest !== null)
      row += `,${cell(valueSum)},${cell(valueMax)},${latest.atMs},${jsonString(latest.eventId)},${jsonString(latest.value)}`;
    else if (valueMax !== null) row += `,${cell(valueSum)},${jsonString(valueMax)}`;
    else if (valueSum !== null) row += `,${jsonString(valueSum)}`;
    rows += `${row}]`;
  }
  let unique = '';
  for (let u = 0; u < uniqueValues.length; u += 1) {
    const v = uniqueValues[u] as UniqueValueRow;
    unique += `${u === 0 ? '' : ','}[${meters.indexOf(v.meterId)},${customers.indexOf(v.customerId)},${v.bucketStartMs},${jsonString(v.groupKey)},${jsonString(v.value)}]`;
  }
  return `{"v":2,"m":${meters.json()},"c":${customers.json()},"r":[${rows}],"u":[${unique}]}`;
}

/** One rollup row's worth of a fold: the key and the summed state of its deltas. */
export interface FoldedRow {
  readonly meterId: string;
  readonly customerId: string;
  readonly bucketStartMs: number;
  readonly groupKey: string;
  readonly sum: StateAccumulator;
}

interface V1Contribution {
  m: string;
  c: string;
  b: number | string;
  g: string;
  n: number | string;
  s: string | number | null;
  x: string | number | null;
  la: number | string | null;
  le: string | null;
  lv: string | number | null;
}
interface V1Unique {
  m: string;
  c: string;
  b: number | string;
  g: string;
  u: string;
}
interface V2Document {
  v: 2;
  m: string[];
  c: string[];
  r: Cell[][];
  u: Cell[][];
}

const text = (cell: Cell | undefined): string | null =>
  cell === undefined || cell === null ? null : String(cell);

function stateOf(
  count: Cell | undefined,
  sum: Cell | undefined,
  max: Cell | undefined,
  latestAt: Cell | undefined,
  latestId: Cell | undefined,
  latestValue: Cell | undefined,
): RollupState {
  const at = text(latestAt);
  const id = text(latestId);
  const value = text(latestValue);
  return {
    eventCount: Number(count ?? 0),
    valueSum: text(sum),
    valueMax: text(max),
    latest: at === null || id === null || value === null ? null : { atMs: Number(at), eventId: id, value },
  };
}

/** A delta document this code cannot read: it never folds, so the fold sets it aside (0013). */
export class UnreadableDeltaError extends Error {
  override readonly name = 'UnreadableDeltaError';
}

/** Sums delta documents (any mix of versions) per rollup row, and collects their distinct values. */
export class DeltaFold {
  // A delta entry per event or so (a batch touches about as many rows as it has events): no key
  // string is built per entry.
  private readonly byKey = new RowIndex<FoldedRow>();
  private readonly rows: FoldedRow[] = [];
  private readonly unique = new Map<string, UniqueValueRow>();

  add(contributions: unknown, uniqueValues: unknown): void {
    try {
      this.addDocument(contributions, uniqueValues);
    } catch (error) {
      throw error instanceof UnreadableDeltaError
        ? error
        : new UnreadableDeltaError(`unreadable rollup delta: ${(error as Error).message}`);
    }
  }

  private addDocument(contributions: unknown, uniqueValues: unknown): void {
    if (Array.isArray(contributions)) {
      for (const c of contributions as V1Contribution[])
        this.addState(c.m, c.c, Number(c.b), c.g, stateOf(c.n, c.s, c.x, c.la, c.le, c.lv));
    } else if (contributions !== null && typeof contributions === 'object') {
      const doc = contributions as V2Document;
      if (doc.v !== 2) throw new UnreadableDeltaError(`unknown rollup delta version ${String(doc.v)}`);
      for (const r of doc.r) {
        this.addState(
          doc.m[r[0] as number] as string,
          doc.c[r[1] as number] as string,
          r[2] as number,
          r[3] as string,
          stateOf(r[4], r[5], r[6], r[7], r[8], r[9]),
        );
      }
      for (const u of doc.u ?? [])
        this.addUnique(
          doc.m[u[0] as number] as string,
          doc.c[u[1] as number] as string,
          u[2] as number,
          u[3] as string,
          u[4] as string,
        );
    }
    if (Array.isArray(uniqueValues))
      for (const u of uniqueValues as V1Unique[]) this.addUnique(u.m, u.c, Number(u.b), u.g, u.u);
  }

  /** The summed rows in key order (the order the upsert takes their row locks in). */
  foldedRows(): FoldedRow[] {
    return [...this.rows].sort(compareRows);
  }

  uniqueValues(): UniqueValueRow[] {
    return [...this.unique.values()];
  }

  private addState(
    meterId: string,
    customerId: string,
    bucketStartMs: number,
    groupKey: string,
    state: RollupState,
  ) {
    let row = this.byKey.get(meterId, customerId, bucketStartMs, groupKey);
    if (row === undefined) {
      row = { meterId, customerId, bucketStartMs, groupKey, sum: new StateAccumulator() };
      this.byKey.add(row);
      this.rows.push(row);
    }
    row.sum.addState(state);
  }

  private addUnique(
    meterId: string,
    customerId: string,
    bucketStartMs: number,
    groupKey: string,
    value: string,
  ) {
    this.unique.set(`${meterId}\x1f${customerId}\x1f${bucketStartMs}\x1f${groupKey}\x1f${value}`, {
      meterId,
      customerId,
      bucketStartMs,
      groupKey,
      value,
    });
  }
}
