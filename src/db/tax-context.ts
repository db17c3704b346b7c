import type { PoolClient } from 'pg';
import { trimDecimal } from './numeric-text';
import type { DocumentParty } from '../documents/invoice-document';
import type {
  BuyerTaxProfile,
  ExemptionReason,
  SellerTaxProfile,
  TaxBehavior,
  TaxCategory,
} from '../domain/tax/types';

// What the invoice writer reads, inside its transaction, to tax an invoice and to print it: the
// seller's profile, the buyer's address and tax status, each line's tax category and behaviour, and
// the FX rate to the reporting currency. All reads are under the tenant's row-level security.

export interface SellerContext {
  readonly tax: SellerTaxProfile;
  readonly party: DocumentParty;
  readonly reportingCurrency: string;
  readonly footer: string | null;
}

export interface BuyerContext {
  readonly tax: BuyerTaxProfile;
  readonly party: DocumentParty;
}

interface SellerRow {
  legal_name: string;
  address_lines: string[];
  country: string;
  region: string | null;
  postal_code: string | null;
  email: string | null;
  tax_ids: { type: string; value: string }[];
  registrations: {
    countries?: string[];
    euOss?: boolean;
    usNexusStates?: string[];
    inGstState?: string;
  };
  reporting_currency: string;
  invoice_footer: string | null;
}

/** The tenant's seller profile; null when the tenant has not set one (its invoices carry no tax). */
export async function loadSellerContext(db: PoolClient): Promise<SellerContext | null> {
  const { rows } = await db.query<SellerRow>(
    `SELECT legal_name, address_lines, country, region, postal_code, email, tax_ids, registrations,
            reporting_currency, invoice_footer
       FROM tenant_tax_profiles`,
  );
  const row = rows[0];
  if (!row) return null;
  const registrations = row.registrations;
  return {
    tax: {
      address: address(row.country, row.region, row.postal_code),
      taxIds: row.tax_ids,
      registrations: {
        countries: registrations.countries ?? [],
        euOss: registrations.euOss === true,
        usNexusStates: registrations.usNexusStates ?? [],
        ...(registrations.inGstState === undefined ? {} : { inGstState: registrations.inGstState }),
      },
    },
    party: {
      legalName: row.legal_name,
      addressLines: row.address_lines,
      country: row.country,
      taxIds: row.tax_ids.map((id) => ({ label: taxIdLabel(id.type), value: id.value })),
      ...(row.email === null ? {} : { email: row.email }),
    },
    reportingCurrency: row.reporting_currency,
    footer: row.invoice_footer,
  };
}

interface BuyerRow {
  name: string | null;
  legal_name: string | null;
  email: string | null;
  address_lines: string[];
  country: string | null;
  region: string | null;
  postal_code: string | null;
  tax_id_type: string | null;
  tax_id_value: string | null;
  tax_exempt_reason: ExemptionReason | null;
  tax_exempt_certificate: string | null;
}

/**
 * The buyer as the tax engine and the document see it. Null when the customer has no country: the
 * place of supply is unknown, so the invoice cannot be taxed correctly (the caller refuses to guess).
 */
export async function loadBuyerContext(db: PoolClient, customerId: string): Promise<BuyerContext | null> {
  const { rows } = await db.query<BuyerRow>(
    `SELECT name, legal_name, email, address_lines, country, region, postal_code, tax_id_type, tax_id_value,
            tax_exempt_reason, tax_exempt_certificate
       FROM customers WHERE id = $1`,
    [customerId],
  );
  const row = rows[0];
  if (!row || row.country === null) return null;
  const taxId =
    row.tax_id_type !== null && row.tax_id_value !== null
      ? { type: row.tax_id_type, value: row.tax_id_value }
      : undefined;
  return {
    tax: {
      address: address(row.country, row.region, row.postal_code),
      ...(taxId === undefined ? {} : { taxId }),
      ...(row.tax_exempt_reason !== null && row.tax_exempt_certificate !== null
        ? { exemption: { reason: row.tax_exempt_reason, certificate: row.tax_exempt_certificate } }
        : {}),
    },
    party: {
      legalName: row.legal_name ?? row.name ?? customerId,
      addressLines: row.address_lines,
      country: row.country,
      taxIds: taxId === undefined ? [] : [{ label: taxIdLabel(taxId.type), value: taxId.value }],
      ...(row.email === null ? {} : { email: row.email }),
    },
  };
}

export interface LineTaxAttributes {
  readonly category: TaxCategory;
  readonly behavior: TaxBehavior;
}

/** Tax category (from the product) and behaviour (from the price version) per price id. */
export async function lineTaxAttributes(
  db: PoolClient,
  priceIds: readonly string[],
): Promise<Map<string, LineTaxAttributes>> {
  const unique = [...new Set(priceIds)];
  if (unique.length === 0) return new Map();
  const { rows } = await db.query<{ id: string; tax_behavior: TaxBehavior; tax_category: TaxCategory }>(
    `SELECT pr.id, pr.tax_behavior, p.tax_category
       FROM prices pr
       JOIN plans pl ON pl.id = pr.plan_id
       JOIN products p ON p.id = pl.product_id
      WHERE pr.id = ANY($1::text[])`,
    [unique],
  );
  return new Map(rows.map((row) => [row.id, { category: row.tax_category, behavior: row.tax_behavior }]));
}

export interface FxRate {
  /** Exact decimal string as stored: 1 base = rate quote. */
  readonly rate: string;
  readonly effectiveAt: string;
  readonly source: string;
}

/** The rate in force at `at` (the latest at or before it); null when none was uploaded. */
export async function fxRateAt(
  db: PoolClient,
  base: string,
  quote: string,
  at: string,
): Promise<FxRate | null> {
  const { rows } = await db.query<{ rate: string; effective_at: Date; source: string }>(
    `SELECT rate::text AS rate, effective_at, source FROM fx_rates
      WHERE base = $1 AND quote = $2 AND effective_at <= $3
      ORDER BY effective_at DESC LIMIT 1`,
    [base, quote, at],
  );
  const row = rows[0];
  return row
    ? { rate: trimDecimal(row.rate), effectiveAt: row.effective_at.toISOString(), source: row.source }
    : null;
}

function address(country: string, region: string | null, postalCode: string | null) {
  return {
    country,
    ...(region === null ? {} : { region }),
    ...(postalCode === null ? {} : { postalCode }),
  };
}

const TAX_ID_LABELS: Record<string, string> = {
  eu_vat: 'VAT',
  gb_vat: 'VAT',
  ch_vat: 'VAT',
  no_vat: 'VAT',
  au_abn: 'ABN',
  nz_gst: 'GST',
  sg_gst: 'GST',
  ca_bn: 'BN',
  in_gst: 'GSTIN',
  us_ein: 'EIN',
};

function taxIdLabel(type: string): string {
  return TAX_ID_LABELS[type] ?? type.toUpperCase();
}
