import type { PoolClient } from 'pg';
import { trimDecimal } from './numeric-text';

// Tax reports for a period, from the per-invoice tax summary rows written at finalization and the
// credit notes' reversals (never by recomputing invoices): one grouped scan of indexes that carry
// the reported columns. `invoice_count` counts documents (invoices and credit notes).
//
// - `vat`: VAT by country of consumption and rate, the shape of an EU OSS return (plus GB, CH, NO);
//   reverse-charged supplies are listed with their taxable amount and zero tax (the EC sales list).
// - `us_sales_tax`: sales tax by state.
// - `gst`: GST/HST/PST/QST (Canada), GST (Australia, New Zealand, Singapore), CGST/SGST/IGST (India).
//
// Amounts are minor units of the invoice currency, and of the tenant's reporting currency at the rate
// each invoice recorded (null where no rate was on file when the invoice was issued).

export const TAX_REPORT_KINDS = ['vat', 'us_sales_tax', 'gst'] as const;
export type TaxReportKind = (typeof TAX_REPORT_KINDS)[number];

const GST_NAMES = ['GST', 'HST', 'PST', 'QST', 'RST', 'CGST', 'SGST', 'IGST'];

export interface TaxReportRow {
  readonly country: string;
  readonly region: string | null;
  readonly tax_name: string;
  readonly rate_percent: string;
  readonly treatment: string;
  readonly currency: string;
  readonly invoice_count: number;
  readonly taxable_amount: number;
  readonly tax_amount: number;
  readonly reporting_currency: string | null;
  readonly reporting_taxable_amount: number | null;
  readonly reporting_tax_amount: number | null;
}

export interface TaxReport {
  readonly object: 'tax_report';
  readonly kind: TaxReportKind;
  readonly from: string;
  readonly to: string;
  readonly rows: readonly TaxReportRow[];
  /** Per reporting currency: the return's totals. */
  readonly totals: readonly {
    readonly reporting_currency: string | null;
    readonly taxable_amount: number;
    readonly tax_amount: number;
  }[];
}

interface Row {
  country: string;
  region: string | null;
  tax_name: string;
  rate_percent: string;
  treatment: string;
  currency: string;
  reporting_currency: string | null;
  invoice_count: string;
  taxable: string;
  tax: string;
  reporting_taxable: string | null;
  reporting_tax: string | null;
}

export async function taxReport(
  db: PoolClient,
  query: { readonly kind: TaxReportKind; readonly from: Date; readonly to: Date },
): Promise<TaxReport> {
  const filter =
    query.kind === 'vat'
      ? `tax_name = 'VAT'`
      : query.kind === 'us_sales_tax'
        ? `country = 'US'`
        : `tax_name = ANY($3::text[])`;
  const params: unknown[] = [query.from, query.to];
  if (query.kind === 'gst') params.push(GST_NAMES);
  const { rows } = await db.query<Row>(
    `WITH entries AS (
       SELECT invoice_id AS document_id, country, region, tax_name, rate_percent, treatment, currency,
              reporting_currency, taxable_minor, tax_minor, reporting_taxable_minor, reporting_tax_minor
         FROM invoice_tax_lines
        WHERE issued_at >= $1 AND issued_at < $2 AND ${filter}
       UNION ALL
       SELECT credit_note_id, country, region, tax_name, rate_percent, treatment, currency,
              reporting_currency, taxable_minor, tax_minor, reporting_taxable_minor, reporting_tax_minor
         FROM credit_note_tax_lines
        WHERE issued_at >= $1 AND issued_at < $2 AND ${filter})
     SELECT country, region, tax_name, rate_percent::text AS rate_percent, treatment, currency, reporting_currency,
            count(DISTINCT document_id) AS invoice_count, sum(taxable_minor) AS taxable, sum(tax_minor) AS tax,
            sum(reporting_taxable_minor) AS reporting_taxable, sum(reporting_tax_minor) AS reporting_tax
       FROM entries
      GROUP BY country, region, tax_name, rate_percent, treatment, currency, reporting_currency
      ORDER BY country, region NULLS FIRST, tax_name, rate_percent DESC, treatment, currency`,
    params,
  );
  const reportRows = rows.map((row): TaxReportRow => ({
    country: row.country,
    region: row.region,
    tax_name: row.tax_name,
    rate_percent: trimDecimal(row.rate_percent),
    treatment: row.treatment,
    currency: row.currency,
    invoice_count: Number(row.invoice_count),
    taxable_amount: Number(row.taxable),
    tax_amount: Number(row.tax),
    reporting_currency: row.reporting_currency,
    reporting_taxable_amount: row.reporting_taxable === null ? null : Number(row.reporting_taxable),
    reporting_tax_amount: row.reporting_tax === null ? null : Number(row.reporting_tax),
  }));
  const totals = new Map<string | null, { taxable_amount: number; tax_amount: number }>();
  for (const row of reportRows) {
    const current = totals.get(row.reporting_currency) ?? { taxable_amount: 0, tax_amount: 0 };
    totals.set(row.reporting_currency, {
      taxable_amount: current.taxable_amount + (row.reporting_taxable_amount ?? 0),
      tax_amount: current.tax_amount + (row.reporting_tax_amount ?? 0),
    });
  }
  return {
    object: 'tax_report',
    kind: query.kind,
    from: query.from.toISOString(),
    to: query.to.toISOString(),
    rows: reportRows,
    totals: [...totals].map(([reporting_currency, sums]) => ({ reporting_currency, ...sums })),
  };
}

const CSV_COLUMNS: readonly (keyof TaxReportRow)[] = [
  'country',
  'region',
  'tax_name',
  'rate_percent',
  'treatment',
  'currency',
  'invoice_count',
  'taxable_amount',
  'tax_amount',
  'reporting_currency',
  'reporting_taxable_amount',
  'reporting_tax_amount',
];

/** RFC 4180 CSV; amounts stay integer minor units, exactly as in the JSON. */
export function taxReportCsv(report: TaxReport): string {
  const cell = (value: string | number | null | undefined): string => {
    const text = value === null || value === undefined ? '' : String(value);
    return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [CSV_COLUMNS.join(',')];
  for (const row of report.rows) lines.push(CSV_COLUMNS.map((column) => cell(row[column])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
