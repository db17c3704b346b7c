// One ingestion request from its raw body to its outcome: parse the JSON, check the body's shape, take
// the tenant's rate-limit tokens for its events, ingest them (ingest.ts). The same function runs on an
// ingest thread (ingest-threads.ts) or, without threads, on the API's event loop; the HTTP route only
// turns the outcome into a response, so both give byte-for-byte the same answers.

import type { EventFieldError } from '../domain/usage/usage-event';
import { ingestEvents, MAX_BATCH_EVENTS, type IngestDeps, type IngestReport } from './ingest';
import type { RateDecision } from './rate-limit';

/** `batch`: {"events": [...]} (POST /v1/events/batch); `single`: one event (POST /v1/events). */
export type BodyShape = 'batch' | 'single';

/**
 * The customers (as sent) of a request's accepted events, by event name: what the threshold watcher
 * evaluates.
 */
export type TouchedCustomers = ReadonlyArray<readonly [eventName: string, customerRefs: readonly string[]]>;

export type IngestOutcome =
  /** Not JSON, or JSON whose top level is neither an object nor an array. */
  | { readonly kind: 'malformed' }
  /** JSON of the wrong shape as a whole (no events array, an unknown top-level field). */
  | { readonly kind: 'invalid'; readonly errors: readonly EventFieldError[] }
  | { readonly kind: 'rateLimited'; readonly retryAfterSeconds: number }
  | {
      readonly kind: 'ingested';
      readonly report: IngestReport;
      /** A single event's id, when it was accepted or a duplicate. */
      readonly eventId?: string;
      readonly touched: TouchedCustomers;
    };

export type TakeTokens = (events: number) => Promise<RateDecision>;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Like express.json's strict mode: UTF-8 JSON whose top level is an object or an array. */
function parseJson(body: Uint8Array): { ok: true; value: unknown } | { ok: false } {
  // No body at all reads as {} (as express.json leaves it), so the shape check names what is missing.
  if (body.length === 0) return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch {
    return { ok: false };
  }
  return typeof value === 'object' && value !== null ? { ok: true, value } : { ok: false };
}

function eventsOfBatch(body: unknown): { events: unknown[] } | { errors: EventFieldError[] } {
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS) {
    return { errors: [{ field: 'events', message: `must be an array of 1..${MAX_BATCH_EVENTS} events` }] };
  }
  const unknownKeys = Object.keys(body as object).filter((key) => key !== 'events');
  if (unknownKeys.length > 0)
    return { errors: unknownKeys.map((field) => ({ field, message: 'Unknown field' })) };
  return { events: events as unknown[] };
}

export function touchedBy(events: readonly unknown[], accepted: readonly number[]): TouchedCustomers {
  const byName = new Map<string, Set<string>>();
  // A batch usually has one or two event names: look the set up only when the name changes.
  let lastName: string | undefined;
  let refs = new Set<string>();
  for (const index of accepted) {
    // Accepted events passed validation: both fields are strings.
    const { event_name: name, customer } = events[index] as { event_name: string; customer: string };
    if (name !== lastName) {
      lastName = name;
      refs = byName.get(name) ?? new Set<string>();
      byName.set(name, refs);
    }
    refs.add(customer);
  }
  return [...byName].map(([name, customers]) => [name, [...customers]] as const);
}

export async function ingestBody(
  deps: IngestDeps,
  tenantId: string,
  body: Uint8Array,
  shape: BodyShape,
  takeTokens: TakeTokens,
  nowMs: () => number,
): Promise<IngestOutcome> {
  const parsed = parseJson(body);
  if (!parsed.ok) return { kind: 'malformed' };
  let events: unknown[];
  if (shape === 'batch') {
    const batch = eventsOfBatch(parsed.value);
    if ('errors' in batch) return { kind: 'invalid', errors: batch.errors };
    events = batch.events;
  } else {
    events = [parsed.value];
  }
  const decision = await takeTokens(events.length);
  if (!decision.allowed) return { kind: 'rateLimited', retryAfterSeconds: decision.retryAfterSeconds };
  const report = await ingestEvents(deps, tenantId, events, nowMs());
  const single = shape === 'single' && report.rejected.length === 0;
  return {
    kind: 'ingested',
    report,
    ...(single ? { eventId: (parsed.value as { id: string }).id } : {}),
    touched: report.accepted.length > 0 ? touchedBy(events, report.accepted) : [],
  };
}
