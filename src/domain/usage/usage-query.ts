// Reading a meter's usage over a range of hours: combine every slot row of every hour, optionally split
// by a subset of the meter's group_by dimensions. Used on rows from Redis and from Postgres alike.

import type { Meter } from './meter';
import type { PropertyValue } from './usage-event';
import { EMPTY_STATE, mergeStates, readState, type RollupState } from './rollup';

export interface GroupedState {
  readonly groupKey: string;
  readonly state: RollupState;
}

export interface GroupedValue {
  readonly groupKey: string;
  readonly value: string;
}

export interface UsageGroup {
  readonly group: Readonly<Record<string, PropertyValue>>;
  readonly value: string | null;
}

export interface UsageAggregate {
  /** Over everything in range (all groups). */
  readonly value: string | null;
  /** One entry per distinct combination of the requested dimensions; empty without group_by. */
  readonly groups: UsageGroup[];
}

/** `["eu","gpt-4"]` under group_by [region, model], projected to [model] → `["gpt-4"]`. */
function projectGroupKey(meter: Meter, groupKey: string, dimensions: readonly string[]): string {
  if (dimensions.length === 0) return '';
  const values = groupKey === '' ? [] : (JSON.parse(groupKey) as PropertyValue[]);
  return JSON.stringify(dimensions.map((name) => values[meter.groupBy.indexOf(name)] ?? null));
}

function groupObject(dimensions: readonly string[], projectedKey: string): Record<string, PropertyValue> {
  const values = JSON.parse(projectedKey) as PropertyValue[];
  return Object.fromEntries(dimensions.map((name, index) => [name, values[index] ?? null]));
}

const byKey = (a: UsageGroup & { key: string }, b: UsageGroup & { key: string }) =>
  a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

/**
 * `states`: every (hour, slot, group) state in range; `distinctValues`: for unique_count, every
 * (hour, group, value) in range. `dimensions` must be a subset of meter.groupBy (checked by the caller).
 */
export function aggregateUsage(
  meter: Meter,
  states: readonly GroupedState[],
  distinctValues: readonly GroupedValue[],
  dimensions: readonly string[],
): UsageAggregate {
  if (meter.aggregation === 'unique_count') {
    const all = new Set<string>();
    const perGroup = new Map<string, Set<string>>();
    for (const { groupKey, value } of distinctValues) {
      all.add(value);
      if (dimensions.length === 0) continue;
      const projected = projectGroupKey(meter, groupKey, dimensions);
      const set = perGroup.get(projected) ?? new Set<string>();
      set.add(value);
      perGroup.set(projected, set);
    }
    const groups = [...perGroup.entries()]
      .map(([key, set]) => ({ key, group: groupObject(dimensions, key), value: String(set.size) }))
      .sort(byKey);
    return { value: String(all.size), groups: groups.map(({ group, value }) => ({ group, value })) };
  }
  const aggregation = meter.aggregation;
  let total = EMPTY_STATE;
  const perGroup = new Map<string, RollupState>();
  for (const { groupKey, state } of states) {
    total = mergeStates(total, state);
    if (dimensions.length === 0) continue;
    const projected = projectGroupKey(meter, groupKey, dimensions);
    perGroup.set(projected, mergeStates(perGroup.get(projected) ?? EMPTY_STATE, state));
  }
  const groups = [...perGroup.entries()]
    .map(([key, state]) => ({
      key,
      group: groupObject(dimensions, key),
      value: readState(aggregation, state),
    }))
    .sort(byKey);
  return {
    value: readState(aggregation, total),
    groups: groups.map(({ group, value }) => ({ group, value })),
  };
}
