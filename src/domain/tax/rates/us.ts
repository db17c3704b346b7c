// US sales tax at state level: the 50 states and DC, statewide rates only.
//
// `ratePercent` is the statewide rate: the state's own rate plus a local add-on only where the same
// add-on is levied everywhere in the state and reported on the state return (California 7.25 % =
// 6 % state + 1.25 % uniform local; Utah 6.1 % = 4.85 % + 1.25 %; Virginia 5.3 % = 4.3 % + 1 %).
// County, city and district taxes are NOT included: a provider with address-level data (Avalara,
// Stripe Tax) is needed for those. Taxability of SaaS follows each state's statute, regulation or
// published guidance as summarised in the comments; UNCERTAIN marks a call the guidance leaves open
// (business/consumer splits, old rulings) — review those before relying on them.
//
// `digitalProducts` (e-books) and `services` (consulting, support) are best-effort flags: digital
// products follow each state's "specified digital products" law, professional services are taxed
// only by the broad-based service taxes of Hawaii, New Mexico and South Dakota.

import type { UsStatePeriod, UsStateTable, UsTaxability } from './types';

const FROM = '2021-07-01';

interface Steady {
  readonly saas: UsTaxability;
  readonly digitalProducts: UsTaxability;
  readonly services?: UsTaxability;
  readonly saasRatePercent?: string;
  readonly saasTaxablePercent?: string;
}

/** A state whose rate and rules have not changed since the tables start. */
function steady(state: string, name: string, ratePercent: string, rules: Steady): UsStateTable {
  return { state, name, periods: [{ effectiveFrom: FROM, ratePercent, services: 'not_taxable', ...rules }] };
}

function changing(state: string, name: string, periods: readonly UsStatePeriod[]): UsStateTable {
  return { state, name, periods };
}

const NONE: Steady = { saas: 'not_taxable', digitalProducts: 'not_taxable' };

export const US_STATE_TABLES: readonly UsStateTable[] = [
  // SaaS: UNCERTAIN — Alabama taxes canned software however delivered but treats remote access as a
  // non-taxable service in practice.
  steady('AL', 'Alabama', '4', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // No state sales tax (local taxes only, via the Alaska Remote Seller Sales Tax Commission).
  steady('AK', 'Alaska', '0', NONE),
  // Transaction privilege tax; SaaS taxed as rental of tangible personal property. UNCERTAIN.
  steady('AZ', 'Arizona', '5.6', { saas: 'taxable', digitalProducts: 'taxable' }),
  steady('AR', 'Arkansas', '6.5', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // Rev. & Tax. Code §6051 etc.: SaaS and digital products are not tangible personal property.
  steady('CA', 'California', '7.25', NONE),
  // State level: SaaS not taxable (home-rule cities may tax it); digital goods taxable since 2021.
  steady('CO', 'Colorado', '2.9', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // Computer and data processing services (incl. SaaS) at 1 % (Conn. Gen. Stat. §12-408(1)(H)).
  steady('CT', 'Connecticut', '6.35', { saas: 'taxable', saasRatePercent: '1', digitalProducts: 'taxable' }),
  // No sales tax (gross receipts tax on the seller instead).
  steady('DE', 'Delaware', '0', NONE),
  // D.C. Code §47-2001: SaaS and digital goods taxable since 2019. 6 % → 6.5 % on 2025-10-01
  // (Fiscal Year 2025 Budget Support Act). UNCERTAIN: the further step to 7 % scheduled for
  // 2026-10-01 — add a row here once confirmed.
  changing('DC', 'District of Columbia', [
    {
      effectiveFrom: FROM,
      effectiveTo: '2025-09-30',
      ratePercent: '6',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'not_taxable',
    },
    {
      effectiveFrom: '2025-10-01',
      ratePercent: '6.5',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'not_taxable',
    },
  ]),
  steady('FL', 'Florida', '6', NONE),
  steady('GA', 'Georgia', '4', NONE),
  // General excise tax on gross receipts of nearly every business activity, services included.
  steady('HI', 'Hawaii', '4', { saas: 'taxable', digitalProducts: 'taxable', services: 'taxable' }),
  // Idaho Code §63-3616 (2018): remotely accessed software is not taxable.
  steady('ID', 'Idaho', '6', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // State level not taxable (Chicago's lease transaction tax is local and out of scope).
  steady('IL', 'Illinois', '6.25', NONE),
  steady('IN', 'Indiana', '7', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // Iowa Code §423.3(104): SaaS and digital products exempt when sold to a business for business use.
  steady('IA', 'Iowa', '6', { saas: 'consumer_only', digitalProducts: 'consumer_only' }),
  steady('KS', 'Kansas', '6.5', NONE),
  // KRS 139.200 (HB 8, 2022): prewritten computer software access services taxable from 2023-01-01.
  changing('KY', 'Kentucky', [
    {
      effectiveFrom: FROM,
      effectiveTo: '2022-12-31',
      ratePercent: '6',
      saas: 'not_taxable',
      digitalProducts: 'taxable',
      services: 'not_taxable',
    },
    {
      effectiveFrom: '2023-01-01',
      ratePercent: '6',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'not_taxable',
    },
  ]),
  // State rate 4.45 % → 5 % on 2025-01-01 (Act 11 of the 2024 3rd Extraordinary Session), which also
  // brought digital products and remotely accessed software into the base. UNCERTAIN for SaaS.
  changing('LA', 'Louisiana', [
    {
      effectiveFrom: FROM,
      effectiveTo: '2024-12-31',
      ratePercent: '4.45',
      saas: 'not_taxable',
      digitalProducts: 'not_taxable',
      services: 'not_taxable',
    },
    {
      effectiveFrom: '2025-01-01',
      ratePercent: '5',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'not_taxable',
    },
  ]),
  steady('ME', 'Maine', '5.5', NONE),
  // Digital products incl. SaaS taxable since 2021-03-14. UNCERTAIN: the 2025 Budget Reconciliation
  // Act's 3 % tax on data and IT services (from 2025-07-01) and business-use carve-outs.
  steady('MD', 'Maryland', '6', { saas: 'taxable', digitalProducts: 'taxable' }),
  // 830 CMR 64H.1.3: prewritten software accessed remotely is taxable.
  steady('MA', 'Massachusetts', '6.25', { saas: 'taxable', digitalProducts: 'not_taxable' }),
  steady('MI', 'Michigan', '6', NONE),
  // SaaS not taxable; specified digital products taxable. UNCERTAIN for SaaS.
  steady('MN', 'Minnesota', '6.875', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // Computer software services taxable (Miss. Code §27-65-23).
  steady('MS', 'Mississippi', '7', { saas: 'taxable', digitalProducts: 'taxable' }),
  steady('MO', 'Missouri', '4.225', NONE),
  // No sales tax.
  steady('MT', 'Montana', '0', NONE),
  // UNCERTAIN: remote access to software treated as not taxable.
  steady('NE', 'Nebraska', '5.5', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  steady('NV', 'Nevada', '6.85', NONE),
  // No sales tax.
  steady('NH', 'New Hampshire', '0', NONE),
  // SaaS not taxable; specified digital products taxable.
  steady('NJ', 'New Jersey', '6.625', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  // Gross receipts tax on services incl. SaaS: 5.125 % → 5 % on 2022-07-01 → 4.875 % on 2023-07-01 (two 0.125-point cuts enacted in 2022).
  changing('NM', 'New Mexico', [
    {
      effectiveFrom: FROM,
      effectiveTo: '2022-06-30',
      ratePercent: '5.125',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'taxable',
    },
    {
      effectiveFrom: '2022-07-01',
      effectiveTo: '2023-06-30',
      ratePercent: '5',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'taxable',
    },
    {
      effectiveFrom: '2023-07-01',
      ratePercent: '4.875',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'taxable',
    },
  ]),
  // Tax Law §1105(a): prewritten software taxable however delivered, SaaS included; e-books are not.
  steady('NY', 'New York', '4', { saas: 'taxable', digitalProducts: 'not_taxable' }),
  steady('NC', 'North Carolina', '4.75', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  steady('ND', 'North Dakota', '5', NONE),
  // Automatic data processing and electronic information services are taxable when bought for use
  // in business, not for personal use (ORC 5739.01(B)(3)).
  steady('OH', 'Ohio', '5.75', { saas: 'business_only', digitalProducts: 'taxable' }),
  steady('OK', 'Oklahoma', '4.5', NONE),
  // No sales tax.
  steady('OR', 'Oregon', '0', NONE),
  // Canned software accessed remotely taxable since 2016 (Act 84 of 2016).
  steady('PA', 'Pennsylvania', '6', { saas: 'taxable', digitalProducts: 'taxable' }),
  // Vendor-hosted prewritten software taxable since 2018-10-01.
  steady('RI', 'Rhode Island', '7', { saas: 'taxable', digitalProducts: 'taxable' }),
  // SaaS taxable as a communications/data service (SC Department of Revenue rulings). UNCERTAIN.
  steady('SC', 'South Carolina', '6', { saas: 'taxable', digitalProducts: 'not_taxable' }),
  // Broad tax on services; 4.5 % → 4.2 % on 2023-07-01 (2023 session law), scheduled to return to
  // 4.5 % on 2027-07-01 — add that row when it is confirmed.
  changing('SD', 'South Dakota', [
    {
      effectiveFrom: FROM,
      effectiveTo: '2023-06-30',
      ratePercent: '4.5',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'taxable',
    },
    {
      effectiveFrom: '2023-07-01',
      ratePercent: '4.2',
      saas: 'taxable',
      digitalProducts: 'taxable',
      services: 'taxable',
    },
  ]),
  // Tenn. Code §67-6-231: remotely accessed prewritten software taxable.
  steady('TN', 'Tennessee', '7', { saas: 'taxable', digitalProducts: 'taxable' }),
  // Data processing services: 80 % of the price is taxable (Tax Code §151.351), so 6.25 % × 80 % = 5 %.
  steady('TX', 'Texas', '6.25', { saas: 'taxable', saasTaxablePercent: '80', digitalProducts: 'taxable' }),
  steady('UT', 'Utah', '6.1', { saas: 'taxable', digitalProducts: 'taxable' }),
  // Remotely accessed prewritten software taxable since the moratorium ended (2015). UNCERTAIN.
  steady('VT', 'Vermont', '6', { saas: 'taxable', digitalProducts: 'taxable' }),
  steady('VA', 'Virginia', '5.3', NONE),
  // RCW 82.04.192: digital automated services (SaaS) and digital products taxable.
  steady('WA', 'Washington', '6.5', { saas: 'taxable', digitalProducts: 'taxable' }),
  // UNCERTAIN: remotely accessed software treated as taxable.
  steady('WV', 'West Virginia', '6', { saas: 'taxable', digitalProducts: 'taxable' }),
  steady('WI', 'Wisconsin', '5', { saas: 'not_taxable', digitalProducts: 'taxable' }),
  steady('WY', 'Wyoming', '4', { saas: 'not_taxable', digitalProducts: 'taxable' }),
];
