// Usage price models, one function per model behind one entry point (priceUsage), chosen by `model`;
// an unknown model is refused. Quantities and prices are decimal strings in major units; every line is
// computed exactly and rounded once to minor units, so the invoice total is Σ of visible line amounts.

import type { RoundingMode } from '../rounding';
import { ceilDiv, compare, dec, format, max, min, mul, sub, toMinor, ZERO, type ExactDecimal } from './exact';

export interface Tier {
  /** Inclusive upper bound of the tier; null = no bound (the last tier). */
  readonly upTo: string | null;
  readonly unitPrice: string;
  /** Charged once when usage reaches the tier (graduated) or for the tier the quantity falls in (volume). */
  readonly flatFee?: string;
}

export type PriceModel =
  | { readonly model: 'per_unit'; readonly unitPrice: string }
  | { readonly model: 'package'; readonly packageSize: string; readonly packagePrice: string }
  | { readonly model: 'graduated'; readonly tiers: readonly Tier[] }
  | { readonly model: 'volume'; readonly tiers: readonly Tier[] }
  | { readonly model: 'flat'; readonly amount: string };

export interface UsagePricingInput {
  readonly price: PriceModel;
  /** Units used in the period, e.g. '1500' or '2.5'. */
  readonly quantity: string;
  readonly currency: string;
  readonly roundingMode: RoundingMode;
  /** Free allowance subtracted before pricing (freemium, or units included in the plan). */
  readonly includedQuantity?: string;
  /** Minimum commitment for the period (major units): a true-up line tops the total up to it. */
  readonly minimumAmount?: string;
  /** Used in line descriptions, e.g. 'API calls'. */
  readonly unitLabel?: string;
}

export interface UsageLine {
  readonly description: string;
  /** Billable units of this line (decimal string), '1' for fees and true-ups. */
  readonly quantity: string;
  /** Per-unit price (decimal string, major units) when the line is quantity × price. */
  readonly unitPrice: string | null;
  readonly amountMinor: number;
}

export interface UsagePricing {
  readonly lines: readonly UsageLine[];
  readonly totalMinor: number;
  readonly billableQuantity: string;
}

export function priceUsage(input: UsagePricingInput): UsagePricing {
  const quantity = dec(input.quantity);
  if (quantity.units < 0n) throw new RangeError(`quantity must be >= 0, got ${input.quantity}`);
  const included = input.includedQuantity === undefined ? ZERO : dec(input.includedQuantity);
  if (included.units < 0n)
    throw new RangeError(`includedQuantity must be >= 0, got ${input.includedQuantity}`);
  const billable = max(sub(quantity, included), ZERO);
  const label = input.unitLabel ?? 'units';
  const round = (amount: ExactDecimal) => toMinor(amount, input.currency, input.roundingMode);

  const lines: UsageLine[] = [];
  const line = (
    description: string,
    qty: ExactDecimal,
    unitPrice: ExactDecimal | null,
    amount: ExactDecimal,
  ) =>
    lines.push({
      description,
      quantity: format(qty),
      unitPrice: unitPrice === null ? null : format(unitPrice),
      amountMinor: round(amount),
    });

  const { price } = input;
  switch (price.model) {
    case 'per_unit': {
      const unit = nonNegative(price.unitPrice, 'unitPrice');
      line(`${format(billable)} ${label} × ${format(unit)}`, billable, unit, mul(billable, unit));
      break;
    }
    case 'package': {
      const size = dec(price.packageSize);
      if (size.units <= 0n) throw new RangeError(`packageSize must be > 0, got ${price.packageSize}`);
      const packagePrice = nonNegative(price.packagePrice, 'packagePrice');
      // A started package is a whole package.
      const packages: ExactDecimal = { units: ceilDiv(billable, size), scale: 0 };
      line(
        `${format(packages)} × packages of ${format(size)} ${label}`,
        packages,
        packagePrice,
        mul(packages, packagePrice),
      );
      break;
    }
    case 'graduated':
      graduated(validTiers(price.tiers), billable, label, line);
      break;
    case 'volume':
      volume(validTiers(price.tiers), billable, label, line);
      break;
    case 'flat': {
      const amount = nonNegative(price.amount, 'amount');
      line('Flat fee', dec('1'), amount, amount);
      break;
    }
    default:
      throw new RangeError(`unknown price model ${JSON.stringify((price as { model: unknown }).model)}`);
  }

  let totalMinor = lines.reduce((sum, l) => sum + l.amountMinor, 0);
  if (input.minimumAmount !== undefined) {
    const minimumMinor = round(nonNegative(input.minimumAmount, 'minimumAmount'));
    if (totalMinor < minimumMinor) {
      lines.push({
        description: `Minimum commitment ${input.minimumAmount} (true-up)`,
        quantity: '1',
        unitPrice: null,
        amountMinor: minimumMinor - totalMinor,
      });
      totalMinor = minimumMinor;
    }
  }
  return { lines, totalMinor, billableQuantity: format(billable) };
}

type LineSink = (
  description: string,
  qty: ExactDecimal,
  unitPrice: ExactDecimal | null,
  amount: ExactDecimal,
) => void;

interface ParsedTier {
  readonly upTo: ExactDecimal | null;
  readonly unitPrice: ExactDecimal;
  readonly flatFee: ExactDecimal | null;
}

/** Each tier prices the units that fall inside it; a tier's flat fee is due once usage enters it. */
function graduated(
  tiers: readonly ParsedTier[],
  billable: ExactDecimal,
  label: string,
  line: LineSink,
): void {
  let lower = ZERO;
  for (const tier of tiers) {
    const upper = tier.upTo === null ? billable : min(billable, tier.upTo);
    const units = max(sub(upper, lower), ZERO);
    if (units.units > 0n) {
      const range = tier.upTo === null ? `above ${format(lower)}` : `${format(lower)}–${format(tier.upTo)}`;
      line(
        `${format(units)} ${label} (${range}) × ${format(tier.unitPrice)}`,
        units,
        tier.unitPrice,
        mul(units, tier.unitPrice),
      );
      if (tier.flatFee !== null) line(`Tier fee (${range})`, dec('1'), tier.flatFee, tier.flatFee);
    }
    if (tier.upTo === null || compare(billable, tier.upTo) <= 0) break;
    lower = tier.upTo;
  }
}

/** The whole quantity is priced at the tier it falls in. */
function volume(tiers: readonly ParsedTier[], billable: ExactDecimal, label: string, line: LineSink): void {
  const tier =
    tiers.find((t) => t.upTo === null || compare(billable, t.upTo) <= 0) ?? tiers[tiers.length - 1];
  if (tier === undefined) throw new RangeError('volume pricing needs tiers');
  line(
    `${format(billable)} ${label} × ${format(tier.unitPrice)} (volume)`,
    billable,
    tier.unitPrice,
    mul(billable, tier.unitPrice),
  );
  if (tier.flatFee !== null && billable.units > 0n) line('Tier fee', dec('1'), tier.flatFee, tier.flatFee);
}

function validTiers(tiers: readonly Tier[]): ParsedTier[] {
  if (tiers.length === 0 || tiers.length > 50) throw new RangeError('tiers: 1..50 tiers are required');
  let previous: ExactDecimal = ZERO;
  return tiers.map((tier, index) => {
    const last = index === tiers.length - 1;
    if ((tier.upTo === null) !== last)
      throw new RangeError(`tiers[${index}].upTo: only the last tier is unbounded (null)`);
    const upTo = tier.upTo === null ? null : dec(tier.upTo);
    if (upTo !== null && compare(upTo, previous) <= 0) {
      throw new RangeError(`tiers[${index}].upTo must be above the previous tier's (${format(previous)})`);
    }
    if (upTo !== null) previous = upTo;
    return {
      upTo,
      unitPrice: nonNegative(tier.unitPrice, `tiers[${index}].unitPrice`),
      flatFee: tier.flatFee === undefined ? null : nonNegative(tier.flatFee, `tiers[${index}].flatFee`),
    };
  });
}

function nonNegative(value: string, field: string): ExactDecimal {
  const parsed = dec(value);
  if (parsed.units < 0n) throw new RangeError(`${field} must be >= 0, got ${value}`);
  return parsed;
}
