// Who taxes a sale, and how: the place-of-supply rules reduced to a decision per tax category.
//
// The decision depends only on the parties, the category and the tax date — never on the amount —
// so the provider decides once per category and applies the decision to every line of it. The
// rules are documented with their legal basis in docs/tax.md; in short:
// - the buyer's country picks the regime (EU, US, Canada, India, a single-rate national VAT/GST);
// - a sale within the seller's own country is taxed there, B2B and B2C alike;
// - a cross-border sale to a business whose tax id is valid for its country is reverse-charged;
// - a cross-border sale to a consumer is taxed where the consumer is if the seller is registered
//   there (EU: or for the One-Stop Shop), at the seller's home rate for an EU seller below the OSS
//   threshold, otherwise it is `no_registration`;
// - US sales tax is due only in nexus states and only on what the state taxes.

import { InvalidTaxRequestError, MissingRegionError, UnsupportedJurisdictionError } from './errors';
import { LEGAL_NOTES, outsideScopeNote } from './legal-notes';
import {
  CANADIAN_PROVINCES,
  EU_TABLES,
  INDIA_GST_TABLE,
  NATIONAL_TABLES,
  US_STATES,
  inForceOn,
  isEuMemberState,
  type CountryRateTable,
  type UsStatePeriod,
  type UsTaxability,
} from './rates';
import type { SellerTaxProfile, TaxAddress, TaxCategory, TaxId, TaxTreatment } from './types';

/** One tax to levy on a line. */
export interface Levy {
  readonly jurisdiction: string;
  readonly taxName: string;
  readonly ratePercent: string;
  readonly rateKind: string;
  /** The part of the price that is taxable, in percent ('80' for SaaS in Texas); all of it if absent. */
  readonly taxablePercent?: string;
}

/** Where an untaxed line is reported: the jurisdiction and tax it was not charged under. */
export interface ReportedUnder {
  readonly jurisdiction: string;
  readonly taxName: string;
}

export type LineDecision =
  | { readonly treatment: 'taxed'; readonly levies: readonly Levy[] }
  | {
      readonly treatment: Exclude<TaxTreatment, 'taxed'>;
      readonly reportedUnder: readonly ReportedUnder[];
      readonly legalNote?: string;
    };

/** The parties as the rules need them (upper-case codes, the buyer's accepted tax id). */
export interface SaleContext {
  readonly taxDate: string;
  readonly seller: SellerTaxProfile;
  readonly buyerAddress: TaxAddress;
  /** The buyer's tax id when valid and issued by the buyer's country: the sale is B2B. */
  readonly buyerBusinessId: TaxId | null;
}

export function decideTreatment(sale: SaleContext, category: TaxCategory): LineDecision {
  const country = sale.buyerAddress.country;
  if (isEuMemberState(country)) return decideEu(sale, category);
  if (country === 'US') return decideUs(sale, category);
  const regime = NATIONAL_REGIMES.get(country);
  if (regime !== undefined) return decideNational(sale, category, regime);
  return decideUncovered(sale);
}

// ---------------------------------------------------------------------------------------------- EU

function decideEu(sale: SaleContext, category: TaxCategory): LineDecision {
  const buyerCountry = sale.buyerAddress.country;
  const sellerCountry = sale.seller.address.country;
  // Domestic supply: the seller's own VAT, whoever buys (Art. 45 / Art. 44 both point home).
  if (sellerCountry === buyerCountry) return taxed([euLevy(buyerCountry, category, sale.taxDate)]);
  // B2B: place of supply where the customer is established (Art. 44); the customer pays (Art. 196).
  if (sale.buyerBusinessId !== null) {
    return {
      treatment: 'reverse_charge',
      reportedUnder: [{ jurisdiction: buyerCountry, taxName: 'VAT' }],
      legalNote: LEGAL_NOTES.euReverseCharge,
    };
  }
  const sellerInEu = isEuMemberState(sellerCountry);
  // B2C general services: taxed where the supplier is established (Art. 45).
  if (category === 'general_services') {
    return sellerInEu ? taxed([euLevy(sellerCountry, category, sale.taxDate)]) : outsideScope(sale);
  }
  // B2C electronically supplied services: where the customer is (Art. 58), declared through the OSS
  // (Union scheme for EU sellers, non-Union scheme for the others) or a local registration.
  if (sale.seller.registrations.euOss || isRegisteredIn(sale.seller, buyerCountry)) {
    return taxed([euLevy(buyerCountry, category, sale.taxDate)]);
  }
  // An EU seller under the EUR 10,000 threshold (Art. 59c) keeps charging its home VAT.
  if (sellerInEu) return taxed([euLevy(sellerCountry, category, sale.taxDate)]);
  return noRegistration(buyerCountry, 'VAT');
}

function euLevy(country: string, category: TaxCategory, taxDate: string): Levy {
  const table = EU_TABLES.get(country);
  if (table === undefined) throw new UnsupportedJurisdictionError(country, 'not an EU member state');
  return tableLevy(table, category, taxDate);
}

function tableLevy(table: CountryRateTable, category: TaxCategory, taxDate: string): Levy {
  const rate = inForceOn(table.rates[category], taxDate, `${table.country} ${table.taxName} (${category})`);
  return {
    jurisdiction: table.country,
    taxName: table.taxName,
    ratePercent: rate.ratePercent,
    rateKind: rate.rateKind,
  };
}

// ---------------------------------------------------------------------------------------------- US

function decideUs(sale: SaleContext, category: TaxCategory): LineDecision {
  const nexus = sale.seller.registrations.usNexusStates.map((state) => state.toUpperCase());
  const state = sale.buyerAddress.region;
  if (state === undefined) {
    // Without a state the tax cannot be decided — unless the seller collects nowhere in the US.
    if (nexus.length === 0) return noRegistration('US', 'Sales tax');
    throw new MissingRegionError('US');
  }
  const jurisdiction = `US-${state}`;
  if (!nexus.includes(state)) return noRegistration(jurisdiction, 'Sales tax');
  const table = US_STATES.get(state);
  if (table === undefined) throw new UnsupportedJurisdictionError(jurisdiction, 'not a US state or DC');
  const period = inForceOn(table.periods, sale.taxDate, `${jurisdiction} sales tax`);
  const rule = usRule(period, category);
  const buyerIsBusiness = sale.buyerBusinessId !== null;
  const applies =
    rule.taxability === 'taxable' ||
    (rule.taxability === 'business_only' && buyerIsBusiness) ||
    (rule.taxability === 'consumer_only' && !buyerIsBusiness);
  if (!applies || rule.ratePercent === '0') {
    return { treatment: 'not_taxable', reportedUnder: [{ jurisdiction, taxName: 'Sales tax' }] };
  }
  return taxed([
    {
      jurisdiction,
      taxName: 'Sales tax',
      ratePercent: rule.ratePercent,
      rateKind: rule.rateKind,
      ...(rule.taxablePercent === undefined ? {} : { taxablePercent: rule.taxablePercent }),
    },
  ]);
}

function usRule(
  period: UsStatePeriod,
  category: TaxCategory,
): { taxability: UsTaxability; ratePercent: string; rateKind: string; taxablePercent?: string } {
  switch (category) {
    case 'saas':
      if (period.saasRatePercent !== undefined) {
        return { taxability: period.saas, ratePercent: period.saasRatePercent, rateKind: 'reduced' };
      }
      if (period.saasTaxablePercent !== undefined) {
        return {
          taxability: period.saas,
          ratePercent: period.ratePercent,
          rateKind: 'partial_base',
          taxablePercent: period.saasTaxablePercent,
        };
      }
      return { taxability: period.saas, ratePercent: period.ratePercent, rateKind: 'standard' };
    case 'ebooks':
      return { taxability: period.digitalProducts, ratePercent: period.ratePercent, rateKind: 'standard' };
    case 'general_services':
      return { taxability: period.services, ratePercent: period.ratePercent, rateKind: 'standard' };
  }
}

// ---------------------------------------------------------------- single-country VAT/GST regimes

/** A country that taxes as one territory (possibly with provincial or state components). */
interface NationalRegime {
  readonly country: string;
  readonly name: string;
  /** The tax an untaxed line is reported under. */
  readonly taxName: string;
  /** The mention for a B2B import of services; null where no buyer tax id type exists (Japan). */
  readonly reverseChargeNote: string | null;
  /** What a non-resident seller registered there collects on from consumers. */
  readonly nonResidentB2cCategories: readonly TaxCategory[];
  levies(sale: SaleContext, category: TaxCategory, sellerIsResident: boolean): readonly Levy[];
}

const DIGITAL: readonly TaxCategory[] = ['saas', 'ebooks'];
const ALL_CATEGORIES: readonly TaxCategory[] = ['saas', 'ebooks', 'general_services'];

function tableRegime(
  country: string,
  reverseChargeNote: string | null,
  nonResidentB2cCategories: readonly TaxCategory[],
): NationalRegime {
  const table = NATIONAL_TABLES.get(country);
  if (table === undefined) throw new Error(`rate tables: no table for ${country}`);
  return {
    country,
    name: table.name,
    taxName: table.taxName,
    reverseChargeNote,
    nonResidentB2cCategories,
    levies: (sale, category) => [tableLevy(table, category, sale.taxDate)],
  };
}

const CANADA: NationalRegime = {
  country: 'CA',
  name: 'Canada',
  taxName: 'GST',
  reverseChargeNote: LEGAL_NOTES.caReverseCharge,
  // The simplified regime covers services and intangibles supplied to consumers (ETA s. 211.1 ff.).
  nonResidentB2cCategories: ALL_CATEGORIES,
  levies: (sale, category) => {
    const province = requireRegion(sale.buyerAddress, 'CA');
    const table = CANADIAN_PROVINCES.get(province);
    if (table === undefined) {
      throw new UnsupportedJurisdictionError(`CA-${province}`, 'not a Canadian province or territory');
    }
    const period = inForceOn(table.periods, sale.taxDate, `CA-${province} GST/HST/PST`);
    return period.levies
      .filter((levy) => levy.categories.includes(category))
      .map((levy) => ({
        jurisdiction: levy.jurisdiction,
        taxName: levy.taxName,
        ratePercent: levy.ratePercent,
        rateKind: 'standard',
      }));
  },
};

// The 2023 revision of ISO 3166-2:IN renamed four codes; both spellings name one state.
const INDIAN_STATE_ALIASES: Readonly<Record<string, string>> = { CT: 'CG', OR: 'OD', TG: 'TS', UT: 'UK' };

function indianState(code: string, whose: string): string {
  if (!INDIA_GST_TABLE.states.includes(code)) {
    throw new UnsupportedJurisdictionError(
      `IN-${code}`,
      `${whose} is not an Indian state or union territory`,
    );
  }
  return INDIAN_STATE_ALIASES[code] ?? code;
}

const INDIA: NationalRegime = {
  country: 'IN',
  name: 'India',
  taxName: 'IGST',
  reverseChargeNote: LEGAL_NOTES.inReverseCharge,
  // OIDAR services by non-residents to non-taxable online recipients (IGST Act s. 14).
  nonResidentB2cCategories: DIGITAL,
  levies: (sale, category, sellerIsResident) => {
    const rate = inForceOn(INDIA_GST_TABLE.rates[category], sale.taxDate, `IN GST (${category})`);
    const igst: Levy = {
      jurisdiction: 'IN',
      taxName: 'IGST',
      ratePercent: rate.ratePercent,
      rateKind: rate.rateKind,
    };
    if (!sellerIsResident) return [igst];
    const sellerRegion = sale.seller.registrations.inGstState ?? sale.seller.address.region;
    if (sellerRegion === undefined) {
      throw new InvalidTaxRequestError('a seller established in India needs registrations.inGstState');
    }
    const from = indianState(sellerRegion.toUpperCase(), 'the seller’s GST state');
    const buyerRegion = requireRegion(sale.buyerAddress, 'IN');
    const to = indianState(buyerRegion, 'the buyer’s state');
    // Inter-state supply: IGST (IGST Act s. 7); intra-state: CGST + SGST/UTGST in halves (s. 8).
    if (from !== to) return [igst];
    const half = halfOfPercent(rate.ratePercent);
    const stateTax = INDIA_GST_TABLE.utgstTerritories.includes(to) ? 'UTGST' : 'SGST';
    return [
      { jurisdiction: 'IN', taxName: 'CGST', ratePercent: half, rateKind: rate.rateKind },
      { jurisdiction: `IN-${buyerRegion}`, taxName: stateTax, ratePercent: half, rateKind: rate.rateKind },
    ];
  },
};

const NATIONAL_REGIMES: ReadonlyMap<string, NationalRegime> = new Map(
  [
    tableRegime('GB', LEGAL_NOTES.gbReverseCharge, DIGITAL),
    tableRegime('CH', LEGAL_NOTES.chReverseCharge, ALL_CATEGORIES),
    tableRegime('NO', LEGAL_NOTES.noReverseCharge, ALL_CATEGORIES),
    tableRegime('AU', LEGAL_NOTES.auReverseCharge, ALL_CATEGORIES),
    tableRegime('NZ', LEGAL_NOTES.nzReverseCharge, ALL_CATEGORIES),
    tableRegime('SG', LEGAL_NOTES.sgReverseCharge, ALL_CATEGORIES),
    // No Japanese business id type exists in the contract: every Japanese buyer is a consumer.
    tableRegime('JP', null, DIGITAL),
    CANADA,
    INDIA,
  ].map((regime) => [regime.country, regime]),
);

function decideNational(sale: SaleContext, category: TaxCategory, regime: NationalRegime): LineDecision {
  if (sale.seller.address.country === regime.country) {
    return taxedOrNothing(regime.levies(sale, category, true), regime);
  }
  if (sale.buyerBusinessId !== null && regime.reverseChargeNote !== null) {
    return {
      treatment: 'reverse_charge',
      reportedUnder: [{ jurisdiction: regime.country, taxName: regime.taxName }],
      legalNote: regime.reverseChargeNote,
    };
  }
  if (!regime.nonResidentB2cCategories.includes(category)) return outsideScope(sale);
  if (!isRegisteredIn(sale.seller, regime.country)) return noRegistration(regime.country, regime.taxName);
  return taxedOrNothing(regime.levies(sale, category, false), regime);
}

/** Every Canadian line carries at least the GST; guard anyway against an empty levy list. */
function taxedOrNothing(levies: readonly Levy[], regime: NationalRegime): LineDecision {
  if (levies.length === 0) {
    return {
      treatment: 'not_taxable',
      reportedUnder: [{ jurisdiction: regime.country, taxName: regime.taxName }],
    };
  }
  return taxed(levies);
}

// -------------------------------------------------------------------- countries without a table

function decideUncovered(sale: SaleContext): LineDecision {
  const country = sale.buyerAddress.country;
  if (isRegisteredIn(sale.seller, country)) {
    throw new UnsupportedJurisdictionError(
      country,
      'the seller is registered there but the tables have no rates',
    );
  }
  if (sale.seller.address.country === country) {
    throw new UnsupportedJurisdictionError(country, 'a domestic sale in a country the tables do not cover');
  }
  return outsideScope(sale);
}

// ------------------------------------------------------------------------------------- helpers

function taxed(levies: readonly Levy[]): LineDecision {
  return { treatment: 'taxed', levies };
}

function noRegistration(jurisdiction: string, taxName: string): LineDecision {
  return { treatment: 'no_registration', reportedUnder: [{ jurisdiction, taxName }] };
}

/**
 * An export of services from the seller's tax territory: reported under the seller's own tax (the
 * VAT return's "supplies outside the scope" box), with the mention where the seller's law has one.
 */
function outsideScope(sale: SaleContext): LineDecision {
  const home = sale.seller.address.country;
  if (isEuMemberState(home)) {
    return {
      treatment: 'outside_scope',
      reportedUnder: [{ jurisdiction: home, taxName: 'VAT' }],
      legalNote: LEGAL_NOTES.euOutsideScope,
    };
  }
  if (home === 'US')
    return { treatment: 'outside_scope', reportedUnder: [{ jurisdiction: 'US', taxName: 'Sales tax' }] };
  const regime = NATIONAL_REGIMES.get(home);
  if (regime === undefined)
    return { treatment: 'outside_scope', reportedUnder: [{ jurisdiction: home, taxName: 'Tax' }] };
  return {
    treatment: 'outside_scope',
    reportedUnder: [{ jurisdiction: home, taxName: regime.taxName }],
    legalNote: outsideScopeNote(regime.name, regime.taxName),
  };
}

function isRegisteredIn(seller: SellerTaxProfile, country: string): boolean {
  return seller.registrations.countries.some((registered) => registered.toUpperCase() === country);
}

function requireRegion(address: TaxAddress, country: string): string {
  if (address.region === undefined) throw new MissingRegionError(country);
  return address.region;
}

/** '18' → '9', '5' → '2.5': an exact decimal halved (India's CGST/SGST split). */
function halfOfPercent(ratePercent: string): string {
  const [whole = '0', fraction = ''] = ratePercent.split('.');
  const units = BigInt(`${whole}${fraction}`) * 5n;
  const scale = fraction.length + 1;
  const digits = units.toString().padStart(scale + 1, '0');
  const integer = digits.slice(0, -scale);
  const decimals = digits.slice(-scale).replace(/0+$/, '');
  return decimals.length === 0 ? integer : `${integer}.${decimals}`;
}
