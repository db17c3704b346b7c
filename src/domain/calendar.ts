// Billing calendar: where billing periods start and end.
//
// Instants cross module boundaries as canonical ISO-8601 UTC strings ('2024-01-31T10:00:00.000Z', the exact
// output of Date.prototype.toISOString) so they survive Temporal's JSON payloads and sort correctly as
// strings. Inside this module they are epoch milliseconds; calendar fields come from Date.UTC and the
// getUTC* accessors, never from the local time zone, and never from the clock: time is always a parameter,
// because this code runs in Temporal workflow sandboxes where it must replay identically.

export const BILLING_INTERVALS = ['day', 'week', 'month', 'year'] as const;
export type BillingInterval = (typeof BILLING_INTERVALS)[number];

/** intervalCount is an integer 1..(day: 365, week: 52, month: 12, year: 5). */
export interface Recurrence {
  readonly interval: BillingInterval;
  readonly intervalCount: number;
}

export type BillingAlignment = 'anniversary' | 'calendar';

/** [start, end) as ISO UTC strings. */
export interface BillingPeriod {
  readonly index: number;
  readonly start: string;
  readonly end: string;
}

export interface BillingSchedule {
  readonly anchor: string;
  readonly recurrence: Recurrence;
  readonly alignment: BillingAlignment;
  readonly startedAt: string;
}

const BILLING_ALIGNMENTS: readonly BillingAlignment[] = ['anniversary', 'calendar'];

// Bounds on intervalCount: wide enough for every real plan (daily..yearly, up to "every 5 years"), narrow
// enough that a typo such as 30 months instead of 30 days is caught where it is made.
const MAX_INTERVAL_COUNT: Readonly<Record<BillingInterval, number>> = {
  day: 365,
  week: 52,
  month: 12,
  year: 5,
};

const MS_PER_SECOND = 1_000;
const MS_PER_DAY = 86_400_000;
const MS_PER_WEEK = 604_800_000;
const MONTHS_PER_YEAR = 12;

// Four-digit years only: Date.UTC reads years 0..99 as 1900..1999, and years past 9999 need the expanded
// '+010000-…' ISO form that would no longer sort as a plain string. 1000..9999 covers any billing date
// with centuries of headroom for long schedules.
const MIN_YEAR = 1000;
const MAX_YEAR = 9999;
const MIN_INSTANT_MS = Date.UTC(MIN_YEAR, 0, 1);
const MAX_INSTANT_MS = Date.UTC(MAX_YEAR + 1, 0, 1) - 1;

const ISO_UTC_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// 1970-01-01 (epoch day 0) was a Thursday; with Monday = 0 that is weekday 3.
const EPOCH_DAY_WEEKDAY_FROM_MONDAY = 3;

// periodAt's first guess for month/year schedules is off by at most one period (clamping can push a
// boundary later within its month); this bounds the correction loop.
const MAX_PERIOD_SEARCH_STEPS = 2;

/**
 * Epoch milliseconds of a canonical ISO-8601 UTC instant ('YYYY-MM-DDTHH:mm:ss.sssZ'). Anything else is a
 * programmer error (RangeError): accepting offsets or missing milliseconds would let two spellings of one
 * instant compare unequal as strings.
 */
export function parseInstantMs(iso: string): number {
  if (typeof iso !== 'string' || !ISO_UTC_PATTERN.test(iso)) {
    throw new RangeError(
      `expected an ISO-8601 UTC instant like '2024-01-31T10:00:00.000Z', got ${JSON.stringify(iso)}`,
    );
  }
  const ms = Date.parse(iso);
  // The round trip rejects impossible fields (Feb 30, 24:00) that Date.parse would otherwise roll over.
  if (!Number.isSafeInteger(ms) || new Date(ms).toISOString() !== iso) {
    throw new RangeError(`not a valid calendar instant: ${JSON.stringify(iso)}`);
  }
  assertInstantInRange(ms, iso);
  return ms;
}

/** The canonical ISO-8601 UTC string of an instant in epoch milliseconds (the inverse of parseInstantMs). */
export function formatInstant(ms: number): string {
  assertInstantInRange(ms, String(ms));
  return new Date(ms).toISOString();
}

/** Boundary n (integer n >= 0) of a schedule anchored at `anchor`; boundary 0 is the anchor itself. */
export function billingBoundary(anchor: string, recurrence: Recurrence, n: number): string {
  const anchorMs = parseInstantMs(anchor);
  assertRecurrence(recurrence);
  assertIndex(n, 'boundary n');
  return formatInstant(boundaryMs(anchorMs, recurrence, n));
}

/**
 * The schedule for a subscription that starts at `startedAt`. anniversary: anchor = startedAt. calendar:
 * anchor = the first boundary that is 00:00:00.000 UTC on the 1st of a month (for 'month'), on Jan 1 (for
 * 'year'), on a Monday (for 'week'), at 00:00 UTC (for 'day') at or after startedAt; the time from
 * startedAt to anchor is a stub period (index 0) unless startedAt is already aligned.
 *
 * Calendar alignment aligns to the interval's unit, not to multiples of intervalCount: a quarterly
 * (3-month) calendar schedule starting Feb 15 is anchored Mar 1, not at the calendar quarter Apr 1.
 */
export function createSchedule(
  startedAt: string,
  recurrence: Recurrence,
  alignment: BillingAlignment,
): BillingSchedule {
  const startedAtMs = parseInstantMs(startedAt);
  assertRecurrence(recurrence);
  assertAlignment(alignment);
  const anchorMs =
    alignment === 'anniversary' ? startedAtMs : firstAlignedAtOrAfterMs(startedAtMs, recurrence.interval);
  if (anchorMs < startedAtMs) throw new Error('createSchedule: anchor precedes startedAt');
  return {
    anchor: formatInstant(anchorMs),
    // Copy so that later mutation of the caller's object cannot change a schedule already handed out.
    recurrence: { interval: recurrence.interval, intervalCount: recurrence.intervalCount },
    alignment,
    startedAt,
  };
}

/** Period `index` of the schedule (index 0 is the first period; with a calendar stub, period 0 is [startedAt, anchor)). */
export function periodOf(schedule: BillingSchedule, index: number): BillingPeriod {
  const parsed = parseSchedule(schedule);
  assertIndex(index, 'period index');
  return periodOfParsed(parsed, index);
}

/** The period containing instant `at` (at >= schedule.startedAt, else throws RangeError). */
export function periodAt(schedule: BillingSchedule, at: string): BillingPeriod {
  const parsed = parseSchedule(schedule);
  const atMs = parseInstantMs(at);
  if (atMs < parsed.startedAtMs) {
    throw new RangeError(`periodAt: ${at} is before the schedule started (${schedule.startedAt})`);
  }
  if (parsed.hasStub && atMs < parsed.anchorMs) return periodOfParsed(parsed, 0);

  // n is the index of the anchor-relative cycle [boundary(n), boundary(n + 1)) that contains atMs.
  let n = estimateCycle(parsed, atMs);
  for (let step = 0; ; step++) {
    if (step > MAX_PERIOD_SEARCH_STEPS) throw new Error(`periodAt: no period found for ${at}`);
    if (boundaryMs(parsed.anchorMs, parsed.recurrence, n) > atMs) {
      n -= 1;
    } else if (boundaryMs(parsed.anchorMs, parsed.recurrence, n + 1) <= atMs) {
      n += 1;
    } else {
      break;
    }
  }
  const period = periodOfParsed(parsed, parsed.hasStub ? n + 1 : n);
  // Postcondition, checked on the read path exactly as the property tests check it: start <= at < end.
  if (!(parseInstantMs(period.start) <= atMs && atMs < parseInstantMs(period.end))) {
    throw new Error(`periodAt: period ${period.index} does not contain ${at}`);
  }
  return period;
}

/**
 * Length of the period in whole seconds (end - start). Boundaries inherit the anchor's milliseconds, so
 * every period is a whole number of seconds except a calendar stub that starts mid-second; its started
 * last second counts as a whole second (ceil), so that a period is never shorter in seconds than in time.
 */
export function periodSeconds(period: BillingPeriod): number {
  const startMs = parseInstantMs(period.start);
  const endMs = parseInstantMs(period.end);
  if (!(startMs < endMs)) {
    throw new RangeError(`period must have start < end, got [${period.start}, ${period.end})`);
  }
  return Math.ceil((endMs - startMs) / MS_PER_SECOND);
}

// ---------------------------------------------------------------------------------------------------------

interface ParsedSchedule {
  readonly anchorMs: number;
  readonly startedAtMs: number;
  readonly recurrence: Recurrence;
  // A calendar schedule that did not start on an aligned instant begins with a short stub period.
  readonly hasStub: boolean;
}

/**
 * Schedules come back from JSON workflow state, so the read path re-checks what createSchedule guaranteed
 * on the write path: valid fields and an anchor that is exactly what createSchedule would have chosen.
 */
function parseSchedule(schedule: BillingSchedule): ParsedSchedule {
  const startedAtMs = parseInstantMs(schedule.startedAt);
  const anchorMs = parseInstantMs(schedule.anchor);
  assertRecurrence(schedule.recurrence);
  assertAlignment(schedule.alignment);
  const expectedAnchorMs =
    schedule.alignment === 'anniversary'
      ? startedAtMs
      : firstAlignedAtOrAfterMs(startedAtMs, schedule.recurrence.interval);
  if (anchorMs !== expectedAnchorMs) {
    throw new RangeError(
      `inconsistent schedule: ${schedule.alignment} schedule started ${schedule.startedAt} must be anchored ` +
        `at ${formatInstant(expectedAnchorMs)}, not ${schedule.anchor}`,
    );
  }
  return { anchorMs, startedAtMs, recurrence: schedule.recurrence, hasStub: anchorMs !== startedAtMs };
}

function periodOfParsed(parsed: ParsedSchedule, index: number): BillingPeriod {
  let startMs: number;
  let endMs: number;
  if (!parsed.hasStub) {
    startMs = boundaryMs(parsed.anchorMs, parsed.recurrence, index);
    endMs = boundaryMs(parsed.anchorMs, parsed.recurrence, index + 1);
  } else if (index === 0) {
    startMs = parsed.startedAtMs;
    endMs = parsed.anchorMs;
  } else {
    startMs = boundaryMs(parsed.anchorMs, parsed.recurrence, index - 1);
    endMs = boundaryMs(parsed.anchorMs, parsed.recurrence, index);
  }
  if (!(startMs < endMs)) throw new Error(`period ${index} is empty or reversed`);
  return { index, start: formatInstant(startMs), end: formatInstant(endMs) };
}

function boundaryMs(anchorMs: number, recurrence: Recurrence, n: number): number {
  const { interval, intervalCount } = recurrence;
  let ms: number;
  switch (interval) {
    case 'day':
      // UTC has no DST and JS time has no leap seconds, so a day is always exactly 86_400_000 ms.
      ms = anchorMs + n * intervalCount * MS_PER_DAY;
      break;
    case 'week':
      ms = anchorMs + n * intervalCount * MS_PER_WEEK;
      break;
    case 'month':
      ms = addMonthsClampedMs(anchorMs, n * intervalCount);
      break;
    case 'year':
      ms = addMonthsClampedMs(anchorMs, n * intervalCount * MONTHS_PER_YEAR);
      break;
  }
  if (!Number.isSafeInteger(ms) || ms > MAX_INSTANT_MS) {
    throw new RangeError(
      `boundary ${n} of an every-${intervalCount}-${interval} schedule is after year ${MAX_YEAR}`,
    );
  }
  return ms;
}

/**
 * anchor + months, computed from the anchor (never chained from the previous boundary, which would let
 * Jan 31 → Feb 29 → Mar 29 drift) and clamped to the target month's last day, keeping the time of day.
 */
function addMonthsClampedMs(anchorMs: number, months: number): number {
  const anchor = new Date(anchorMs);
  const totalMonths = anchor.getUTCFullYear() * MONTHS_PER_YEAR + anchor.getUTCMonth() + months;
  const year = Math.floor(totalMonths / MONTHS_PER_YEAR);
  if (year > MAX_YEAR) return Number.POSITIVE_INFINITY; // Reported by the caller's range check.
  const month = totalMonths - year * MONTHS_PER_YEAR;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  const timeOfDayMs = anchorMs - Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth(), anchor.getUTCDate());
  return Date.UTC(year, month, day) + timeOfDayMs;
}

/** month is 0-based as in Date.UTC. */
function daysInMonth(year: number, month: number): number {
  // Day 0 of the next month is the last day of this one; Date.UTC applies the Gregorian leap rule.
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

function firstAlignedAtOrAfterMs(ms: number, interval: BillingInterval): number {
  const dayStartMs = floorToMultiple(ms, MS_PER_DAY);
  const nextMidnightMs = dayStartMs === ms ? ms : dayStartMs + MS_PER_DAY;
  const date = new Date(ms);
  switch (interval) {
    case 'day':
      return nextMidnightMs;
    case 'week': {
      const weekday = floorMod(nextMidnightMs / MS_PER_DAY + EPOCH_DAY_WEEKDAY_FROM_MONDAY, 7);
      return nextMidnightMs + floorMod(7 - weekday, 7) * MS_PER_DAY;
    }
    case 'month': {
      const monthStartMs = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
      return monthStartMs === ms ? ms : Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    }
    case 'year': {
      const yearStartMs = Date.UTC(date.getUTCFullYear(), 0, 1);
      return yearStartMs === ms ? ms : Date.UTC(date.getUTCFullYear() + 1, 0, 1);
    }
  }
}

/** First guess of the anchor-relative cycle containing atMs (atMs >= anchorMs); periodAt corrects it. */
function estimateCycle(parsed: ParsedSchedule, atMs: number): number {
  const { interval, intervalCount } = parsed.recurrence;
  switch (interval) {
    case 'day':
      return Math.floor((atMs - parsed.anchorMs) / (intervalCount * MS_PER_DAY));
    case 'week':
      return Math.floor((atMs - parsed.anchorMs) / (intervalCount * MS_PER_WEEK));
    case 'month':
    case 'year': {
      const stepMonths = interval === 'year' ? intervalCount * MONTHS_PER_YEAR : intervalCount;
      return Math.floor(monthsBetween(parsed.anchorMs, atMs) / stepMonths);
    }
  }
}

function monthsBetween(fromMs: number, toMs: number): number {
  const from = new Date(fromMs);
  const to = new Date(toMs);
  return (
    (to.getUTCFullYear() - from.getUTCFullYear()) * MONTHS_PER_YEAR + (to.getUTCMonth() - from.getUTCMonth())
  );
}

function floorToMultiple(value: number, unit: number): number {
  return value - floorMod(value, unit);
}

function floorMod(value: number, modulus: number): number {
  return ((value % modulus) + modulus) % modulus;
}

function assertInstantInRange(ms: number, what: string): void {
  if (!Number.isSafeInteger(ms) || ms < MIN_INSTANT_MS || ms > MAX_INSTANT_MS) {
    throw new RangeError(`instant ${what} is outside the supported years ${MIN_YEAR}..${MAX_YEAR}`);
  }
}

function assertIndex(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be an integer >= 0, got ${String(n)}`);
  }
}

function assertRecurrence(recurrence: Recurrence): void {
  if (typeof recurrence !== 'object' || recurrence === null) {
    throw new RangeError(`recurrence must be an object, got ${String(recurrence)}`);
  }
  const { interval, intervalCount } = recurrence;
  if (!(BILLING_INTERVALS as readonly unknown[]).includes(interval)) {
    throw new RangeError(
      `recurrence.interval must be one of ${BILLING_INTERVALS.join(', ')}, got ${JSON.stringify(interval)}`,
    );
  }
  const max = MAX_INTERVAL_COUNT[interval];
  if (!Number.isInteger(intervalCount) || intervalCount < 1 || intervalCount > max) {
    throw new RangeError(
      `recurrence.intervalCount for '${interval}' must be an integer 1..${max}, got ${String(intervalCount)}`,
    );
  }
}

function assertAlignment(alignment: BillingAlignment): void {
  if (!BILLING_ALIGNMENTS.includes(alignment)) {
    throw new RangeError(
      `alignment must be one of ${BILLING_ALIGNMENTS.join(', ')}, got ${JSON.stringify(alignment)}`,
    );
  }
}
