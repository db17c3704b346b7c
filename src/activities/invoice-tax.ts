import type { PoolClient } from 'pg';
import type { InvoiceLineDraft } from '../domain/billing-types';
import { convertMinor } from '../domain/money';
import type { RoundingMode } from '../domain/rounding';
import type { TaxProvider, TaxResult, TaxSummaryRow } from '../domain/tax/types';
import {
  fxRateAt,
  lineTaxAttributes,
  loadBuyerContext,
  loadSellerContext,
  type BuyerContext,
  type SellerContext,
} from '../db/tax-context';

// Taxing an invoice inside its finalization transaction: read who sells to whom and what each line
// is, ask the provider, and record the result with the conversion to the reporting currency. A
// tenant without a seller profile does not collect tax through Ledgerline: its invoices carry none.

export interface TaxedLine {
  readonly netAmountMinor: number;
  readonly taxMinor: number;
  readonly category: string;
  readonly behavior: 'exclusive' | 'inclusive';
  readonly treatment: string | null;
  readonly rateLabel: string | null;
}

export interface InvoiceTax {
  readonly lines: readonly TaxedLine[];
  readonly netMinor: number;
  readonly taxMinor: number;
  readonly summary: readonly TaxSummaryRow[];
  readonly legalNotes: readonly string[];
  readonly taxDate: string;
  readonly source: string | null;
  readonly seller: SellerContext | null;
  readonly buyer: BuyerContext | null;
  readonly conversion: InvoiceConversion | null;
}

export interface InvoiceConversion {
  readonly reportingCurrency: string;
  readonly rate: string;
  readonly effectiveAt: string;
  readonly source: string;
  readonly totalMinor: number;
  readonly taxMinor: number;
  /** Per summary row, same order. */
  readonly summary: readonly { readonly taxableMinor: number; readonly taxMinor: number }[];
}

export const UNKNOWN_LOCATION_NOTE =
  "Customer location unknown: taxed at the seller's place of establishment until an address is on file.";

export async function taxInvoice(
  db: PoolClient,
  provider: TaxProvider,
  input: {
    readonly customerId: string;
    readonly currency: string;
    readonly issuedAt: string;
    readonly lines: readonly InvoiceLineDraft[];
  },
): Promise<InvoiceTax> {
  const taxDate = input.issuedAt.slice(0, 10);
  const roundingMode = await tenantRoundingMode(db);
  const attributes = await lineTaxAttributes(
    db,
    input.lines.flatMap((line) => (line.priceId === null ? [] : [line.priceId])),
  );
  const described = input.lines.map((line) => {
    const found = line.priceId === null ? undefined : attributes.get(line.priceId);
    return { line, category: found?.category ?? 'saas', behavior: found?.behavior ?? 'exclusive' };
  });
  const seller = await loadSellerContext(db);
  if (seller === null) {
    const netMinor = input.lines.reduce((sum, line) => sum + line.amountMinor, 0);
    return {
      lines: described.map(({ line, category, behavior }) => ({
        netAmountMinor: line.amountMinor,
        taxMinor: 0,
        category,
        behavior,
        treatment: null,
        rateLabel: null,
      })),
      netMinor,
      taxMinor: 0,
      summary: [],
      legalNotes: [],
      taxDate,
      source: null,
      seller: null,
      buyer: null,
      conversion: null,
    };
  }
  const buyer = await loadBuyerContext(db, input.customerId);
  const buyerTax = buyer?.tax ?? { address: seller.tax.address };
  const result: TaxResult = await provider.calculate({
    currency: input.currency,
    taxDate,
    seller: seller.tax,
    buyer: buyerTax,
    roundingMode,
    lines: described.map(({ line, category, behavior }, index) => ({
      ref: String(index),
      amountMinor: line.amountMinor,
      category,
      taxBehavior: behavior,
    })),
  });
  const byRef = new Map(result.lines.map((line) => [line.ref, line]));
  const lines = described.map(({ category, behavior }, index): TaxedLine => {
    const taxed = byRef.get(String(index));
    if (taxed === undefined) throw new Error(`tax provider ${provider.name} skipped line ${index}`);
    const rates = taxed.components.map((component) => component.ratePercent);
    return {
      netAmountMinor: taxed.netAmountMinor,
      taxMinor: taxed.taxAmountMinor,
      category,
      behavior,
      treatment: taxed.treatment,
      rateLabel: rates.length === 0 ? (taxed.treatment === 'taxed' ? null : '0') : rates.join(' + '),
    };
  });
  const conversion = await convertToReporting(db, seller.reportingCurrency, input, result, roundingMode);
  return {
    lines,
    netMinor: result.netTotalMinor,
    taxMinor: result.taxTotalMinor,
    summary: result.summary,
    legalNotes: buyer === null ? [...result.legalNotes, UNKNOWN_LOCATION_NOTE] : result.legalNotes,
    taxDate,
    source: result.source,
    seller,
    buyer,
    conversion,
  };
}

async function convertToReporting(
  db: PoolClient,
  reportingCurrency: string,
  input: { readonly currency: string; readonly issuedAt: string },
  result: TaxResult,
  roundingMode: RoundingMode,
): Promise<InvoiceConversion | null> {
  const rate =
    reportingCurrency === input.currency
      ? { rate: '1', effectiveAt: input.issuedAt, source: 'same currency' }
      : await fxRateAt(db, input.currency, reportingCurrency, input.issuedAt);
  // No uploaded rate: the invoice is still valid; reports list it under its own currency.
  if (rate === null) return null;
  const convert = (minor: number) =>
    convertMinor(minor, input.currency, reportingCurrency, rate.rate, roundingMode);
  return {
    reportingCurrency,
    rate: rate.rate,
    effectiveAt: rate.effectiveAt,
    source: rate.source,
    totalMinor: convert(result.netTotalMinor + result.taxTotalMinor),
    taxMinor: convert(result.taxTotalMinor),
    summary: result.summary.map((row) => ({
      taxableMinor: convert(row.taxableAmountMinor),
      taxMinor: convert(row.taxAmountMinor),
    })),
  };
}

export async function tenantRoundingMode(db: PoolClient): Promise<RoundingMode> {
  const { rows } = await db.query<{ rounding_mode: RoundingMode }>(
    'SELECT rounding_mode FROM tenant_billing_settings',
  );
  return rows[0]?.rounding_mode ?? 'half_even';
}

/** 'US-CA' → US / CA; 'CA' → CA; 'IN-MH' → IN / MH. */
export function splitJurisdiction(jurisdiction: string): { country: string; region: string | null } {
  const [country = jurisdiction, region] = jurisdiction.split('-');
  return { country, region: region ?? null };
}
