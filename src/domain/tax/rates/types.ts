// The shape of the built-in rate tables. Tables are data: a rate change is a new row with its
// `effectiveFrom` (and an `effectiveTo` on the row it replaces), never a code change.
//
// Dates are 'YYYY-MM-DD' (the tax point's calendar day); `effectiveTo` is the LAST day a row is in
// force (inclusive), so a change on 2025-07-01 reads `effectiveTo: '2025-06-30'` on the old row and
// `effectiveFrom: '2025-07-01'` on the new one. Rows of one series are sorted, contiguous and
// non-overlapping (a unit test checks every table). Rates are exact decimal percentage strings.

import type { TaxCategory } from '../types';

/** The first tax point the tables cover: the start of the EU One-Stop Shop (1 July 2021). */
export const TABLES_COVER_FROM = '2021-07-01';

export type RateKind = 'standard' | 'reduced' | 'super_reduced' | 'parking' | 'zero';

/** A validity window shared by every dated row. */
export interface Dated {
  readonly effectiveFrom: string;
  readonly effectiveTo?: string;
}

/** One rate in force over a window. */
export interface RatePeriod extends Dated {
  readonly ratePercent: string;
  readonly rateKind: RateKind;
}

/** A VAT/GST country with one tax per category (the EU states, GB, CH, NO, AU, NZ, SG, JP). */
export interface CountryRateTable {
  readonly country: string;
  readonly name: string;
  /** 'VAT', 'GST', 'JCT': the name printed on the invoice and grouped by the reports. */
  readonly taxName: string;
  readonly rates: Readonly<Record<TaxCategory, readonly RatePeriod[]>>;
}

/** How a US state treats a category: taxed in full, not at all, or only for one kind of buyer. */
export type UsTaxability = 'taxable' | 'not_taxable' | 'business_only' | 'consumer_only';

/** A US state's statewide sales tax over a window. */
export interface UsStatePeriod extends Dated {
  /** The statewide rate (state rate plus any statewide-uniform local add-on, see us.ts). */
  readonly ratePercent: string;
  /** SaaS / remotely accessed prewritten software. */
  readonly saas: UsTaxability;
  /** A rate for SaaS other than the general rate (Connecticut taxes data processing at 1 %). */
  readonly saasRatePercent?: string;
  /** The part of a SaaS price that is taxable (Texas: 80 % of data processing services). */
  readonly saasTaxablePercent?: string;
  /** Digital products such as e-books ("specified digital products"). */
  readonly digitalProducts: UsTaxability;
  /** Professional services (consulting, support) — taxed only by broad service-tax states. */
  readonly services: UsTaxability;
}

export interface UsStateTable {
  readonly state: string;
  readonly name: string;
  readonly periods: readonly UsStatePeriod[];
}

/** One tax a Canadian province's buyer pays: the federal GST, an HST, or a provincial PST/QST/RST. */
export interface CanadianLevy {
  /** 'CA' for the federal GST, 'CA-ON' for Ontario's HST, 'CA-QC' for Quebec's QST. */
  readonly jurisdiction: string;
  readonly taxName: 'GST' | 'HST' | 'QST' | 'PST' | 'RST';
  readonly ratePercent: string;
  /** Categories the levy applies to (a provincial sales tax may spare e-books or consulting). */
  readonly categories: readonly TaxCategory[];
}

export interface CanadianProvincePeriod extends Dated {
  readonly levies: readonly CanadianLevy[];
}

export interface CanadianProvinceTable {
  readonly province: string;
  readonly name: string;
  readonly periods: readonly CanadianProvincePeriod[];
}

/** India's GST: one total rate per category, split CGST + SGST/UTGST or charged as IGST. */
export interface IndiaGstTable {
  readonly rates: Readonly<Record<TaxCategory, readonly RatePeriod[]>>;
  /** ISO 3166-2:IN codes of the states and union territories (old and 2023 codes both accepted). */
  readonly states: readonly string[];
  /** Union territories without a legislature levy UTGST instead of SGST. */
  readonly utgstTerritories: readonly string[];
}
