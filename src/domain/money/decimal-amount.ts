// Prices below one minor unit (0.0004 USD per API call) and fractional quantities (2.5 GB-hours) are
// exact decimal strings; a line's amount is their product in minor units, rounded exactly once.

import { divideRounded, type RoundingMode } from '../rounding';
import { currencyExponent } from './currencies';

const DECIMAL_PATTERN = /^(-?)(\d{1,30})(?:\.(\d{1,18}))?$/;

export interface ExactDecimal {
  /** value = units / 10^scale */
  readonly units: bigint;
  readonly scale: number;
}

/** '0.0004' → 4 / 10^4. Plain decimal notation only (no exponents, no separators). */
export function parseDecimal(value: string): ExactDecimal {
  const match = typeof value === 'string' ? DECIMAL_PATTERN.exec(value) : null;
  if (match === null) {
    throw new RangeError(`expected a decimal string like '0.0004', got ${JSON.stringify(value)}`);
  }
  const [, minus, whole, fraction = ''] = match;
  const units = BigInt(`${whole}${fraction}`) * (minus === '-' ? -1n : 1n);
  return { units, scale: fraction.length };
}

export interface DecimalLineInput {
  /** Price per unit in major units of `currency`, e.g. '0.0004' (USD). */
  readonly unitPrice: string;
  /** e.g. '1234567' or '2.5'. */
  readonly quantity: string;
  readonly currency: string;
  readonly roundingMode: RoundingMode;
}

/** unitPrice × quantity in minor units of `currency`, computed exactly and rounded once. */
export function decimalLineAmountMinor(input: DecimalLineInput): number {
  const price = parseDecimal(input.unitPrice);
  const quantity = parseDecimal(input.quantity);
  const exponent = currencyExponent(input.currency);
  // amount_minor = price.units × quantity.units × 10^exponent / 10^(price.scale + quantity.scale)
  const numerator = price.units * quantity.units * 10n ** BigInt(exponent);
  const denominator = 10n ** BigInt(price.scale + quantity.scale);
  const minor = divideRounded(numerator, denominator, input.roundingMode);
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`line amount ${minor} ${input.currency} minor units exceeds a safe integer`);
  }
  return Number(minor) + 0;
}
