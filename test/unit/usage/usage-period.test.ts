import fc from 'fast-check';
import { describeUsagePeriod, usagePeriodOf } from '../../../src/domain/usage/usage-period';

// Rollups are hourly, so a billing period [s, e) bills the usage of [floor_hour(s), floor_hour(e)).

describe('the usage period of a billing period', () => {
  it('is the period itself when it starts and ends on whole hours', () => {
    expect(usagePeriodOf({ start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' })).toEqual({
      start: '2026-03-01T00:00:00.000Z',
      end: '2026-04-01T00:00:00.000Z',
    });
  });

  it('floors both ends to the hour for an anniversary at 09:30: [09:00, 09:00)', () => {
    // Events between 09:00 and 09:30 on Mar 31 belong to the next period's usage (floor of its start).
    expect(usagePeriodOf({ start: '2026-03-01T09:30:00.000Z', end: '2026-03-31T09:30:00.000Z' })).toEqual({
      start: '2026-03-01T09:00:00.000Z',
      end: '2026-03-31T09:00:00.000Z',
    });
  });

  it('is empty when a partial period lies inside one hour (cancelled 20 minutes after it started)', () => {
    const usage = usagePeriodOf({ start: '2026-03-01T09:30:00.000Z', end: '2026-03-01T09:50:00.000Z' });
    expect(usage.start).toBe(usage.end);
  });

  it('rejects a period that ends before it starts', () => {
    expect(() =>
      usagePeriodOf({ start: '2026-03-02T00:00:00.000Z', end: '2026-03-01T00:00:00.000Z' }),
    ).toThrow(RangeError);
  });

  it('reads as dates for midnight periods and as UTC hours otherwise', () => {
    expect(describeUsagePeriod({ start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' })).toBe(
      '2026-03-01 – 2026-04-01',
    );
    expect(describeUsagePeriod({ start: '2026-03-01T09:00:00.000Z', end: '2026-03-31T09:00:00.000Z' })).toBe(
      '2026-03-01 09:00 – 2026-03-31 09:00 UTC',
    );
  });

  it('tiles time: consecutive periods bill every event hour exactly once', () => {
    const hour = 3_600_000;
    const base = Date.parse('2026-01-01T00:00:00.000Z');
    fc.assert(
      fc.property(
        // Strictly increasing boundaries at arbitrary milliseconds, and an event instant among them.
        fc.array(fc.integer({ min: 1, max: 40 * 86_400_000 }), { minLength: 2, maxLength: 12 }),
        fc.integer({ min: 0, max: 1_000 }),
        (gaps, pick) => {
          const boundaries = gaps.reduce<number[]>(
            (acc, gap) => [...acc, (acc.at(-1) ?? base) + gap],
            [base],
          );
          const periods = boundaries.slice(1).map((end, i) =>
            usagePeriodOf({
              start: new Date(boundaries[i] ?? base).toISOString(),
              end: new Date(end).toISOString(),
            }),
          );
          const first = Date.parse(periods[0]?.start ?? '');
          const last = Date.parse(periods.at(-1)?.end ?? '');
          const span = Math.max(last - first, 1);
          const event = first + Math.floor((span * pick) / 1_001);
          const bucket = Math.floor(event / hour) * hour;
          const containing = periods.filter(
            (p) => Date.parse(p.start) <= bucket && bucket < Date.parse(p.end),
          );
          return last === first || containing.length === 1;
        },
      ),
    );
  });
});
