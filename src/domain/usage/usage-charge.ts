// A usage charge: one meter of a plan priced with one price model (Lago's "charge"). The pricing is
// kept in its wire form — amounts in integer minor units, unit prices below one minor unit as decimal
// strings of minor units (Stripe's unit_amount_decimal) — and turned into the domain's PriceModel
// (major units, exact decimals) only when a period is priced. Nothing here is ever a float.

import { currencyExponent } from '../money/currencies';
import { dec, format } from '../pricing/exact';
import type { PriceModel, Tier } from '../pricing/price-models';

export const CHARGE_MODELS = ['per_unit', 'package', 'graduated', 'volume', 'flat'] as const;
export type ChargeModel = (typeof CHARGE_MODELS)[number];

export interface ChargeTier {
  /** Inclusive upper bound (canonical decimal string of units); null on the last tier only. */
  readonly up_to: string | null;
  /** Price per unit in minor units, a canonical decimal string ('0.04' = 0.04 cents). */
  readonly unit_amount_decimal: string;
  /** Integer minor units, charged once for the tier (see price-models.ts). */
  readonly flat_amount?: number;
}

/** As stored in plan_usage_charges.pricing (normalized by the API). */
export type ChargePricing =
  | { readonly model: 'per_unit'; readonly unit_amount_decimal: string }
  | { readonly model: 'package'; readonly package_size: string; readonly package_amount: number }
  | { readonly model: 'graduated' | 'volume'; readonly tiers: readonly ChargeTier[] }
  | { readonly model: 'flat'; readonly amount: number };

export interface UsageCharge {
  readonly id: string;
  readonly planId: string;
  readonly meterId: string;
  readonly name: string;
  readonly currency: string;
  readonly pricing: ChargePricing;
  /** Canonical decimal string, '0' when nothing is included. */
  readonly includedQuantity: string;
  readonly minimumAmountMinor: number | null;
  /** Subset of the meter's group_by; empty = one line over all groups. */
  readonly groupBy: readonly string[];
}

/** '4.5' minor units of USD → '0.045' (major units), exactly. */
export function minorToMajor(minor: string | number, currency: string): string {
  const parsed = dec(typeof minor === 'number' ? String(minor) : minor);
  return format({ units: parsed.units, scale: parsed.scale + currencyExponent(currency) });
}

/** The domain price model (major units) of a stored charge pricing. */
export function priceModelOf(pricing: ChargePricing, currency: string): PriceModel {
  const major = (minor: string | number) => minorToMajor(minor, currency);
  switch (pricing.model) {
    case 'per_unit':
      return { model: 'per_unit', unitPrice: major(pricing.unit_amount_decimal) };
    case 'package':
      return {
        model: 'package',
        packageSize: pricing.package_size,
        packagePrice: major(pricing.package_amount),
      };
    case 'graduated':
    case 'volume':
      return {
        model: pricing.model,
        tiers: pricing.tiers.map((tier): Tier => ({
          upTo: tier.up_to,
          unitPrice: major(tier.unit_amount_decimal),
          ...(tier.flat_amount === undefined ? {} : { flatFee: major(tier.flat_amount) }),
        })),
      };
    case 'flat':
      return { model: 'flat', amount: major(pricing.amount) };
    default:
      throw new RangeError(`unknown charge model ${JSON.stringify((pricing as { model: unknown }).model)}`);
  }
}
