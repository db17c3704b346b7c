import fc from 'fast-check';

import {
  BILLING_INTERVALS,
  type BillingPeriod,
  type Recurrence,
  createSchedule,
  formatInstant,
  parseInstantMs,
  periodOf,
} from '../../../src/domain/calendar';
import { type ProrationGranularity, type ProrationInput, prorate } from '../../../src/domain/proration';
import { divideRounded, ROUNDING_MODES, type RoundingMode } from '../../../src/domain/rounding';

const MS_PER_DAY = 86_400_000;

// April 2024: 30 days = 2 592 000 s.
const april: BillingPeriod = { index: 3, start: '2024-04-01T00:00:00.000Z', end: '2024-05-01T00:00:00.000Z' };

function input(overrides: Partial<ProrationInput>): ProrationInput {
  return {
    period: april,
    changeAt: '2024-04-11T00:00:00.000Z',
    oldAmountMinor: 3000,
    newAmountMinor: 6000,
    granularity: 'day',
    ...overrides,
  };
}

describe('prorate: worked examples', () => {
  test('upgrade $30 → $60 after 10 days of a 30-day period: 20 days unused', () => {
    // Apr 1..10 used, Apr 11..30 unused = 20 of 30 days.
    // credit = -3000 × 20/30 = -2000; charge = 6000 × 20/30 = 4000; net = 2000.
    expect(prorate(input({}))).toEqual({
      unusedFraction: { numerator: 20, denominator: 30 },
      creditMinor: -2000,
      chargeMinor: 4000,
      netMinor: 2000,
    });
  });

  test('the same change counted per second gives the same amounts', () => {
    // 20 × 86 400 = 1 728 000 of 30 × 86 400 = 2 592 000 s; same 2/3.
    expect(prorate(input({ granularity: 'second' }))).toEqual({
      unusedFraction: { numerator: 1_728_000, denominator: 2_592_000 },
      creditMinor: -2000,
      chargeMinor: 4000,
      netMinor: 2000,
    });
  });

  test('day granularity: a change during a day leaves that day with the old plan', () => {
    // Change Apr 11 15:30: Apr 11 counts as used, Apr 12..30 = 19 days unused.
    // credit = -3000 × 19/30 = -1900; charge = 6000 × 19/30 = 3800; net = 1900.
    expect(prorate(input({ changeAt: '2024-04-11T15:30:00.000Z' }))).toEqual({
      unusedFraction: { numerator: 19, denominator: 30 },
      creditMinor: -1900,
      chargeMinor: 3800,
      netMinor: 1900,
    });
    // At Apr 10 23:59:59.999, Apr 10 has begun and is used; Apr 11..30 = 20 days unused.
    expect(prorate(input({ changeAt: '2024-04-10T23:59:59.999Z' })).unusedFraction.numerator).toBe(20);
  });

  test('per second at an odd instant: $29.99 → $49.99 at Apr 17 13:27:41.250', () => {
    // Remaining: Apr 17 13:27:41.250 → May 1 00:00 = 13 d 10 h 32 min 18.75 s; the begun second is used,
    // so 13 × 86 400 + 10 × 3600 + 32 × 60 + 18 = 1 161 138 s of 2 592 000 s.
    // credit = -2999 × 1 161 138 / 2 592 000 = -3 482 252 862 / 2 592 000 = -1343.4617… → -1343
    // charge =  4999 × 1 161 138 / 2 592 000 =  5 804 528 862 / 2 592 000 =  2239.4015… →  2239
    expect(
      prorate(
        input({
          changeAt: '2024-04-17T13:27:41.250Z',
          oldAmountMinor: 2999,
          newAmountMinor: 4999,
          granularity: 'second',
        }),
      ),
    ).toEqual({
      unusedFraction: { numerator: 1_161_138, denominator: 2_592_000 },
      creditMinor: -1343,
      chargeMinor: 2239,
      netMinor: 896,
    });
  });

  test('a tie where half_even and half_up differ: $9.99 → $19.99 with 5 of 30 days left', () => {
    // Change Apr 26 00:00: Apr 26..30 = 5 days unused.
    // credit = -999 × 5/30 = -4995/30 = -166.5 → half_even -166 (even), half_up -167 (away from zero)
    // charge = 1999 × 5/30 = 9995/30 = 333.1666… → 333 in both (not a tie)
    const base = input({ changeAt: '2024-04-26T00:00:00.000Z', oldAmountMinor: 999, newAmountMinor: 1999 });
    expect(prorate(base)).toEqual({
      unusedFraction: { numerator: 5, denominator: 30 },
      creditMinor: -166,
      chargeMinor: 333,
      netMinor: 167,
    });
    expect(prorate({ ...base, roundingMode: 'half_even' })).toEqual(prorate(base)); // the default
    expect(prorate({ ...base, roundingMode: 'half_up' })).toMatchObject({
      creditMinor: -167,
      chargeMinor: 333,
      netMinor: 166,
    });
    expect(prorate({ ...base, roundingMode: 'half_down' })).toMatchObject({
      creditMinor: -166,
      chargeMinor: 333,
    });
    // Directional modes act on the signed amounts: ceiling (toward +∞) shrinks the credit and grows the
    // charge, i.e. always rounds in the merchant's favour; floor in the customer's.
    expect(prorate({ ...base, roundingMode: 'ceiling' })).toMatchObject({
      creditMinor: -166,
      chargeMinor: 334,
      netMinor: 168,
    });
    expect(prorate({ ...base, roundingMode: 'floor' })).toMatchObject({
      creditMinor: -167,
      chargeMinor: 333,
      netMinor: 166,
    });
    expect(prorate({ ...base, roundingMode: 'up' })).toMatchObject({
      creditMinor: -167,
      chargeMinor: 334,
      netMinor: 167,
    });
    expect(prorate({ ...base, roundingMode: 'down' })).toMatchObject({
      creditMinor: -166,
      chargeMinor: 333,
      netMinor: 167,
    });
  });

  test('a per-second tie: $123.45 credited for exactly half of April', () => {
    // Change Apr 16 00:00: 15 × 86 400 = 1 296 000 of 2 592 000 s = 1/2.
    // credit = -12345 / 2 = -6172.5 → half_even -6172, half_up -6173.
    const base = input({
      changeAt: '2024-04-16T00:00:00.000Z',
      oldAmountMinor: 12_345,
      granularity: 'second',
    });
    expect(prorate(base).creditMinor).toBe(-6172);
    expect(prorate({ ...base, roundingMode: 'half_up' }).creditMinor).toBe(-6173);
  });

  test('downgrade $60 → $30 on day 10 gives a negative net', () => {
    // credit = -6000 × 20/30 = -4000; charge = 3000 × 20/30 = 2000; net = -2000.
    expect(prorate(input({ oldAmountMinor: 6000, newAmountMinor: 3000 }))).toMatchObject({
      creditMinor: -4000,
      chargeMinor: 2000,
      netMinor: -2000,
    });
  });

  test.each<ProrationGranularity>(['day', 'second'])(
    'change at period start: full credit + full charge (%s)',
    (granularity) => {
      expect(prorate(input({ changeAt: april.start, granularity }))).toMatchObject({
        creditMinor: -3000,
        chargeMinor: 6000,
        netMinor: 3000,
      });
    },
  );

  test.each<ProrationGranularity>(['day', 'second'])(
    'change at period end: nothing to prorate (%s)',
    (granularity) => {
      const result = prorate(input({ changeAt: april.end, granularity }));
      expect(result.unusedFraction.numerator).toBe(0);
      expect(result).toMatchObject({ creditMinor: 0, chargeMinor: 0, netMinor: 0 });
      // A zero credit is +0, not -0: it must serialise and compare like any other zero.
      expect(Object.is(result.creditMinor, 0)).toBe(true);
    },
  );

  test('free plans: $0 → $60 and $30 → $0', () => {
    const fromFree = prorate(input({ oldAmountMinor: 0 }));
    expect(Object.is(fromFree.creditMinor, 0)).toBe(true);
    expect(fromFree).toMatchObject({ chargeMinor: 4000, netMinor: 4000 });
    expect(prorate(input({ newAmountMinor: 0 }))).toMatchObject({
      creditMinor: -2000,
      chargeMinor: 0,
      netMinor: -2000,
    });
  });

  test('anniversary period ending at 10:00: days are 24 h slices ending at the period end', () => {
    // Period [Jan 31 10:00, Feb 29 10:00) = 29 days. Change Feb 10 15:00 → 18 d 19 h left → 18 whole days.
    // credit = -2900 × 18/29 = -1800; charge = 5800 × 18/29 = 3600.
    const period = periodOf(
      createSchedule('2024-01-31T10:00:00.000Z', { interval: 'month', intervalCount: 1 }, 'anniversary'),
      0,
    );
    expect(period).toEqual({ index: 0, start: '2024-01-31T10:00:00.000Z', end: '2024-02-29T10:00:00.000Z' });
    expect(
      prorate({
        period,
        changeAt: '2024-02-10T15:00:00.000Z',
        oldAmountMinor: 2900,
        newAmountMinor: 5800,
        granularity: 'day',
      }),
    ).toEqual({
      unusedFraction: { numerator: 18, denominator: 29 },
      creditMinor: -1800,
      chargeMinor: 3600,
      netMinor: 1800,
    });
  });

  describe('calendar stub [Mar 15 13:45, Apr 1): 16 d 10 h 15 min, counted as 17 days', () => {
    const stub = periodOf(
      createSchedule('2024-03-15T13:45:00.000Z', { interval: 'month', intervalCount: 1 }, 'calendar'),
      0,
    );
    const stubInput = (changeAt: string, granularity: ProrationGranularity = 'day'): ProrationInput => ({
      period: stub,
      changeAt,
      oldAmountMinor: 1700,
      newAmountMinor: 3400,
      granularity,
    });

    test('a change at the stub start leaves Mar 15 (already begun) with the old plan: 16/17 days', () => {
      // credit = -1700 × 16/17 = -1600; charge = 3400 × 16/17 = 3200.
      expect(prorate(stubInput(stub.start))).toEqual({
        unusedFraction: { numerator: 16, denominator: 17 },
        creditMinor: -1600,
        chargeMinor: 3200,
        netMinor: 1600,
      });
    });

    test('UTC days: a change at Mar 20 00:00 leaves Mar 20..31 = 12 days; at 01:45, 11 days', () => {
      expect(prorate(stubInput('2024-03-20T00:00:00.000Z')).unusedFraction).toEqual({
        numerator: 12,
        denominator: 17,
      });
      expect(prorate(stubInput('2024-03-20T01:45:00.000Z')).unusedFraction).toEqual({
        numerator: 11,
        denominator: 17,
      });
    });

    test('per second the stub start is a full credit: 1 419 300 of 1 419 300 s', () => {
      expect(prorate(stubInput(stub.start, 'second'))).toMatchObject({
        unusedFraction: { numerator: 1_419_300, denominator: 1_419_300 },
        creditMinor: -1700,
        chargeMinor: 3400,
      });
    });
  });

  test('amounts up to Number.MAX_SAFE_INTEGER are exact (bigint inside)', () => {
    // 9 007 199 254 740 991 × 1 161 138 / 2 592 000 = 4 034 954 216 146 390 rem 1 927 758 (> half) → …391.
    const result = prorate(
      input({
        changeAt: '2024-04-17T13:27:41.250Z',
        oldAmountMinor: Number.MAX_SAFE_INTEGER,
        newAmountMinor: Number.MAX_SAFE_INTEGER,
        granularity: 'second',
      }),
    );
    expect(result.creditMinor).toBe(-4_034_954_216_146_391);
    expect(result.chargeMinor).toBe(4_034_954_216_146_391);
    expect(result.netMinor).toBe(0);
  });
});

describe('prorate: programmer errors throw RangeError', () => {
  test.each<[string, Partial<ProrationInput>, RegExp]>([
    ['changeAt before the period', { changeAt: '2024-03-31T23:59:59.999Z' }, /outside the period/],
    ['changeAt after the period', { changeAt: '2024-05-01T00:00:00.001Z' }, /outside the period/],
    ['changeAt not canonical', { changeAt: '2024-04-11' }, /ISO-8601 UTC instant/],
    ['empty period', { period: { index: 0, start: april.start, end: april.start } }, /start < end/],
    ['reversed period', { period: { index: 0, start: april.end, end: april.start } }, /start < end/],
    ['negative old amount', { oldAmountMinor: -1 }, /oldAmountMinor must be a safe integer >= 0/],
    ['fractional new amount', { newAmountMinor: 10.5 }, /newAmountMinor must be a safe integer >= 0/],
    ['unsafe amount', { newAmountMinor: 2 ** 53 }, /newAmountMinor/],
    ['NaN amount', { oldAmountMinor: Number.NaN }, /oldAmountMinor/],
    [
      'unknown granularity',
      { granularity: 'hour' as ProrationGranularity },
      /granularity must be 'second' or 'day'/,
    ],
    ['unknown rounding mode', { roundingMode: 'bankers' as RoundingMode }, /unknown rounding mode/],
  ])('%s', (_name, overrides, message) => {
    expect(() => prorate(input(overrides))).toThrow(RangeError);
    expect(() => prorate(input(overrides))).toThrow(message);
  });
});

// ----------------------------------------------------------------------------------------------------------
// Properties

const recurrenceArb: fc.Arbitrary<Recurrence> = fc
  .constantFrom(...BILLING_INTERVALS)
  .chain((interval) =>
    fc
      .integer({ min: 1, max: { day: 365, week: 52, month: 12, year: 5 }[interval] })
      .map((intervalCount): Recurrence => ({ interval, intervalCount })),
  );

/** Real schedule periods (including calendar stubs) and arbitrary spans from 1 ms to 400 days. */
const periodArb: fc.Arbitrary<BillingPeriod> = fc.oneof(
  fc
    .tuple(
      fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) }),
      recurrenceArb,
      fc.constantFrom('anniversary' as const, 'calendar' as const),
      fc.integer({ min: 0, max: 50 }),
    )
    .map(([startedAtMs, recurrence, alignment, index]) =>
      periodOf(createSchedule(formatInstant(startedAtMs), recurrence, alignment), index),
    ),
  fc
    .tuple(
      fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) }),
      fc.integer({ min: 1, max: 400 * MS_PER_DAY }),
    )
    .map(([startMs, lengthMs]) => ({
      index: 0,
      start: formatInstant(startMs),
      end: formatInstant(startMs + lengthMs),
    })),
);

/** A period and an instant in [start, end], with the endpoints themselves drawn often. */
const splitArb = periodArb.chain((period) => {
  const startMs = parseInstantMs(period.start);
  const endMs = parseInstantMs(period.end);
  return fc
    .oneof(fc.constant(startMs), fc.constant(endMs), fc.integer({ min: startMs, max: endMs }))
    .map((changeAtMs) => ({ period, changeAt: formatInstant(changeAtMs) }));
});

const amountArb = fc.oneof(
  fc.integer({ min: 0, max: 1_000_000 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const granularityArb = fc.constantFrom<ProrationGranularity>('second', 'day');
const modeArb = fc.constantFrom(...ROUNDING_MODES);

describe('prorate: properties', () => {
  test('spec invariant: used part (P − |credit|) + charge at the same price P for the rest = P within 1', () => {
    fc.assert(
      fc.property(
        splitArb,
        amountArb,
        amountArb,
        granularityArb,
        modeArb,
        ({ period, changeAt }, priceMinor, otherMinor, granularity, roundingMode) => {
          const credit = prorate({
            period,
            changeAt,
            oldAmountMinor: priceMinor,
            newAmountMinor: otherMinor,
            granularity,
            roundingMode,
          }).creditMinor;
          const charge = prorate({
            period,
            changeAt,
            oldAmountMinor: otherMinor,
            newAmountMinor: priceMinor,
            granularity,
            roundingMode,
          }).chargeMinor;
          const usedMinor = priceMinor - Math.abs(credit);
          expect(Math.abs(usedMinor + charge - priceMinor)).toBeLessThanOrEqual(1);
          // Modes symmetric about zero round the credit and the charge to the same magnitude: exact.
          if (roundingMode !== 'ceiling' && roundingMode !== 'floor')
            expect(usedMinor + charge).toBe(priceMinor);
        },
      ),
    );
  });

  test('invariant (DESIGN §3): the used part and the unused part, each rounded once, add up to P within 1', () => {
    fc.assert(
      fc.property(
        splitArb,
        amountArb,
        granularityArb,
        modeArb,
        ({ period, changeAt }, priceMinor, granularity, roundingMode) => {
          const result = prorate({
            period,
            changeAt,
            oldAmountMinor: priceMinor,
            newAmountMinor: priceMinor,
            granularity,
            roundingMode,
          });
          const { numerator, denominator } = result.unusedFraction;
          const usedChargeMinor = Number(
            divideRounded(
              BigInt(priceMinor) * BigInt(denominator - numerator),
              BigInt(denominator),
              roundingMode,
            ),
          );
          expect(Math.abs(usedChargeMinor + result.chargeMinor - priceMinor)).toBeLessThanOrEqual(1);
        },
      ),
    );
  });

  test('bounds and signs: -old <= credit <= 0 <= charge <= new, net = credit + charge, 0 <= unused <= period', () => {
    fc.assert(
      fc.property(
        splitArb,
        amountArb,
        amountArb,
        granularityArb,
        modeArb,
        ({ period, changeAt }, oldAmountMinor, newAmountMinor, granularity, roundingMode) => {
          const r = prorate({ period, changeAt, oldAmountMinor, newAmountMinor, granularity, roundingMode });
          expect(r.creditMinor).toBeLessThanOrEqual(0);
          expect(-r.creditMinor).toBeLessThanOrEqual(oldAmountMinor);
          expect(r.chargeMinor).toBeGreaterThanOrEqual(0);
          expect(r.chargeMinor).toBeLessThanOrEqual(newAmountMinor);
          expect(r.netMinor).toBe(r.creditMinor + r.chargeMinor);
          for (const value of [r.creditMinor, r.chargeMinor, r.netMinor])
            expect(Number.isSafeInteger(value)).toBe(true);
          expect(r.unusedFraction.numerator).toBeGreaterThanOrEqual(0);
          expect(r.unusedFraction.numerator).toBeLessThanOrEqual(r.unusedFraction.denominator);
        },
      ),
    );
  });

  test('monotonic in changeAt: a later change never credits or charges more', () => {
    const twoSplitsArb = periodArb.chain((period) => {
      const startMs = parseInstantMs(period.start);
      const endMs = parseInstantMs(period.end);
      return fc
        .tuple(fc.integer({ min: startMs, max: endMs }), fc.integer({ min: startMs, max: endMs }))
        .map(([a, b]) => ({
          period,
          earlier: formatInstant(Math.min(a, b)),
          later: formatInstant(Math.max(a, b)),
        }));
    });
    fc.assert(
      fc.property(
        twoSplitsArb,
        amountArb,
        amountArb,
        granularityArb,
        modeArb,
        ({ period, earlier, later }, oldAmountMinor, newAmountMinor, granularity, roundingMode) => {
          const base = { period, oldAmountMinor, newAmountMinor, granularity, roundingMode };
          const first = prorate({ ...base, changeAt: earlier });
          const second = prorate({ ...base, changeAt: later });
          expect(second.unusedFraction.numerator).toBeLessThanOrEqual(first.unusedFraction.numerator);
          expect(Math.abs(second.creditMinor)).toBeLessThanOrEqual(Math.abs(first.creditMinor));
          expect(second.chargeMinor).toBeLessThanOrEqual(first.chargeMinor);
        },
      ),
    );
  });

  test('each amount is the exact rational value rounded once (within ½ for half modes, < 1 otherwise)', () => {
    fc.assert(
      fc.property(
        splitArb,
        amountArb,
        amountArb,
        granularityArb,
        modeArb,
        ({ period, changeAt }, oldAmountMinor, newAmountMinor, granularity, roundingMode) => {
          const r = prorate({ period, changeAt, oldAmountMinor, newAmountMinor, granularity, roundingMode });
          const num = BigInt(r.unusedFraction.numerator);
          const den = BigInt(r.unusedFraction.denominator);
          // |rounded − exact| × den, computed without any division.
          const creditError = abs(BigInt(r.creditMinor) * den + BigInt(oldAmountMinor) * num);
          const chargeError = abs(BigInt(r.chargeMinor) * den - BigInt(newAmountMinor) * num);
          const bound = roundingMode.startsWith('half_')
            ? (e: bigint) => 2n * e <= den
            : (e: bigint) => e < den;
          expect(bound(creditError)).toBe(true);
          expect(bound(chargeError)).toBe(true);
        },
      ),
    );
  });

  test('day granularity on midnight-aligned periods counts whole UTC days from the first midnight at or after changeAt', () => {
    const midnightSplitArb = fc
      .tuple(
        fc.integer({ min: 0, max: 100_000 }),
        fc.integer({ min: 1, max: 400 }),
        fc.integer({ min: 0, max: 400 * MS_PER_DAY }),
      )
      .map(([startDay, lengthDays, offsetMs]) => {
        const startMs = startDay * MS_PER_DAY;
        const endMs = startMs + lengthDays * MS_PER_DAY;
        const changeAtMs = startMs + Math.min(offsetMs, lengthDays * MS_PER_DAY);
        return { startMs, endMs, changeAtMs, lengthDays };
      });
    fc.assert(
      fc.property(midnightSplitArb, ({ startMs, endMs, changeAtMs, lengthDays }) => {
        const period = { index: 0, start: formatInstant(startMs), end: formatInstant(endMs) };
        const r = prorate({
          period,
          changeAt: formatInstant(changeAtMs),
          oldAmountMinor: 100,
          newAmountMinor: 100,
          granularity: 'day',
        });
        const firstUnusedMidnightMs = Math.ceil(changeAtMs / MS_PER_DAY) * MS_PER_DAY;
        expect(r.unusedFraction).toEqual({
          numerator: (endMs - firstUnusedMidnightMs) / MS_PER_DAY,
          denominator: lengthDays,
        });
      }),
    );
  });
});

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}
