// The built-in TaxProvider: dated rate tables shipped as data (./rates), place-of-supply rules
// (./place-of-supply.ts) and exact per-line arithmetic (./tax-arithmetic.ts). Pure: the tax date
// comes in the request, so a retried invoice activity computes the same answer. How it decides is
// documented in docs/tax.md.

import { currencyExponent } from '../money';
import { assertRoundingMode } from '../rounding';
import { InvalidTaxRequestError } from './errors';
import { exemptionNote } from './legal-notes';
import { decideTreatment, type LineDecision, type SaleContext } from './place-of-supply';
import { RATES_VERSION } from './rates';
import { exclusiveTaxMinor, inclusiveTaxMinor, taxableBaseMinor } from './tax-arithmetic';
import { assertTaxInvariants, summarize, type SummaryEntry } from './tax-summary';
import {
  TAX_BEHAVIORS,
  TAX_CATEGORIES,
  type BuyerTaxProfile,
  type TaxAddress,
  type TaxCategory,
  type TaxComponent,
  type TaxId,
  type TaxLineInput,
  type TaxLineResult,
  type TaxProvider,
  type TaxRequest,
  type TaxResult,
} from './types';
import { taxIdCountry, validateTaxId } from './vat-id';

export const TABLE_TAX_PROVIDER_NAME = 'ledgerline-tables';

export function createTableTaxProvider(): TaxProvider {
  return { name: TABLE_TAX_PROVIDER_NAME, calculate: calculateTableTax };
}

export function calculateTableTax(request: TaxRequest): TaxResult {
  assertValidRequest(request);
  const buyerBusinessId = acceptedBusinessId(request.buyer);
  const sale: SaleContext = {
    taxDate: request.taxDate,
    seller: { ...request.seller, address: normalizedAddress(request.seller.address, 'seller') },
    buyerAddress: normalizedAddress(request.buyer.address, 'buyer'),
    buyerBusinessId,
  };
  // The decision depends on the category only (never the amount): decide once per category.
  const decisions = new Map<TaxCategory, LineDecision>();
  const decisionFor = (category: TaxCategory): LineDecision => {
    const known = decisions.get(category);
    if (known !== undefined) return known;
    const decided = withExemption(decideTreatment(sale, category), request.buyer);
    decisions.set(category, decided);
    return decided;
  };

  const notes: string[] = [];
  const entries: SummaryEntry[] = [];
  const lines = request.lines.map((line) => {
    const decision = decisionFor(line.category);
    if (
      decision.treatment !== 'taxed' &&
      decision.legalNote !== undefined &&
      !notes.includes(decision.legalNote)
    ) {
      notes.push(decision.legalNote);
    }
    const { result, summaryEntries } = taxLine(line, decision, request);
    entries.push(...summaryEntries);
    return result;
  });
  const summary = summarize(entries);
  const netTotalMinor = lines.reduce((sum, line) => sum + line.netAmountMinor, 0);
  const taxTotalMinor = lines.reduce((sum, line) => sum + line.taxAmountMinor, 0);
  assertTaxInvariants(request.lines, lines, summary, { netTotalMinor, taxTotalMinor });
  return {
    lines,
    summary,
    netTotalMinor,
    taxTotalMinor,
    legalNotes: notes,
    buyerTaxIdUsed: buyerBusinessId,
    source: RATES_VERSION,
  };
}

/** An exemption replaces tax that would be charged; a sale that is untaxed anyway stays as it is. */
function withExemption(decision: LineDecision, buyer: BuyerTaxProfile): LineDecision {
  if (decision.treatment !== 'taxed' || buyer.exemption === undefined) return decision;
  return {
    treatment: 'exempt',
    reportedUnder: decision.levies.map(({ jurisdiction, taxName }) => ({ jurisdiction, taxName })),
    legalNote: exemptionNote(buyer.exemption),
  };
}

function taxLine(
  line: TaxLineInput,
  decision: LineDecision,
  request: TaxRequest,
): { result: TaxLineResult; summaryEntries: SummaryEntry[] } {
  const mode = request.roundingMode;
  if (decision.treatment !== 'taxed') {
    const summaryEntries = decision.reportedUnder.map((under): SummaryEntry => ({
      ...under,
      ratePercent: '0',
      rateKind: 'none',
      treatment: decision.treatment,
      taxableAmountMinor: line.amountMinor,
      taxAmountMinor: 0,
    }));
    const result: TaxLineResult = {
      ref: line.ref,
      netAmountMinor: line.amountMinor,
      taxAmountMinor: 0,
      treatment: decision.treatment,
      components: [],
    };
    return { result, summaryEntries };
  }
  const { levies } = decision;
  const perLevyMinor =
    line.taxBehavior === 'inclusive'
      ? inclusiveTaxMinor(line.amountMinor, levies, mode).perLevyMinor
      : levies.map((levy) => exclusiveTaxMinor(line.amountMinor, levy, mode));
  const taxAmountMinor = perLevyMinor.reduce((sum, tax) => sum + tax, 0);
  const netAmountMinor =
    line.taxBehavior === 'inclusive' ? line.amountMinor - taxAmountMinor : line.amountMinor;
  const components: TaxComponent[] = [];
  const summaryEntries: SummaryEntry[] = [];
  levies.forEach((levy, index) => {
    const { jurisdiction, taxName, ratePercent, rateKind } = levy;
    const amountMinor = perLevyMinor[index] ?? 0;
    components.push({ jurisdiction, taxName, ratePercent, rateKind, amountMinor });
    summaryEntries.push({
      jurisdiction,
      taxName,
      ratePercent,
      rateKind,
      treatment: 'taxed',
      taxableAmountMinor: taxableBaseMinor(netAmountMinor, levy, mode),
      taxAmountMinor: amountMinor,
    });
  });
  return {
    result: { ref: line.ref, netAmountMinor, taxAmountMinor, treatment: 'taxed', components },
    summaryEntries,
  };
}

/** The buyer's tax id, normalized, when it is valid and issued by the buyer's own country. */
function acceptedBusinessId(buyer: BuyerTaxProfile): TaxId | null {
  if (buyer.taxId === undefined) return null;
  const check = validateTaxId(buyer.taxId);
  if (!check.valid) return null;
  const country = taxIdCountry(buyer.taxId);
  if (country !== buyer.address.country.trim().toUpperCase()) return null;
  return { type: buyer.taxId.type, value: check.normalized };
}

function normalizedAddress(address: TaxAddress, whose: string): TaxAddress {
  const country = address.country.trim().toUpperCase();
  if (!/^[A-Z]{2}$/.test(country)) {
    throw new InvalidTaxRequestError(
      `${whose} country must be ISO 3166-1 alpha-2, got ${JSON.stringify(address.country)}`,
    );
  }
  const region = address.region?.trim().toUpperCase();
  return {
    country,
    ...(region === undefined || region === '' ? {} : { region }),
    ...(address.postalCode === undefined ? {} : { postalCode: address.postalCode }),
  };
}

function assertValidRequest(request: TaxRequest): void {
  const fail = (message: string): never => {
    throw new InvalidTaxRequestError(message);
  };
  if (!isCalendarDate(request.taxDate))
    fail(`taxDate must be a 'YYYY-MM-DD' date, got ${JSON.stringify(request.taxDate)}`);
  try {
    currencyExponent(request.currency);
    assertRoundingMode(request.roundingMode);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const refs = new Set<string>();
  for (const line of request.lines) {
    if (refs.has(line.ref)) fail(`duplicate line ref ${JSON.stringify(line.ref)}`);
    refs.add(line.ref);
    if (!Number.isSafeInteger(line.amountMinor)) fail(`line ${line.ref}: amountMinor must be a safe integer`);
    if (!(TAX_CATEGORIES as readonly string[]).includes(line.category)) {
      fail(`line ${line.ref}: unknown tax category ${JSON.stringify(line.category)}`);
    }
    if (!(TAX_BEHAVIORS as readonly string[]).includes(line.taxBehavior)) {
      fail(`line ${line.ref}: unknown tax behavior ${JSON.stringify(line.taxBehavior)}`);
    }
  }
}

function isCalendarDate(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (match === null) return false;
  const [, year, month, day] = match.map(Number) as [number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}
