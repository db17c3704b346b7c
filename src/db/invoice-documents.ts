import type { PoolClient } from 'pg';
import type {
  DocumentLine,
  DocumentParty,
  DocumentTaxRow,
  InvoiceDocument,
} from '../documents/invoice-document';
import { currencyExponent } from '../domain/money';
import { trimDecimal } from './numeric-text';

// An issued invoice as the document a customer receives, read from what was recorded at finalization:
// the parties' snapshots (not today's addresses), the lines with their tax, the tax summary and the
// conversion. Nothing here recomputes an amount.

interface InvoiceDocRow {
  id: string;
  number: string | null;
  status: string;
  currency: string;
  issued_at: Date | null;
  finalized_at: Date | null;
  period_start: Date;
  period_end: Date;
  subtotal_minor: number;
  tax_minor: number;
  total_minor: number;
  amount_due_minor: number;
  legal_notes: string[];
  seller_snapshot: { party: DocumentParty; footer: string | null } | null;
  buyer_snapshot: { party: DocumentParty } | null;
  customer_name: string | null;
  customer_email: string | null;
  tenant_name: string;
  reporting_currency: string | null;
  fx_rate: string | null;
  fx_rate_source: string | null;
  fx_effective_at: Date | null;
  reporting_total_minor: number | null;
  reporting_tax_minor: number | null;
}

interface LineRow {
  description: string;
  quantity: number;
  unit_amount_minor: number | null;
  amount_minor: number;
  net_amount_minor: number | null;
  tax_minor: number;
  tax_rate_label: string | null;
  period_start: Date;
  period_end: Date;
}

interface TaxRow {
  jurisdiction: string;
  tax_name: string;
  rate_percent: string;
  treatment: string;
  taxable_minor: number;
  tax_minor: number;
}

export async function loadInvoiceDocument(
  db: PoolClient,
  invoiceId: string,
): Promise<InvoiceDocument | null> {
  const { rows } = await db.query<InvoiceDocRow>(
    `SELECT i.id, i.number, i.status, i.currency, i.issued_at, i.finalized_at, i.period_start, i.period_end,
            i.subtotal_minor, i.tax_minor, i.total_minor, i.amount_due_minor, i.legal_notes, i.seller_snapshot,
            i.buyer_snapshot, c.name AS customer_name, c.email AS customer_email, t.name AS tenant_name,
            i.reporting_currency, i.fx_rate::text AS fx_rate, i.fx_rate_source, i.fx_effective_at,
            i.reporting_total_minor, i.reporting_tax_minor
       FROM invoices i
       JOIN customers c ON c.id = i.customer_id
       JOIN tenants t ON t.id = i.tenant_id
      WHERE i.id = $1`,
    [invoiceId],
  );
  const row = rows[0];
  if (!row || row.number === null) return null;
  const { rows: lines } = await db.query<LineRow>(
    `SELECT description, quantity, unit_amount_minor, amount_minor, net_amount_minor, tax_minor, tax_rate_label,
            period_start, period_end
       FROM invoice_lines WHERE invoice_id = $1 ORDER BY position`,
    [invoiceId],
  );
  const { rows: taxRows } = await db.query<TaxRow>(
    `SELECT jurisdiction, tax_name, rate_percent::text AS rate_percent, treatment, taxable_minor, tax_minor
       FROM invoice_tax_lines WHERE invoice_id = $1 ORDER BY position`,
    [invoiceId],
  );
  const issued = row.issued_at ?? row.finalized_at ?? row.period_start;
  const seller: DocumentParty = row.seller_snapshot?.party ?? {
    legalName: row.tenant_name,
    addressLines: [],
    country: '',
    taxIds: [],
  };
  const buyer: DocumentParty = row.buyer_snapshot?.party ?? {
    legalName: row.customer_name ?? row.customer_email ?? 'Customer',
    addressLines: [],
    country: '',
    taxIds: [],
    ...(row.customer_email === null ? {} : { email: row.customer_email }),
  };
  const footer = row.seller_snapshot?.footer ?? null;
  return {
    kind: 'invoice',
    number: row.number,
    issueDate: isoDate(issued),
    supplyPeriod: { start: isoDate(row.period_start), end: isoDate(row.period_end) },
    currency: row.currency,
    seller,
    buyer,
    lines: lines.map((line) => documentLine(line, row.currency)),
    taxSummary: taxRows.map(taxSummaryRow),
    subtotalMinor: row.subtotal_minor,
    taxMinor: row.tax_minor,
    totalMinor: row.total_minor,
    amountDueMinor: row.amount_due_minor,
    status: row.status,
    legalNotes: row.legal_notes,
    ...(row.reporting_currency !== null &&
    row.reporting_currency !== row.currency &&
    row.fx_rate !== null &&
    row.fx_rate_source !== null &&
    row.fx_effective_at !== null &&
    row.reporting_total_minor !== null
      ? {
          conversion: {
            toCurrency: row.reporting_currency,
            rate: trimDecimal(row.fx_rate),
            rateDate: isoDate(row.fx_effective_at),
            rateSource: row.fx_rate_source,
            totalMinor: row.reporting_total_minor,
            taxMinor: row.reporting_tax_minor ?? 0,
          },
        }
      : {}),
    ...(footer === null ? {} : { footer }),
  };
}

function documentLine(line: LineRow, currency: string): DocumentLine {
  return {
    description: line.description,
    periodStart: isoDate(line.period_start),
    periodEnd: isoDate(line.period_end),
    quantity: String(line.quantity),
    unitPrice: line.unit_amount_minor === null ? null : majorUnits(line.unit_amount_minor, currency),
    taxRatePercent: line.tax_rate_label,
    netAmountMinor: line.net_amount_minor ?? line.amount_minor,
    taxAmountMinor: line.tax_minor,
  };
}

function taxSummaryRow(row: TaxRow): DocumentTaxRow {
  const rate = trimDecimal(row.rate_percent);
  const label =
    row.treatment === 'reverse_charge'
      ? 'Reverse charge 0 %'
      : row.treatment === 'taxed'
        ? `${row.tax_name} ${row.jurisdiction} ${rate} %`
        : `${row.tax_name} ${row.jurisdiction} 0 % (${row.treatment.replace(/_/g, ' ')})`;
  return { label, taxableAmountMinor: row.taxable_minor, taxAmountMinor: row.tax_minor };
}

/** 4900 USD → '49.00'; 1980 JPY → '1980'; 12345 BHD → '12.345'. */
export function majorUnits(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const sign = minor < 0 ? '-' : '';
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  return exponent === 0
    ? `${sign}${digits}`
    : `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

function isoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}
