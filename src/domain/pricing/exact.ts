// Exact decimal arithmetic for usage pricing: quantities and prices are decimal strings, kept as
// (units, scale) pairs of bigint; nothing is rounded until a line's amount is turned into minor units.

import { divideRounded, type RoundingMode } from '../rounding';
import { currencyExponent } from '../money/currencies';
import { parseDecimal, type ExactDecimal } from '../money/decimal-amount';

export type { ExactDecimal };
export const ZERO: ExactDecimal = { units: 0n, scale: 0 };

export function dec(value: string): ExactDecimal {
  return parseDecimal(value);
}

function align(a: ExactDecimal, b: ExactDecimal): [bigint, bigint, number] {
  const scale = Math.max(a.scale, b.scale);
  return [a.units * 10n ** BigInt(scale - a.scale), b.units * 10n ** BigInt(scale - b.scale), scale];
}

export function add(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  const [x, y, scale] = align(a, b);
  return { units: x + y, scale };
}

export function sub(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  const [x, y, scale] = align(a, b);
  return { units: x - y, scale };
}

export function mul(a: ExactDecimal, b: ExactDecimal): ExactDecimal {
  return { units: a.units * b.units, scale: a.scale + b.scale };
}

export function compare(a: ExactDecimal, b: ExactDecimal): -1 | 0 | 1 {
  const [x, y] = align(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export const min = (a: ExactDecimal, b: ExactDecimal): ExactDecimal => (compare(a, b) <= 0 ? a : b);
export const max = (a: ExactDecimal, b: ExactDecimal): ExactDecimal => (compare(a, b) >= 0 ? a : b);

/** ceil(a / b) for positive b, as an integer count (packages). */
export function ceilDiv(a: ExactDecimal, b: ExactDecimal): bigint {
  const [x, y] = align(a, b);
  if (y <= 0n) throw new RangeError('ceilDiv: divisor must be positive');
  return x <= 0n ? 0n : (x + y - 1n) / y;
}

/** The exact amount (major units) in minor units of `currency`, rounded once. */
export function toMinor(amount: ExactDecimal, currency: string, mode: RoundingMode): number {
  const exponent = currencyExponent(currency);
  const minor = divideRounded(amount.units * 10n ** BigInt(exponent), 10n ** BigInt(amount.scale), mode);
  if (minor > BigInt(Number.MAX_SAFE_INTEGER) || minor < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RangeError(`amount ${minor} ${currency} minor units exceeds a safe integer`);
  }
  return Number(minor) + 0;
}

/** For descriptions: '1500', '0.0004' (no exponent notation, no trailing zeros beyond the scale). */
export function format(value: ExactDecimal): string {
  if (value.scale === 0) return value.units.toString();
  const negative = value.units < 0n;
  const digits = (negative ? -value.units : value.units).toString().padStart(value.scale + 1, '0');
  const whole = digits.slice(0, -value.scale);
  const fraction = digits.slice(-value.scale).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}
