// A meter decides which events count and what number each contributes. Pure: the ingestion path and
// the tests share exactly this code.

import type { EventFieldError, EventProperties, PropertyValue, UsageEvent } from './usage-event';
import { jsonString } from './json-text';
import { usageValueOf } from './usage-value';

export const METER_AGGREGATIONS = ['sum', 'count', 'max', 'unique_count', 'latest'] as const;
export type MeterAggregation = (typeof METER_AGGREGATIONS)[number];

export type FilterValue = string | number | boolean;

export interface Meter {
  readonly id: string;
  readonly eventName: string;
  readonly aggregation: MeterAggregation;
  /** The property read by sum, max, latest and unique_count; null for count. */
  readonly valueProperty: string | null;
  /** Equality on properties: every listed property must be present and equal. */
  readonly filters: Readonly<Record<string, FilterValue>>;
  /** Properties that split the aggregate (e.g. region, model), in this order in the group key. */
  readonly groupBy: readonly string[];
}

/** What one event adds to one meter's hour bucket. */
export interface MeterContribution {
  readonly meterId: string;
  readonly aggregation: MeterAggregation;
  readonly groupKey: string;
  /** Canonical decimal for sum/max/latest; the distinct value (as text) for unique_count; null for count. */
  readonly value: string | null;
}

export function meterMatches(meter: Meter, event: Pick<UsageEvent, 'eventName' | 'properties'>): boolean {
  if (meter.eventName !== event.eventName) return false;
  for (const name in meter.filters) {
    if (event.properties[name] !== meter.filters[name]) return false;
  }
  return true;
}

/**
 * '' without group_by; otherwise the JSON array of the group_by values in the meter's order, null for a
 * missing property: `["eu","gpt-4"]`. JSON never emits raw control characters, which lets the Redis
 * cache use \x1f as a separator next to it.
 */
export function groupKeyOf(groupBy: readonly string[], properties: EventProperties): string {
  if (groupBy.length === 0) return '';
  // Exactly what JSON.stringify of the values would write (a test holds the two equal), without
  // building the array.
  let key = '[';
  for (let i = 0; i < groupBy.length; i += 1) {
    const value = properties[groupBy[i] as string];
    if (i > 0) key += ',';
    if (typeof value === 'string') key += jsonString(value);
    else key += JSON.stringify(value ?? null);
  }
  return `${key}]`;
}

/** The distinct-value identity for unique_count: strings as they are, other scalars as JSON. */
function distinctValueOf(value: PropertyValue | undefined): string | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * What the event contributes to every meter it matches. An event that matches a meter but lacks a
 * usable value for it is rejected as a whole (with the property named), never counted partially: a
 * silently skipped value is a silently wrong invoice.
 */
export function contributionsOf(
  event: Pick<UsageEvent, 'eventName' | 'properties'>,
  meters: readonly Meter[],
):
  | { readonly ok: true; readonly contributions: MeterContribution[] }
  | { readonly ok: false; readonly errors: EventFieldError[] } {
  const contributions: MeterContribution[] = [];
  let errors: EventFieldError[] | undefined;
  const fail = (meter: Meter, message: string) =>
    (errors ??= []).push({ field: `properties.${meter.valueProperty ?? ''}`, message });
  for (const meter of meters) {
    if (!meterMatches(meter, event)) continue;
    const groupKey = groupKeyOf(meter.groupBy, event.properties);
    if (meter.valueProperty === null) {
      contributions.push({ meterId: meter.id, aggregation: meter.aggregation, groupKey, value: null });
      continue;
    }
    const raw = event.properties[meter.valueProperty];
    if (meter.aggregation === 'unique_count') {
      const distinct = distinctValueOf(raw);
      if (distinct === undefined) fail(meter, `is required by meter ${meter.id} (unique_count)`);
      else
        contributions.push({ meterId: meter.id, aggregation: meter.aggregation, groupKey, value: distinct });
      continue;
    }
    if (raw === undefined || raw === null) {
      fail(meter, `is required by meter ${meter.id} (${meter.aggregation})`);
      continue;
    }
    const value = usageValueOf(raw);
    if (value.ok)
      contributions.push({ meterId: meter.id, aggregation: meter.aggregation, groupKey, value: value.value });
    else fail(meter, value.message);
  }
  return errors !== undefined ? { ok: false, errors } : { ok: true, contributions };
}
