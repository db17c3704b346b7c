// Builders for tax requests, so each test states only what matters to it.

import type {
  BuyerTaxProfile,
  SellerTaxProfile,
  TaxCategory,
  TaxLineInput,
  TaxRequest,
} from '../../../../src/domain/tax/types';
import type { RoundingMode } from '../../../../src/domain/rounding';

export interface SellerOptions {
  readonly country: string;
  readonly region?: string;
  readonly countries?: readonly string[];
  readonly euOss?: boolean;
  readonly usNexusStates?: readonly string[];
  readonly inGstState?: string;
}

export function seller(options: SellerOptions): SellerTaxProfile {
  return {
    address: {
      country: options.country,
      ...(options.region === undefined ? {} : { region: options.region }),
    },
    taxIds: [],
    registrations: {
      countries: options.countries ?? [],
      euOss: options.euOss ?? false,
      usNexusStates: options.usNexusStates ?? [],
      ...(options.inGstState === undefined ? {} : { inGstState: options.inGstState }),
    },
  };
}

export function consumer(country: string, region?: string): BuyerTaxProfile {
  return { address: { country, ...(region === undefined ? {} : { region }) } };
}

export function business(
  country: string,
  taxId: { type: string; value: string },
  region?: string,
): BuyerTaxProfile {
  return { ...consumer(country, region), taxId };
}

export function line(
  amountMinor: number,
  options: { ref?: string; category?: TaxCategory; taxBehavior?: 'exclusive' | 'inclusive' } = {},
): TaxLineInput {
  return {
    ref: options.ref ?? '0',
    amountMinor,
    category: options.category ?? 'saas',
    taxBehavior: options.taxBehavior ?? 'exclusive',
  };
}

export function request(
  parts: Pick<TaxRequest, 'seller' | 'buyer'> &
    Partial<Pick<TaxRequest, 'currency' | 'taxDate' | 'roundingMode'>> & {
      readonly lines: readonly TaxLineInput[];
    },
): TaxRequest {
  return {
    currency: parts.currency ?? 'EUR',
    taxDate: parts.taxDate ?? '2026-03-01',
    roundingMode: parts.roundingMode ?? ('half_even' satisfies RoundingMode),
    seller: parts.seller,
    buyer: parts.buyer,
    lines: parts.lines,
  };
}

// Tax ids that pass their checksums (public examples: a German federal agency, a French company,
// the ATO's documented ABN, IRD's documented number, CRA-style Luhn-valid BN, a published GSTIN).
export const IDS = {
  de: { type: 'eu_vat', value: 'DE 136 695 976' },
  fr: { type: 'eu_vat', value: 'FR40303265045' },
  gb: { type: 'gb_vat', value: 'GB980780684' },
  ch: { type: 'ch_vat', value: 'CHE-116.281.710 MWST' },
  no: { type: 'no_vat', value: 'NO 974 760 673 MVA' },
  au: { type: 'au_abn', value: '51 824 753 556' },
  nz: { type: 'nz_gst', value: '49-091-850' },
  sg: { type: 'sg_gst', value: '200312345M' },
  ca: { type: 'ca_bn', value: '12302 6635 RT 0001' },
  in: { type: 'in_gst', value: '27AAPFU0939F1ZV' },
  us: { type: 'us_ein', value: '12-3456789' },
} as const;
