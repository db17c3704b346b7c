import fc from 'fast-check';

import {
  BILLING_INTERVALS,
  type BillingAlignment,
  type BillingInterval,
  type BillingSchedule,
  type Recurrence,
  billingBoundary,
  createSchedule,
  formatInstant,
  parseInstantMs,
  periodAt,
  periodOf,
  periodSeconds,
} from '../../../src/domain/calendar';

const MS_PER_DAY = 86_400_000;
const MS_PER_WEEK = 7 * MS_PER_DAY;
const MAX_COUNT: Record<BillingInterval, number> = { day: 365, week: 52, month: 12, year: 5 };

const monthly: Recurrence = { interval: 'month', intervalCount: 1 };
const yearly: Recurrence = { interval: 'year', intervalCount: 1 };

/** Boundaries 0..count-1, for tables that list a whole run of them. */
function boundaries(anchor: string, recurrence: Recurrence, count: number): string[] {
  return Array.from({ length: count }, (_, n) => billingBoundary(anchor, recurrence, n));
}

describe('billingBoundary: month and year clamping (computed from the anchor, never chained)', () => {
  test('anchor 2024-01-31 monthly clamps to each month end and returns to the 31st when it can', () => {
    expect(boundaries('2024-01-31T10:00:00.000Z', monthly, 15)).toEqual([
      '2024-01-31T10:00:00.000Z',
      '2024-02-29T10:00:00.000Z', // leap February
      '2024-03-31T10:00:00.000Z', // back to 31: not chained from Feb 29
      '2024-04-30T10:00:00.000Z',
      '2024-05-31T10:00:00.000Z',
      '2024-06-30T10:00:00.000Z',
      '2024-07-31T10:00:00.000Z',
      '2024-08-31T10:00:00.000Z',
      '2024-09-30T10:00:00.000Z',
      '2024-10-31T10:00:00.000Z',
      '2024-11-30T10:00:00.000Z',
      '2024-12-31T10:00:00.000Z',
      '2025-01-31T10:00:00.000Z', // Dec → Jan rollover
      '2025-02-28T10:00:00.000Z', // common-year February
      '2025-03-31T10:00:00.000Z',
    ]);
  });

  test.each<[string, string, Recurrence, number, string]>([
    ['common-year February', '2023-01-31T00:00:00.000Z', monthly, 1, '2023-02-28T00:00:00.000Z'],
    ['Jan 30 → leap Feb 29', '2024-01-30T08:15:00.000Z', monthly, 1, '2024-02-29T08:15:00.000Z'],
    [
      'Jan 30 → Mar 30 (anchor day again)',
      '2024-01-30T08:15:00.000Z',
      monthly,
      2,
      '2024-03-30T08:15:00.000Z',
    ],
    ['Jan 29 in a leap year fits Feb', '2024-01-29T00:00:00.000Z', monthly, 1, '2024-02-29T00:00:00.000Z'],
    ['Jan 29 in a common year clamps', '2023-01-29T00:00:00.000Z', monthly, 1, '2023-02-28T00:00:00.000Z'],
    ['days <= 28 never clamp', '2023-01-28T00:00:00.000Z', monthly, 1, '2023-02-28T00:00:00.000Z'],
    ['May 31 → Jun 30', '2024-05-31T00:00:00.000Z', monthly, 1, '2024-06-30T00:00:00.000Z'],
    // Leap-year rule: divisible by 4, except centuries, except every 400 years.
    ['2000 is a leap year (÷400)', '2000-01-31T00:00:00.000Z', monthly, 1, '2000-02-29T00:00:00.000Z'],
    ['1900 is not (century)', '1900-01-31T00:00:00.000Z', monthly, 1, '1900-02-28T00:00:00.000Z'],
    ['2100 is not (century)', '2100-01-31T00:00:00.000Z', monthly, 1, '2100-02-28T00:00:00.000Z'],
    ['2096 is', '2096-01-31T00:00:00.000Z', monthly, 1, '2096-02-29T00:00:00.000Z'],
    ['2400 is (÷400)', '2400-01-31T00:00:00.000Z', monthly, 1, '2400-02-29T00:00:00.000Z'],
    // Dec → Jan rollover keeps the time of day to the millisecond.
    ['Dec 31 → Jan 31', '2024-12-31T23:59:59.999Z', monthly, 1, '2025-01-31T23:59:59.999Z'],
    ['Dec 31 → Feb 28 next year', '2024-12-31T23:59:59.999Z', monthly, 2, '2025-02-28T23:59:59.999Z'],
    ['Dec 15 → Jan 15', '1999-12-15T12:00:00.000Z', monthly, 1, '2000-01-15T12:00:00.000Z'],
    [
      'Nov 30 bimonthly → Jan 30',
      '2024-11-30T00:00:00.000Z',
      { interval: 'month', intervalCount: 2 },
      1,
      '2025-01-30T00:00:00.000Z',
    ],
    // Quarters (intervalCount 3).
    [
      'Mar 31 quarterly → Jun 30',
      '2024-03-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      1,
      '2024-06-30T00:00:00.000Z',
    ],
    [
      'Mar 31 quarterly → Sep 30',
      '2024-03-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      2,
      '2024-09-30T00:00:00.000Z',
    ],
    [
      'Mar 31 quarterly → Dec 31',
      '2024-03-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      3,
      '2024-12-31T00:00:00.000Z',
    ],
    [
      'Mar 31 quarterly → Mar 31',
      '2024-03-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      4,
      '2025-03-31T00:00:00.000Z',
    ],
    [
      'Nov 30 quarterly → Feb 28',
      '2024-11-30T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      1,
      '2025-02-28T00:00:00.000Z',
    ],
    [
      'Nov 30 quarterly → May 30',
      '2024-11-30T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      2,
      '2025-05-30T00:00:00.000Z',
    ],
    // Half years (intervalCount 6).
    [
      'Aug 31 half-yearly → Feb 28',
      '2024-08-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 6 },
      1,
      '2025-02-28T00:00:00.000Z',
    ],
    [
      'Aug 31 half-yearly → Aug 31',
      '2024-08-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 6 },
      2,
      '2025-08-31T00:00:00.000Z',
    ],
    [
      'Aug 31 half-yearly → leap Feb 29',
      '2023-08-31T00:00:00.000Z',
      { interval: 'month', intervalCount: 6 },
      1,
      '2024-02-29T00:00:00.000Z',
    ],
    // 12 months is a year.
    [
      'Feb 29 every 12 months → Feb 28',
      '2024-02-29T00:00:00.000Z',
      { interval: 'month', intervalCount: 12 },
      1,
      '2025-02-28T00:00:00.000Z',
    ],
    // Years.
    ['Feb 29 yearly → 2025-02-28', '2024-02-29T06:30:00.000Z', yearly, 1, '2025-02-28T06:30:00.000Z'],
    ['Feb 29 yearly → 2026-02-28', '2024-02-29T06:30:00.000Z', yearly, 2, '2026-02-28T06:30:00.000Z'],
    ['Feb 29 yearly → 2027-02-28', '2024-02-29T06:30:00.000Z', yearly, 3, '2027-02-28T06:30:00.000Z'],
    [
      'Feb 29 yearly → 2028-02-29 (restored)',
      '2024-02-29T06:30:00.000Z',
      yearly,
      4,
      '2028-02-29T06:30:00.000Z',
    ],
    [
      'Feb 29 every 4 years skips 2100',
      '2096-02-29T00:00:00.000Z',
      { interval: 'year', intervalCount: 4 },
      1,
      '2100-02-28T00:00:00.000Z',
    ],
    [
      'Feb 29 every 4 years, 2100 → 2104',
      '2096-02-29T00:00:00.000Z',
      { interval: 'year', intervalCount: 4 },
      2,
      '2104-02-29T00:00:00.000Z',
    ],
    [
      'Feb 29 every 4 years keeps 2000',
      '1996-02-29T00:00:00.000Z',
      { interval: 'year', intervalCount: 4 },
      1,
      '2000-02-29T00:00:00.000Z',
    ],
    [
      'Feb 29 every 4 years from 1896 clamps in 1900',
      '1896-02-29T00:00:00.000Z',
      { interval: 'year', intervalCount: 4 },
      1,
      '1900-02-28T00:00:00.000Z',
    ],
    [
      'Dec 31 every 5 years',
      '2024-12-31T00:00:00.000Z',
      { interval: 'year', intervalCount: 5 },
      2,
      '2034-12-31T00:00:00.000Z',
    ],
    ['boundary 0 is the anchor', '2024-01-31T10:00:00.123Z', yearly, 0, '2024-01-31T10:00:00.123Z'],
  ])('%s', (_name, anchor, recurrence, n, expected) => {
    expect(billingBoundary(anchor, recurrence, n)).toBe(expected);
  });
});

describe('billingBoundary: day and week are exact multiples of 24 h / 7 d', () => {
  test.each<[string, string, Recurrence, number, string]>([
    [
      'daily across leap day',
      '2024-02-28T12:00:00.000Z',
      { interval: 'day', intervalCount: 1 },
      1,
      '2024-02-29T12:00:00.000Z',
    ],
    [
      'daily into March',
      '2024-02-28T12:00:00.000Z',
      { interval: 'day', intervalCount: 1 },
      2,
      '2024-03-01T12:00:00.000Z',
    ],
    [
      'daily across year end',
      '2024-12-31T23:30:00.000Z',
      { interval: 'day', intervalCount: 1 },
      1,
      '2025-01-01T23:30:00.000Z',
    ],
    // 365 days is not a year: 2024 is a leap year, so it ends on Dec 31.
    [
      '365 days in a leap year',
      '2024-01-01T00:00:00.000Z',
      { interval: 'day', intervalCount: 365 },
      1,
      '2024-12-31T00:00:00.000Z',
    ],
    [
      'every 10 days',
      '2024-01-25T00:00:00.000Z',
      { interval: 'day', intervalCount: 10 },
      3,
      '2024-02-24T00:00:00.000Z',
    ],
    [
      'weekly keeps the weekday',
      '2024-03-18T09:00:00.000Z',
      { interval: 'week', intervalCount: 1 },
      2,
      '2024-04-01T09:00:00.000Z',
    ],
    [
      'fortnightly',
      '2024-12-23T00:00:00.000Z',
      { interval: 'week', intervalCount: 2 },
      1,
      '2025-01-06T00:00:00.000Z',
    ],
    [
      '52 weeks is 364 days',
      '2024-01-01T00:00:00.000Z',
      { interval: 'week', intervalCount: 52 },
      1,
      '2024-12-30T00:00:00.000Z',
    ],
  ])('%s', (_name, anchor, recurrence, n, expected) => {
    expect(billingBoundary(anchor, recurrence, n)).toBe(expected);
  });
});

describe('anniversary schedule from 2024-01-31: twelve monthly cycles', () => {
  const schedule = createSchedule('2024-01-31T10:00:00.000Z', monthly, 'anniversary');

  test('is anchored at startedAt', () => {
    expect(schedule).toEqual({
      anchor: '2024-01-31T10:00:00.000Z',
      recurrence: monthly,
      alignment: 'anniversary',
      startedAt: '2024-01-31T10:00:00.000Z',
    });
  });

  test.each<[number, string, string, number]>([
    // index, start, end, days in the period
    [0, '2024-01-31T10:00:00.000Z', '2024-02-29T10:00:00.000Z', 29],
    [1, '2024-02-29T10:00:00.000Z', '2024-03-31T10:00:00.000Z', 31],
    [2, '2024-03-31T10:00:00.000Z', '2024-04-30T10:00:00.000Z', 30],
    [3, '2024-04-30T10:00:00.000Z', '2024-05-31T10:00:00.000Z', 31],
    [4, '2024-05-31T10:00:00.000Z', '2024-06-30T10:00:00.000Z', 30],
    [5, '2024-06-30T10:00:00.000Z', '2024-07-31T10:00:00.000Z', 31],
    [6, '2024-07-31T10:00:00.000Z', '2024-08-31T10:00:00.000Z', 31],
    [7, '2024-08-31T10:00:00.000Z', '2024-09-30T10:00:00.000Z', 30],
    [8, '2024-09-30T10:00:00.000Z', '2024-10-31T10:00:00.000Z', 31],
    [9, '2024-10-31T10:00:00.000Z', '2024-11-30T10:00:00.000Z', 30],
    [10, '2024-11-30T10:00:00.000Z', '2024-12-31T10:00:00.000Z', 31],
    [11, '2024-12-31T10:00:00.000Z', '2025-01-31T10:00:00.000Z', 31],
  ])('period %d is [%s, %s), %d days', (index, start, end, days) => {
    const period = periodOf(schedule, index);
    expect(period).toEqual({ index, start, end });
    expect(periodSeconds(period)).toBe(days * 86_400);
    expect(periodAt(schedule, start)).toEqual(period);
    expect(periodAt(schedule, formatInstant(parseInstantMs(end) - 1))).toEqual(period);
  });

  test('the twelve periods add up to the 366 days of 2024-01-31 → 2025-01-31', () => {
    const totalSeconds = Array.from({ length: 12 }, (_, i) => periodSeconds(periodOf(schedule, i))).reduce(
      (a, b) => a + b,
    );
    expect(totalSeconds).toBe(366 * 86_400);
  });

  test('periodAt where the first guess by month overshoots (Mar 30 lies before the Mar 31 boundary)', () => {
    expect(periodAt(schedule, '2024-03-30T12:00:00.000Z')).toEqual({
      index: 1,
      start: '2024-02-29T10:00:00.000Z',
      end: '2024-03-31T10:00:00.000Z',
    });
    expect(periodAt(schedule, '2024-03-31T09:59:59.999Z').index).toBe(1);
    expect(periodAt(schedule, '2024-03-31T10:00:00.000Z').index).toBe(2);
  });
});

describe('calendar alignment', () => {
  test('monthly from 2024-03-15T13:45: stub [Mar 15 13:45, Apr 1), then Apr 1 → May 1 → Jun 1', () => {
    const schedule = createSchedule('2024-03-15T13:45:00.000Z', monthly, 'calendar');
    expect(schedule.anchor).toBe('2024-04-01T00:00:00.000Z');
    expect(periodOf(schedule, 0)).toEqual({
      index: 0,
      start: '2024-03-15T13:45:00.000Z',
      end: '2024-04-01T00:00:00.000Z',
    });
    expect(periodOf(schedule, 1)).toEqual({
      index: 1,
      start: '2024-04-01T00:00:00.000Z',
      end: '2024-05-01T00:00:00.000Z',
    });
    expect(periodOf(schedule, 2)).toEqual({
      index: 2,
      start: '2024-05-01T00:00:00.000Z',
      end: '2024-06-01T00:00:00.000Z',
    });
    // Stub: 16 days + 10 h 15 min = 16 × 86400 + 36900 s.
    expect(periodSeconds(periodOf(schedule, 0))).toBe(1_419_300);
    expect(periodAt(schedule, '2024-03-15T13:45:00.000Z').index).toBe(0);
    expect(periodAt(schedule, '2024-03-31T23:59:59.999Z').index).toBe(0);
    expect(periodAt(schedule, '2024-04-01T00:00:00.000Z').index).toBe(1);
    expect(periodAt(schedule, '2024-05-31T23:59:59.999Z').index).toBe(2);
    expect(() => periodAt(schedule, '2024-03-15T13:44:59.999Z')).toThrow(RangeError);
  });

  test('monthly starting exactly on the 1st at 00:00: no stub', () => {
    const schedule = createSchedule('2024-04-01T00:00:00.000Z', monthly, 'calendar');
    expect(schedule.anchor).toBe('2024-04-01T00:00:00.000Z');
    expect(periodOf(schedule, 0)).toEqual({
      index: 0,
      start: '2024-04-01T00:00:00.000Z',
      end: '2024-05-01T00:00:00.000Z',
    });
    expect(periodOf(schedule, 1)).toEqual({
      index: 1,
      start: '2024-05-01T00:00:00.000Z',
      end: '2024-06-01T00:00:00.000Z',
    });
  });

  test.each<[string, string, Recurrence, string]>([
    [
      'one ms past the 1st makes a stub to the next 1st',
      '2024-04-01T00:00:00.001Z',
      monthly,
      '2024-05-01T00:00:00.000Z',
    ],
    ['December rolls over to Jan 1', '2024-12-15T00:00:00.000Z', monthly, '2025-01-01T00:00:00.000Z'],
    [
      'quarterly aligns to the next 1st, not the calendar quarter',
      '2024-02-15T00:00:00.000Z',
      { interval: 'month', intervalCount: 3 },
      '2024-03-01T00:00:00.000Z',
    ],
    ['yearly mid-year → next Jan 1', '2024-03-15T13:45:00.000Z', yearly, '2025-01-01T00:00:00.000Z'],
    ['yearly on Jan 1 00:00 → no stub', '2024-01-01T00:00:00.000Z', yearly, '2024-01-01T00:00:00.000Z'],
    ['yearly on Dec 31 23:59:59.999', '2024-12-31T23:59:59.999Z', yearly, '2025-01-01T00:00:00.000Z'],
    [
      'weekly from Friday 2024-03-15 → Monday 03-18',
      '2024-03-15T13:45:00.000Z',
      { interval: 'week', intervalCount: 1 },
      '2024-03-18T00:00:00.000Z',
    ],
    [
      'weekly from Sunday last ms → Monday',
      '2024-03-17T23:59:59.999Z',
      { interval: 'week', intervalCount: 1 },
      '2024-03-18T00:00:00.000Z',
    ],
    [
      'weekly on Monday 00:00 → no stub',
      '2024-03-18T00:00:00.000Z',
      { interval: 'week', intervalCount: 2 },
      '2024-03-18T00:00:00.000Z',
    ],
    [
      'weekly on Monday 00:00:00.001 → next Monday',
      '2024-03-18T00:00:00.001Z',
      { interval: 'week', intervalCount: 1 },
      '2024-03-25T00:00:00.000Z',
    ],
    [
      'weekly across a year end',
      '2024-12-31T10:00:00.000Z',
      { interval: 'week', intervalCount: 1 },
      '2025-01-06T00:00:00.000Z',
    ],
    [
      'weekly before 1970 (negative epoch)',
      '1969-12-31T00:00:00.000Z',
      { interval: 'week', intervalCount: 1 },
      '1970-01-05T00:00:00.000Z',
    ],
    [
      'daily mid-day → next midnight',
      '2024-02-29T06:00:00.000Z',
      { interval: 'day', intervalCount: 1 },
      '2024-03-01T00:00:00.000Z',
    ],
    [
      'daily at midnight → no stub',
      '2024-02-29T00:00:00.000Z',
      { interval: 'day', intervalCount: 7 },
      '2024-02-29T00:00:00.000Z',
    ],
  ])('%s', (_name, startedAt, recurrence, anchor) => {
    const schedule = createSchedule(startedAt, recurrence, 'calendar');
    expect(schedule.anchor).toBe(anchor);
    expect(periodOf(schedule, 0).start).toBe(startedAt);
    expect(periodOf(schedule, 0).end).toBe(
      startedAt === anchor ? billingBoundary(anchor, recurrence, 1) : anchor,
    );
  });

  test('anniversary alignment anchors at startedAt even mid-day', () => {
    const schedule = createSchedule('2024-03-15T13:45:00.000Z', monthly, 'anniversary');
    expect(schedule.anchor).toBe('2024-03-15T13:45:00.000Z');
    expect(periodOf(schedule, 0)).toEqual({
      index: 0,
      start: '2024-03-15T13:45:00.000Z',
      end: '2024-04-15T13:45:00.000Z',
    });
  });

  test('the schedule does not share the caller’s recurrence object', () => {
    const recurrence = { interval: 'month' as BillingInterval, intervalCount: 1 };
    const schedule = createSchedule('2024-03-15T13:45:00.000Z', recurrence, 'anniversary');
    recurrence.intervalCount = 2;
    expect(schedule.recurrence.intervalCount).toBe(1);
  });

  test('a schedule survives a JSON round trip (Temporal payloads)', () => {
    const schedule = createSchedule('2024-03-15T13:45:00.000Z', monthly, 'calendar');
    const revived = JSON.parse(JSON.stringify(schedule)) as BillingSchedule;
    expect(periodOf(revived, 3)).toEqual(periodOf(schedule, 3));
  });
});

describe('periodSeconds', () => {
  test.each<[string, string, number]>([
    ['2024-04-01T00:00:00.000Z', '2024-05-01T00:00:00.000Z', 30 * 86_400],
    ['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', 29 * 86_400],
    ['2024-03-15T13:45:00.000Z', '2024-04-01T00:00:00.000Z', 1_419_300],
    ['2024-01-01T00:00:00.000Z', '2024-01-01T00:00:01.000Z', 1],
    // A stub that starts mid-second: its started second counts as a whole one.
    ['2024-03-31T23:59:59.500Z', '2024-04-01T00:00:00.000Z', 1],
    ['2024-03-31T23:59:58.999Z', '2024-04-01T00:00:00.000Z', 2],
  ])('[%s, %s) is %d s', (start, end, seconds) => {
    expect(periodSeconds({ index: 0, start, end })).toBe(seconds);
  });

  test('an empty or reversed period is a programmer error', () => {
    const t = '2024-04-01T00:00:00.000Z';
    expect(() => periodSeconds({ index: 0, start: t, end: t })).toThrow(RangeError);
    expect(() => periodSeconds({ index: 0, start: '2024-05-01T00:00:00.000Z', end: t })).toThrow(RangeError);
  });
});

describe('programmer errors throw RangeError with a clear message', () => {
  test.each([
    '2024-01-31',
    '2024-01-31T10:00:00Z', // no milliseconds: would not compare equal to its canonical form as a string
    '2024-01-31T10:00:00.000+00:00',
    '2024-01-31 10:00:00.000Z',
    '2024-01-31t10:00:00.000z',
    '+012024-01-31T10:00:00.000Z',
    ' 2024-01-31T10:00:00.000Z',
    '',
  ])('not a canonical ISO UTC instant: %j', (iso) => {
    expect(() => billingBoundary(iso, monthly, 0)).toThrow(RangeError);
    expect(() => billingBoundary(iso, monthly, 0)).toThrow(/expected an ISO-8601 UTC instant/);
  });

  test.each([
    '2024-02-30T00:00:00.000Z',
    '2023-02-29T00:00:00.000Z',
    '2024-01-31T24:00:00.000Z',
    '2024-13-01T00:00:00.000Z',
  ])('impossible calendar fields: %s', (iso) => {
    expect(() => createSchedule(iso, monthly, 'anniversary')).toThrow(/not a valid calendar instant/);
  });

  test('years outside 1000..9999', () => {
    expect(() => parseInstantMs('0999-12-31T00:00:00.000Z')).toThrow(
      /outside the supported years 1000..9999/,
    );
    expect(parseInstantMs('1000-01-01T00:00:00.000Z')).toBe(Date.UTC(1000, 0, 1));
    expect(() => billingBoundary('9999-06-30T00:00:00.000Z', monthly, 12)).toThrow(/after year 9999/);
    expect(() => createSchedule('9999-06-30T00:00:00.000Z', yearly, 'calendar')).toThrow(RangeError);
    expect(billingBoundary('9999-06-30T00:00:00.000Z', monthly, 6)).toBe('9999-12-30T00:00:00.000Z');
  });

  test.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])('boundary n = %p', (n) => {
    expect(() => billingBoundary('2024-01-31T00:00:00.000Z', monthly, n)).toThrow(
      /boundary n must be an integer >= 0/,
    );
  });

  test('an n large enough to overflow the calendar', () => {
    expect(() => billingBoundary('2024-01-31T00:00:00.000Z', monthly, Number.MAX_SAFE_INTEGER)).toThrow(
      RangeError,
    );
    expect(() =>
      billingBoundary('2024-01-31T00:00:00.000Z', { interval: 'day', intervalCount: 365 }, 1e9),
    ).toThrow(RangeError);
  });

  test.each<[string, unknown]>([
    ['day', 0],
    ['day', 366],
    ['week', 53],
    ['month', 13],
    ['year', 6],
    ['month', 1.5],
    ['month', -1],
    ['month', Number.NaN],
    ['month', '1'],
  ])('intervalCount for %s = %p', (interval, intervalCount) => {
    const recurrence = { interval, intervalCount } as Recurrence;
    expect(() => billingBoundary('2024-01-31T00:00:00.000Z', recurrence, 1)).toThrow(
      /intervalCount .* must be an integer 1\.\./,
    );
  });

  test('intervalCount upper bounds are accepted', () => {
    for (const interval of BILLING_INTERVALS) {
      expect(() =>
        billingBoundary('2024-01-31T00:00:00.000Z', { interval, intervalCount: MAX_COUNT[interval] }, 1),
      ).not.toThrow();
    }
  });

  test('unknown interval and alignment', () => {
    const quarter = { interval: 'quarter', intervalCount: 1 } as unknown as Recurrence;
    expect(() => billingBoundary('2024-01-31T00:00:00.000Z', quarter, 1)).toThrow(
      /interval must be one of day, week, month, year/,
    );
    expect(() => createSchedule('2024-01-31T00:00:00.000Z', monthly, 'fiscal' as BillingAlignment)).toThrow(
      /alignment must be one of anniversary, calendar/,
    );
  });

  test('period index', () => {
    const schedule = createSchedule('2024-01-31T00:00:00.000Z', monthly, 'anniversary');
    expect(() => periodOf(schedule, -1)).toThrow(/period index must be an integer >= 0/);
    expect(() => periodOf(schedule, 0.5)).toThrow(RangeError);
  });

  test('a schedule whose anchor was tampered with is rejected on read', () => {
    const schedule = createSchedule('2024-03-15T13:45:00.000Z', monthly, 'calendar');
    expect(() => periodOf({ ...schedule, anchor: '2024-05-01T00:00:00.000Z' }, 0)).toThrow(
      /inconsistent schedule/,
    );
    expect(() => periodAt({ ...schedule, alignment: 'anniversary' }, '2024-04-02T00:00:00.000Z')).toThrow(
      /inconsistent schedule/,
    );
  });
});

// ----------------------------------------------------------------------------------------------------------
// Properties

const MIN_ANCHOR_MS = Date.UTC(1970, 0, 1);
const MAX_ANCHOR_MS = Date.UTC(2200, 11, 31, 23, 59, 59, 999);

/** Anchors uniform over 1970–2200, plus a share on days 28–31 where clamping happens. */
const anchorArb: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: MIN_ANCHOR_MS, max: MAX_ANCHOR_MS }).map(formatInstant),
  fc
    .record({
      year: fc.integer({ min: 1970, max: 2200 }),
      month: fc.integer({ min: 0, max: 11 }),
      day: fc.integer({ min: 28, max: 31 }),
      timeOfDayMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: MS_PER_DAY - 1 })),
    })
    .map(({ year, month, day, timeOfDayMs }) => {
      const clampedDay = Math.min(day, daysInMonth(year, month));
      return formatInstant(Date.UTC(year, month, clampedDay) + timeOfDayMs);
    }),
);

const recurrenceArb: fc.Arbitrary<Recurrence> = fc
  .constantFrom(...BILLING_INTERVALS)
  .chain((interval) =>
    fc
      .integer({ min: 1, max: MAX_COUNT[interval] })
      .map((intervalCount): Recurrence => ({ interval, intervalCount })),
  );

const alignmentArb = fc.constantFrom<BillingAlignment>('anniversary', 'calendar');
const indexArb = fc.integer({ min: 0, max: 500 });

const scheduleArb: fc.Arbitrary<BillingSchedule> = fc
  .tuple(anchorArb, recurrenceArb, alignmentArb)
  .map(([startedAt, recurrence, alignment]) => createSchedule(startedAt, recurrence, alignment));

function daysInMonth(year: number, month: number): number {
  // Written independently of the implementation: the Gregorian rule spelled out.
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month]!;
}

describe('properties', () => {
  test('periods tile time: start < end and period i ends where period i + 1 starts', () => {
    fc.assert(
      fc.property(scheduleArb, indexArb, (schedule, i) => {
        const current = periodOf(schedule, i);
        const next = periodOf(schedule, i + 1);
        expect(current.index).toBe(i);
        expect(parseInstantMs(current.start)).toBeLessThan(parseInstantMs(current.end));
        expect(current.end).toBe(next.start);
      }),
    );
  });

  test('periods tile time from the first period onwards (consecutive walk over indices 0..500)', () => {
    fc.assert(
      fc.property(scheduleArb, (schedule) => {
        let previous = periodOf(schedule, 0);
        expect(previous.start).toBe(schedule.startedAt);
        for (let i = 1; i <= 500; i++) {
          const current = periodOf(schedule, i);
          expect(current.start).toBe(previous.end);
          expect(current.start < current.end).toBe(true); // canonical strings sort chronologically
          previous = current;
        }
      }),
      { numRuns: 25 },
    );
  });

  test('periodAt(start of period i) and periodAt(end of period i − 1 ms) are period i', () => {
    fc.assert(
      fc.property(scheduleArb, indexArb, (schedule, i) => {
        const period = periodOf(schedule, i);
        expect(periodAt(schedule, period.start)).toEqual(period);
        expect(periodAt(schedule, formatInstant(parseInstantMs(period.end) - 1))).toEqual(period);
      }),
    );
  });

  test('periodAt(any instant at or after startedAt) has start <= at < end', () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 0, max: 300 * 366 * MS_PER_DAY }), (schedule, offsetMs) => {
        const atMs = parseInstantMs(schedule.startedAt) + offsetMs;
        const period = periodAt(schedule, formatInstant(atMs));
        expect(parseInstantMs(period.start)).toBeLessThanOrEqual(atMs);
        expect(atMs).toBeLessThan(parseInstantMs(period.end));
        expect(periodOf(schedule, period.index)).toEqual(period);
      }),
    );
  });

  test('periodAt before startedAt throws RangeError', () => {
    fc.assert(
      fc.property(scheduleArb, fc.integer({ min: 1, max: 10 * MS_PER_DAY }), (schedule, beforeMs) => {
        const at = formatInstant(parseInstantMs(schedule.startedAt) - beforeMs);
        expect(() => periodAt(schedule, at)).toThrow(RangeError);
      }),
    );
  });

  test('boundaries are strictly increasing', () => {
    fc.assert(
      fc.property(anchorArb, recurrenceArb, indexArb, (anchor, recurrence, n) => {
        const here = parseInstantMs(billingBoundary(anchor, recurrence, n));
        const next = parseInstantMs(billingBoundary(anchor, recurrence, n + 1));
        expect(here).toBeLessThan(next);
      }),
    );
  });

  test('month and year boundaries land on min(anchor day, days in month) at the anchor’s time of day', () => {
    const monthlyArb = fc.oneof(
      fc
        .integer({ min: 1, max: 12 })
        .map((intervalCount): Recurrence => ({ interval: 'month', intervalCount })),
      fc
        .integer({ min: 1, max: 5 })
        .map((intervalCount): Recurrence => ({ interval: 'year', intervalCount })),
    );
    fc.assert(
      fc.property(anchorArb, monthlyArb, indexArb, (anchor, recurrence, n) => {
        const a = new Date(parseInstantMs(anchor));
        const b = new Date(parseInstantMs(billingBoundary(anchor, recurrence, n)));
        const stepMonths =
          recurrence.interval === 'year' ? 12 * recurrence.intervalCount : recurrence.intervalCount;
        const targetMonths = a.getUTCFullYear() * 12 + a.getUTCMonth() + n * stepMonths;
        const year = Math.floor(targetMonths / 12);
        const month = targetMonths % 12;
        expect(b.getUTCFullYear()).toBe(year);
        expect(b.getUTCMonth()).toBe(month);
        expect(b.getUTCDate()).toBe(Math.min(a.getUTCDate(), daysInMonth(year, month)));
        expect(b.getTime() % MS_PER_DAY).toBe(a.getTime() % MS_PER_DAY);
      }),
    );
  });

  test('day and week boundaries are exact multiples of 86 400 000 / 604 800 000 ms', () => {
    const exactArb = fc.oneof(
      fc
        .integer({ min: 1, max: 365 })
        .map((intervalCount): Recurrence => ({ interval: 'day', intervalCount })),
      fc
        .integer({ min: 1, max: 52 })
        .map((intervalCount): Recurrence => ({ interval: 'week', intervalCount })),
    );
    fc.assert(
      fc.property(anchorArb, exactArb, indexArb, (anchor, recurrence, n) => {
        const unitMs = recurrence.interval === 'day' ? MS_PER_DAY : MS_PER_WEEK;
        expect(parseInstantMs(billingBoundary(anchor, recurrence, n)) - parseInstantMs(anchor)).toBe(
          n * recurrence.intervalCount * unitMs,
        );
      }),
    );
  });

  test('calendar anchors are aligned, at or after startedAt, and less than one interval unit later', () => {
    fc.assert(
      fc.property(anchorArb, recurrenceArb, (startedAt, recurrence) => {
        const schedule = createSchedule(startedAt, recurrence, 'calendar');
        const startedAtMs = parseInstantMs(startedAt);
        const anchorMs = parseInstantMs(schedule.anchor);
        const anchor = new Date(anchorMs);
        expect(anchorMs).toBeGreaterThanOrEqual(startedAtMs);
        expect(anchorMs % MS_PER_DAY).toBe(0); // 00:00:00.000 UTC
        switch (recurrence.interval) {
          case 'day':
            expect(anchorMs - startedAtMs).toBeLessThan(MS_PER_DAY);
            break;
          case 'week':
            expect(anchor.getUTCDay()).toBe(1); // Monday
            expect(anchorMs - startedAtMs).toBeLessThan(MS_PER_WEEK);
            break;
          case 'month':
            expect(anchor.getUTCDate()).toBe(1);
            expect(anchorMs - startedAtMs).toBeLessThanOrEqual(31 * MS_PER_DAY);
            break;
          case 'year':
            expect([anchor.getUTCMonth(), anchor.getUTCDate()]).toEqual([0, 1]);
            expect(anchorMs - startedAtMs).toBeLessThanOrEqual(366 * MS_PER_DAY);
            break;
        }
        // Already aligned ⇔ no stub: period 0 is then a full cycle.
        const period0 = periodOf(schedule, 0);
        expect(period0.end).toBe(
          anchorMs === startedAtMs ? billingBoundary(schedule.anchor, recurrence, 1) : schedule.anchor,
        );
      }),
    );
  });

  test('every 12 months and every year give the same boundaries', () => {
    fc.assert(
      fc.property(anchorArb, fc.integer({ min: 0, max: 300 }), (anchor, n) => {
        expect(billingBoundary(anchor, { interval: 'month', intervalCount: 12 }, n)).toBe(
          billingBoundary(anchor, yearly, n),
        );
      }),
    );
  });

  test('ISO strings round-trip through parseInstantMs/formatInstant', () => {
    fc.assert(
      fc.property(anchorArb, (iso) => {
        expect(formatInstant(parseInstantMs(iso))).toBe(iso);
      }),
    );
  });
});
