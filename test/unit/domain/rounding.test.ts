import fc from 'fast-check';

import { divideRounded, ROUNDING_MODES, type RoundingMode } from '../../../src/domain/rounding';

// Expected results per mode for numerator/denominator. Columns follow ROUNDING_MODES:
//                    half_even half_up half_down up  down ceiling floor
type Row = readonly [
  numerator: bigint,
  denominator: bigint,
  expected: readonly [number, number, number, number, number, number, number],
];

const TABLE: readonly Row[] = [
  // Exact quotients: every mode agrees.
  [0n, 7n, [0, 0, 0, 0, 0, 0, 0]],
  [6n, 3n, [2, 2, 2, 2, 2, 2, 2]],
  [-6n, 3n, [-2, -2, -2, -2, -2, -2, -2]],
  // Positive halves: 0.5, 1.5, 2.5 (half_even goes to the even neighbour).
  [1n, 2n, [0, 1, 0, 1, 0, 1, 0]],
  [3n, 2n, [2, 2, 1, 2, 1, 2, 1]],
  [5n, 2n, [2, 3, 2, 3, 2, 3, 2]],
  // Negative halves: -0.5, -1.5, -2.5 (half_up/half_down are about distance from zero, not direction).
  [-1n, 2n, [0, -1, 0, -1, 0, 0, -1]],
  [-3n, 2n, [-2, -2, -1, -2, -1, -1, -2]],
  [-5n, 2n, [-2, -3, -2, -3, -2, -2, -3]],
  // Positive non-halves: 1/3 = 0.333…, 2/3 = 0.666…, 7/4 = 1.75, 9/4 = 2.25.
  [1n, 3n, [0, 0, 0, 1, 0, 1, 0]],
  [2n, 3n, [1, 1, 1, 1, 0, 1, 0]],
  [7n, 4n, [2, 2, 2, 2, 1, 2, 1]],
  [9n, 4n, [2, 2, 2, 3, 2, 3, 2]],
  // Negative non-halves.
  [-1n, 3n, [0, 0, 0, -1, 0, 0, -1]],
  [-2n, 3n, [-1, -1, -1, -1, 0, 0, -1]],
  [-7n, 4n, [-2, -2, -2, -2, -1, -1, -2]],
  [-9n, 4n, [-2, -2, -2, -3, -2, -2, -3]],
  // Denominator 1 never rounds.
  [-17n, 1n, [-17, -17, -17, -17, -17, -17, -17]],
];

describe('divideRounded', () => {
  describe.each(ROUNDING_MODES.map((mode, column) => [mode, column] as const))('mode %s', (mode, column) => {
    test.each(TABLE.map(([n, d, expected]) => [String(n), String(d), expected[column]!, n, d] as const))(
      '%s / %s = %d',
      (_n, _d, expected, numerator, denominator) => {
        expect(divideRounded(numerator, denominator, mode)).toBe(BigInt(expected));
      },
    );
  });

  test('half modes differ only on ties: 2.5 → 2 (half_even), 3 (half_up), 2 (half_down); 3.5 → 4, 4, 3', () => {
    expect(divideRounded(5n, 2n, 'half_even')).toBe(2n);
    expect(divideRounded(5n, 2n, 'half_up')).toBe(3n);
    expect(divideRounded(5n, 2n, 'half_down')).toBe(2n);
    expect(divideRounded(7n, 2n, 'half_even')).toBe(4n);
    expect(divideRounded(7n, 2n, 'half_up')).toBe(4n);
    expect(divideRounded(7n, 2n, 'half_down')).toBe(3n);
  });

  test('is exact beyond Number.MAX_SAFE_INTEGER: (2^60 + 1) / 2 is a tie just above an even number', () => {
    const half = 2n ** 59n;
    expect(divideRounded(2n ** 60n + 1n, 2n, 'half_even')).toBe(half);
    expect(divideRounded(2n ** 60n + 1n, 2n, 'half_up')).toBe(half + 1n);
    expect(divideRounded(-(2n ** 60n) - 1n, 2n, 'floor')).toBe(-half - 1n);
  });

  test('symmetric modes round -x to -(round x); ceiling and floor mirror each other', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        (n, d) => {
          for (const mode of ['half_even', 'half_up', 'half_down', 'up', 'down'] as const) {
            expect(divideRounded(-n, d, mode)).toBe(-divideRounded(n, d, mode));
          }
          expect(divideRounded(-n, d, 'ceiling')).toBe(-divideRounded(n, d, 'floor'));
        },
      ),
    );
  });

  test('property: floor <= result <= ceiling, within one unit, and within half a unit for half modes', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        fc.constantFrom(...ROUNDING_MODES),
        (numerator, denominator, mode: RoundingMode) => {
          const result = divideRounded(numerator, denominator, mode);
          const floor = divideRounded(numerator, denominator, 'floor');
          const ceiling = divideRounded(numerator, denominator, 'ceiling');
          expect(floor <= result && result <= ceiling).toBe(true);
          expect(ceiling - floor).toBe(numerator % denominator === 0n ? 0n : 1n);
          // floor is the mathematical floor: floor*d <= n < (floor+1)*d.
          expect(floor * denominator <= numerator && numerator < (floor + 1n) * denominator).toBe(true);
          const errorTimesDenominator = abs(result * denominator - numerator);
          if (mode.startsWith('half_')) {
            // |result - n/d| <= 1/2, i.e. 2|result*d - n| <= d (no division, so no rounding in the check).
            expect(2n * errorTimesDenominator <= denominator).toBe(true);
          } else {
            expect(errorTimesDenominator < denominator).toBe(true);
          }
        },
      ),
    );
  });

  test('property: half_even ties land on an even result', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), (k) => {
        // (2k + 1) / 2 is always a tie.
        expect(divideRounded(2n * k + 1n, 2n, 'half_even') % 2n).toBe(0n);
      }),
    );
  });

  test.each([0n, -1n, -10n])('denominator %s is a programmer error', (denominator) => {
    expect(() => divideRounded(1n, denominator, 'half_even')).toThrow(RangeError);
    expect(() => divideRounded(1n, denominator, 'half_even')).toThrow(/denominator must be > 0/);
  });

  test('unknown mode and non-bigint operands are programmer errors', () => {
    expect(() => divideRounded(1n, 2n, 'nearest' as RoundingMode)).toThrow(/unknown rounding mode "nearest"/);
    expect(() => divideRounded(1 as unknown as bigint, 2n, 'floor')).toThrow(/numerator must be a bigint/);
    expect(() => divideRounded(1n, 2 as unknown as bigint, 'floor')).toThrow(/denominator must be a bigint/);
  });
});

function abs(value: bigint): bigint {
  return value < 0n ? -value : value;
}
