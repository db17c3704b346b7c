// Integer division with the rounding made explicit.
//
// Money is integer minor units; every place that divides (proration, unit prices, tax rates) must say
// how it rounds, and must round exactly once. Operands are bigint so that the product that precedes a
// division can never overflow or lose precision the way a `number` silently would past 2^53.

export const ROUNDING_MODES = [
  'half_even',
  'half_up',
  'half_down',
  'up',
  'down',
  'ceiling',
  'floor',
] as const;
export type RoundingMode = (typeof ROUNDING_MODES)[number];

/**
 * numerator/denominator rounded to an integer with the given mode (bigint in, bigint out; denominator > 0).
 *
 * Modes (the names follow java.math.RoundingMode and ICU, which finance code already knows):
 * - 'up': away from zero; 'down': toward zero (truncation);
 * - 'ceiling': toward +infinity; 'floor': toward -infinity;
 * - 'half_up': nearest, ties away from zero; 'half_down': nearest, ties toward zero;
 * - 'half_even': nearest, ties to the even neighbour (banker's rounding, the platform default because its
 *   tie errors cancel out over many lines instead of drifting in one direction).
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  assertBigint(numerator, 'numerator');
  assertBigint(denominator, 'denominator');
  if (denominator <= 0n) {
    // A sign convention lives in the numerator only, so "toward zero" and "away from zero" stay unambiguous.
    throw new RangeError(`divideRounded: denominator must be > 0, got ${denominator}`);
  }
  assertRoundingMode(mode);

  // BigInt division truncates toward zero and the remainder takes the numerator's sign.
  const quotient = numerator / denominator;
  const remainder = numerator % denominator;
  if (remainder === 0n) return quotient;

  // The exact value lies strictly between `quotient` and `awayFromZero`.
  const sign = numerator < 0n ? -1n : 1n;
  const awayFromZero = quotient + sign;
  const twiceRemainderMagnitude = 2n * (remainder < 0n ? -remainder : remainder);

  let result: bigint;
  switch (mode) {
    case 'down':
      result = quotient;
      break;
    case 'up':
      result = awayFromZero;
      break;
    case 'ceiling':
      result = sign > 0n ? awayFromZero : quotient;
      break;
    case 'floor':
      result = sign < 0n ? awayFromZero : quotient;
      break;
    case 'half_up':
      result = twiceRemainderMagnitude >= denominator ? awayFromZero : quotient;
      break;
    case 'half_down':
      result = twiceRemainderMagnitude > denominator ? awayFromZero : quotient;
      break;
    case 'half_even':
      if (twiceRemainderMagnitude === denominator) {
        result = quotient % 2n === 0n ? quotient : awayFromZero;
      } else {
        result = twiceRemainderMagnitude > denominator ? awayFromZero : quotient;
      }
      break;
  }

  // Postcondition: the result is one of the two integers that bracket the exact quotient.
  const errorTimesDenominator = result * denominator - numerator;
  if (errorTimesDenominator <= -denominator || errorTimesDenominator >= denominator) {
    throw new Error(`divideRounded: postcondition failed for ${numerator}/${denominator} (${mode})`);
  }
  return result;
}

export function assertRoundingMode(mode: unknown): asserts mode is RoundingMode {
  if (!(ROUNDING_MODES as readonly unknown[]).includes(mode)) {
    throw new RangeError(
      `unknown rounding mode ${JSON.stringify(mode)}; expected one of ${ROUNDING_MODES.join(', ')}`,
    );
  }
}

function assertBigint(value: unknown, name: string): asserts value is bigint {
  // Callers from plain JS (or an `as` cast) could pass a number; mixing would throw a less helpful TypeError.
  if (typeof value !== 'bigint') {
    throw new RangeError(`divideRounded: ${name} must be a bigint, got ${typeof value}`);
  }
}
