// Tax amounts from exact decimal rates, rounded once per line and component (docs/decisions/0009).
//
// A levy's effective fraction is rate/100 × taxable/100 as an exact ratio of bigints, so
// 9.975 % or "6.25 % of 80 %" never pass through a float. Exclusive lines round each component once;
// inclusive lines round the line's total tax once and split it across components so that they add
// up exactly (largest remainder), which keeps net + tax = the price the customer saw.

import { allocateMinor, parseDecimal } from '../money';
import { divideRounded, type RoundingMode } from '../rounding';
import { TaxInvariantError } from './errors';
import type { Levy } from './place-of-supply';

/** numerator / denominator, denominator > 0. */
interface Ratio {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

function percentRatio(percent: string): Ratio {
  const { units, scale } = parseDecimal(percent);
  return { numerator: units, denominator: 100n * 10n ** BigInt(scale) };
}

/** The fraction of the price a levy takes: rate × taxable share. */
export function effectiveFraction(levy: Levy): Ratio {
  const rate = percentRatio(levy.ratePercent);
  if (levy.taxablePercent === undefined) return rate;
  const taxable = percentRatio(levy.taxablePercent);
  return {
    numerator: rate.numerator * taxable.numerator,
    denominator: rate.denominator * taxable.denominator,
  };
}

function toSafeNumber(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < -BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TaxInvariantError(`${what} ${value} exceeds a safe integer`);
  }
  return Number(value) + 0; // + 0 turns -0 into 0
}

/** Tax on top of an exclusive amount: amount × fraction, rounded once. */
export function exclusiveTaxMinor(amountMinor: number, levy: Levy, mode: RoundingMode): number {
  const fraction = effectiveFraction(levy);
  const tax = divideRounded(BigInt(amountMinor) * fraction.numerator, fraction.denominator, mode);
  return toSafeNumber(tax, 'tax');
}

/**
 * The tax contained in an inclusive amount: amount × F / (1 + F) with F = Σ fractions, rounded once,
 * then split across the levies in proportion to their fractions.
 */
export function inclusiveTaxMinor(
  amountMinor: number,
  levies: readonly Levy[],
  mode: RoundingMode,
): { readonly totalMinor: number; readonly perLevyMinor: readonly number[] } {
  const fractions = levies.map(effectiveFraction);
  const commonDenominator = fractions.reduce((lcm, f) => lcmOf(lcm, f.denominator), 1n);
  const scaled = fractions.map((f) => f.numerator * (commonDenominator / f.denominator));
  const total = scaled.reduce((sum, part) => sum + part, 0n);
  const taxMinor = divideRounded(BigInt(amountMinor) * total, commonDenominator + total, mode);
  const totalMinor = toSafeNumber(taxMinor, 'tax');
  if (total === 0n) return { totalMinor, perLevyMinor: levies.map(() => 0) };
  const weights = scaled.map((weight) => toSafeNumber(weight, 'rate weight'));
  return { totalMinor, perLevyMinor: allocateMinor(totalMinor, weights) };
}

/** The taxable base reported for a levy: the net amount, or the taxable share of it (Texas). */
export function taxableBaseMinor(netMinor: number, levy: Levy, mode: RoundingMode): number {
  if (levy.taxablePercent === undefined) return netMinor;
  const share = percentRatio(levy.taxablePercent);
  return toSafeNumber(
    divideRounded(BigInt(netMinor) * share.numerator, share.denominator, mode),
    'taxable base',
  );
}

function lcmOf(a: bigint, b: bigint): bigint {
  return (a / gcdOf(a, b)) * b;
}

function gcdOf(a: bigint, b: bigint): bigint {
  let [x, y] = [a < 0n ? -a : a, b < 0n ? -b : b];
  while (y !== 0n) [x, y] = [y, x % y];
  return x;
}
