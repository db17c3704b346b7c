// Converting an amount between currencies at an exact decimal rate, rounded once. Exponents differ
// (1 USD = 2 decimals, 1 JPY = 0, 1 BHD = 3), so the minor units are rescaled inside the same exact
// product: amountMinor × rate × 10^(toExponent − fromExponent).

import { divideRounded, type RoundingMode } from '../rounding';
import { currencyExponent } from './currencies';
import { parseDecimal } from './decimal-amount';

/** `amountMinor` of `from` in minor units of `to`, where 1 `from` = `rate` `to` ('0.92345'). */
export function convertMinor(
  amountMinor: number,
  from: string,
  to: string,
  rate: string,
  roundingMode: RoundingMode,
): number {
  if (!Number.isSafeInteger(amountMinor)) throw new RangeError(`amountMinor must be a safe integer`);
  const exact = parseDecimal(rate);
  if (exact.units <= 0n) throw new RangeError(`an exchange rate must be positive, got ${rate}`);
  const shift = currencyExponent(to) - currencyExponent(from);
  let numerator = BigInt(amountMinor) * exact.units;
  let denominator = 10n ** BigInt(exact.scale);
  if (shift >= 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  const converted = divideRounded(numerator, denominator, roundingMode);
  const result = Number(converted);
  if (!Number.isSafeInteger(result)) throw new RangeError('converted amount exceeds a safe integer');
  return result;
}
