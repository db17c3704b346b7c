// The tax engine's contract: what an invoice asks, what a provider answers.
//
// Pure data that crosses activity boundaries as JSON. Amounts are signed integer minor units (a
// negative line is a credit and is taxed the same way, with the sign kept); rates are exact decimal
// percentage strings ('19', '9.975', '25.5'), never floats. A provider is a pure function of the
// request and its rate table: the same request always yields the same answer, so a retried invoice
// activity computes the same tax.

import type { RoundingMode } from '../rounding';

/**
 * What a line sells, for tax purposes. Rates differ by category (an e-book is reduced in most EU
 * states; SaaS is standard-rated in the EU but untaxed in many US states).
 * - `saas`: software as a service and other electronically supplied services (the default);
 * - `ebooks`: electronic publications;
 * - `general_services`: other services (consulting, support) taxed where the seller is, or at the
 *   standard rate of the place of supply;
 */
export const TAX_CATEGORIES = ['saas', 'ebooks', 'general_services'] as const;
export type TaxCategory = (typeof TAX_CATEGORIES)[number];

/** Whether a line's amount already contains the tax (`inclusive`) or tax is added on top. */
export const TAX_BEHAVIORS = ['exclusive', 'inclusive'] as const;
export type TaxBehavior = (typeof TAX_BEHAVIORS)[number];

export interface TaxAddress {
  /** ISO 3166-1 alpha-2, upper case: 'DE', 'US', 'CA', 'IN'. */
  readonly country: string;
  /**
   * ISO 3166-2 subdivision code without the country prefix, upper case, where tax depends on it:
   * US state ('CA', 'TX', 'NY'), Canadian province ('ON', 'QC'), Indian state ('MH', 'KA').
   */
  readonly region?: string;
  readonly postalCode?: string;
}

/** A tax identification number as the customer or seller gave it. */
export interface TaxId {
  /** 'eu_vat' ('DE123456789'), 'gb_vat', 'ch_vat', 'no_vat', 'au_abn', 'nz_gst', 'sg_gst', 'ca_bn', 'in_gst', 'us_ein'. */
  readonly type: string;
  readonly value: string;
}

export const EXEMPTION_REASONS = ['non_profit', 'government', 'reseller', 'enterprise', 'other'] as const;
export type ExemptionReason = (typeof EXEMPTION_REASONS)[number];

/** A customer's tax exemption: recorded on every invoice it applies to. */
export interface TaxExemption {
  readonly reason: ExemptionReason;
  /** The exemption certificate's reference (e.g. a US resale certificate number). */
  readonly certificate: string;
}

/** The seller (the tenant) as the tax engine needs it. */
export interface SellerTaxProfile {
  /** Where the seller is established. */
  readonly address: TaxAddress;
  readonly taxIds: readonly TaxId[];
  /**
   * Where the seller collects tax beyond its home country:
   * - `countries`: registrations for VAT/GST abroad ('GB', 'CH', 'NO', 'AU', 'NZ', 'SG', 'CA', 'IN');
   * - `euOss`: registered for the EU One-Stop Shop, so B2C sales to other member states are taxed
   *   at the customer's rate (an EU seller below the EUR 10,000 threshold may stay at home rates,
   *   which is `euOss: false`);
   * - `usNexusStates`: US states where the seller has nexus ('CA', 'NY', …);
   * - `inGstState`: the Indian state of the seller's GSTIN (intra- vs inter-state supply).
   */
  readonly registrations: {
    readonly countries: readonly string[];
    readonly euOss: boolean;
    readonly usNexusStates: readonly string[];
    readonly inGstState?: string;
  };
}

export interface BuyerTaxProfile {
  readonly address: TaxAddress;
  /** A business customer's tax id; its presence (and validity) makes the sale B2B. */
  readonly taxId?: TaxId;
  readonly exemption?: TaxExemption;
}

export interface TaxLineInput {
  /** The caller's reference for the line (its position or id), echoed back. */
  readonly ref: string;
  /** Signed minor units; with `inclusive` the amount contains the tax. */
  readonly amountMinor: number;
  readonly category: TaxCategory;
  readonly taxBehavior: TaxBehavior;
}

export interface TaxRequest {
  /** ISO 4217 of the amounts. */
  readonly currency: string;
  /**
   * The tax point, 'YYYY-MM-DD' (UTC): the rate in force on this date applies to every line. For
   * subscriptions billed in advance this is the invoice's issue date (continuous supplies are
   * chargeable when invoiced; see docs/adr for the rule and its alternatives).
   */
  readonly taxDate: string;
  readonly seller: SellerTaxProfile;
  readonly buyer: BuyerTaxProfile;
  readonly lines: readonly TaxLineInput[];
  /** How tax is rounded to minor units (the tenant's setting; half-even by default). */
  readonly roundingMode: RoundingMode;
}

/**
 * Why a line is taxed the way it is:
 * - `taxed`: tax charged at the rate(s) given;
 * - `reverse_charge`: B2B cross-border; the buyer accounts for the tax (0 charged, legal mention);
 * - `exempt`: the buyer is exempt (certificate recorded);
 * - `not_taxable`: the jurisdiction does not tax this category (e.g. SaaS in California);
 * - `no_registration`: the seller is not registered / has no nexus where the tax would be due;
 * - `outside_scope`: an export of services outside the seller's tax territory.
 */
export const TAX_TREATMENTS = [
  'taxed',
  'reverse_charge',
  'exempt',
  'not_taxable',
  'no_registration',
  'outside_scope',
] as const;
export type TaxTreatment = (typeof TAX_TREATMENTS)[number];

/** One tax levied on a line: a line in Quebec carries GST and QST; one in Delhi from Mumbai, IGST. */
export interface TaxComponent {
  /** 'DE', 'US-CA', 'CA-QC', 'CA' (federal GST), 'IN', 'IN-MH'. */
  readonly jurisdiction: string;
  /** 'VAT', 'GST', 'HST', 'PST', 'QST', 'CGST', 'SGST', 'IGST', 'Sales tax'. */
  readonly taxName: string;
  /** Exact decimal percentage: '19', '9.975'. */
  readonly ratePercent: string;
  /** 'standard', 'reduced', 'super_reduced', 'zero', … as the rate table names it. */
  readonly rateKind: string;
  readonly amountMinor: number;
}

export interface TaxLineResult {
  readonly ref: string;
  /** The line's amount without tax (for an exclusive line, its input amount). */
  readonly netAmountMinor: number;
  /** Σ components. */
  readonly taxAmountMinor: number;
  readonly treatment: TaxTreatment;
  readonly components: readonly TaxComponent[];
}

/** One row of the invoice's tax summary: every line taxed at one rate in one jurisdiction. */
export interface TaxSummaryRow {
  readonly jurisdiction: string;
  readonly taxName: string;
  readonly ratePercent: string;
  readonly rateKind: string;
  readonly treatment: TaxTreatment;
  readonly taxableAmountMinor: number;
  readonly taxAmountMinor: number;
}

export interface TaxResult {
  readonly lines: readonly TaxLineResult[];
  readonly summary: readonly TaxSummaryRow[];
  /** Σ line net amounts. */
  readonly netTotalMinor: number;
  /** Σ line tax amounts = Σ summary tax amounts. */
  readonly taxTotalMinor: number;
  /**
   * Wording the invoice must carry, e.g. 'Reverse charge: VAT to be accounted for by the recipient
   * (Article 196, Council Directive 2006/112/EC)', or the exemption certificate.
   */
  readonly legalNotes: readonly string[];
  /** The buyer's tax id when it was accepted (valid format) and used for the decision. */
  readonly buyerTaxIdUsed: TaxId | null;
  /** Which rate table produced the answer, e.g. 'ledgerline-rates@2026-11-01'. */
  readonly source: string;
}

/** Avalara, Stripe Tax or the built-in tables plug in behind this. */
export interface TaxProvider {
  readonly name: string;
  calculate(request: TaxRequest): TaxResult | Promise<TaxResult>;
}
