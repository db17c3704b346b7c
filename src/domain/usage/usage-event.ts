// One usage event as the tenant sends it, checked by hand: this runs up to 10,000 times per request on
// the ingestion hot path, where a schema library's per-call overhead would dominate (ADR 0008).

export type PropertyValue = string | number | boolean | null;
export type EventProperties = Readonly<Record<string, PropertyValue>>;

/** A field relative to the event (`timestamp`, `properties.tokens`); the API prefixes `events[3].`. */
export interface EventFieldError {
  readonly field: string;
  readonly message: string;
}

export interface UsageEvent {
  /** The client's idempotency key: the same id is counted once per tenant, forever. */
  readonly id: string;
  /** Our `cus_…` id or the tenant's external id for the customer. */
  readonly customerRef: string;
  readonly eventName: string;
  readonly occurredAtMs: number;
  readonly properties: EventProperties;
}

export type EventValidation =
  | { readonly ok: true; readonly event: UsageEvent }
  | { readonly ok: false; readonly errors: readonly EventFieldError[] };

export const MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** Late events are welcome; events from before this are a client bug, not usage. */
export const EARLIEST_EVENT_MS = Date.UTC(2000, 0, 1);
export const MAX_PROPERTIES = 100;
const MAX_PROPERTY_NAME_LENGTH = 200;
const MAX_STRING_VALUE_LENGTH = 1000;

// Printable ASCII: ids are compared byte-wise in Postgres (COLLATE "C") and code-unit-wise in JS, and
// the two orders agree on ASCII, which makes "latest" deterministic on both sides.
const EVENT_ID = /^[\x21-\x7e]{1,255}$/;
const CUSTOMER_REF = /^[\x21-\x7e]{1,255}$/;
const EVENT_NAME = /^[A-Za-z0-9_.:\-/]{1,200}$/;
// RFC 3339 with an explicit offset; fractions beyond milliseconds are accepted and truncated.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const KNOWN_FIELDS = new Set(['id', 'customer', 'event_name', 'timestamp', 'properties']);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function validateTimestamp(raw: unknown, nowMs: number, errors: EventFieldError[]): number {
  if (raw === undefined) return nowMs;
  if (typeof raw !== 'string' || !TIMESTAMP.test(raw)) {
    errors.push({
      field: 'timestamp',
      message: 'must be an ISO-8601 instant with an offset, e.g. 2026-05-01T12:00:00Z',
    });
    return Number.NaN;
  }
  const ms = Date.parse(raw);
  if (Number.isNaN(ms)) {
    errors.push({ field: 'timestamp', message: 'is not a valid calendar instant' });
  } else if (ms > nowMs + MAX_FUTURE_SKEW_MS) {
    errors.push({ field: 'timestamp', message: 'is more than 5 minutes in the future' });
  } else if (ms < EARLIEST_EVENT_MS) {
    errors.push({ field: 'timestamp', message: 'is before 2000-01-01' });
  }
  return ms;
}

function validateProperties(raw: unknown, errors: EventFieldError[]): EventProperties {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) {
    errors.push({ field: 'properties', message: 'must be an object' });
    return {};
  }
  let count = 0;
  for (const name in raw) {
    count += 1;
    const value = raw[name];
    if (name.length === 0 || name.length > MAX_PROPERTY_NAME_LENGTH) {
      errors.push({
        field: 'properties',
        message: `property names must be 1..${MAX_PROPERTY_NAME_LENGTH} characters`,
      });
    } else if (typeof value === 'string') {
      if (value.length > MAX_STRING_VALUE_LENGTH) {
        errors.push({
          field: `properties.${name}`,
          message: `must be at most ${MAX_STRING_VALUE_LENGTH} characters`,
        });
      }
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) errors.push({ field: `properties.${name}`, message: 'must be finite' });
    } else if (value !== null && typeof value !== 'boolean') {
      errors.push({
        field: `properties.${name}`,
        message: 'must be a string, number, boolean or null (properties are flat)',
      });
    }
  }
  if (count > MAX_PROPERTIES)
    errors.push({ field: 'properties', message: `at most ${MAX_PROPERTIES} properties` });
  return raw as EventProperties;
}

/** Checks one event; `nowMs` is the ingestion instant (default timestamp, future bound). */
export function validateUsageEvent(raw: unknown, nowMs: number): EventValidation {
  if (!isPlainObject(raw)) return { ok: false, errors: [{ field: '', message: 'must be an object' }] };
  const errors: EventFieldError[] = [];
  for (const name in raw) {
    if (!KNOWN_FIELDS.has(name)) errors.push({ field: name, message: 'Unknown field' });
  }
  const { id, customer, event_name: eventName } = raw;
  if (typeof id !== 'string' || !EVENT_ID.test(id)) {
    errors.push({ field: 'id', message: 'is required: 1..255 printable ASCII characters, unique per event' });
  }
  if (typeof customer !== 'string' || !CUSTOMER_REF.test(customer)) {
    errors.push({ field: 'customer', message: "is required: a cus_… id or the customer's external_id" });
  }
  if (typeof eventName !== 'string' || !EVENT_NAME.test(eventName)) {
    errors.push({ field: 'event_name', message: 'is required: 1..200 of A-Z a-z 0-9 _ . : - /' });
  }
  const occurredAtMs = validateTimestamp(raw.timestamp, nowMs, errors);
  const properties = validateProperties(raw.properties, errors);
  if (errors.length > 0) return { ok: false, errors };
  return {
    ok: true,
    event: {
      id: id as string,
      customerRef: customer as string,
      eventName: eventName as string,
      occurredAtMs,
      properties,
    },
  };
}
