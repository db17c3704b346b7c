import type { PoolClient } from 'pg';
import type { DocumentLine, DocumentTaxRow, InvoiceDocument } from '../documents/invoice-document';
import { allocateMinor } from '../domain/money';
import { loadInvoiceDocument } from './invoice-documents';
import { trimDecimal } from './numeric-text';

// An issued credit note as the document the customer receives. It corrects one invoice, so it takes
// that invoice's parties (the snapshots finalization recorded, through loadInvoiceDocument: the same
// names, addresses and tax ids the invoice printed, never today's), its supply period, its legal
// notes and its conversion rate. Its own lines and tax reversal rows come from the credit note
// tables. Every amount prints as the credit it is: negative, as the renderer expects of a credit note
// (a customer's books add it to the invoice it corrects).

interface CreditNoteDocRow {
  id: string;
  number: string;
  invoice_id: string;
  currency: string;
  amount_minor: number;
  net_amount_minor: number | null;
  tax_minor: number;
  issued_at: Date;
}

interface LineRow {
  description: string;
  amount_minor: number;
}

interface TaxRow {
  jurisdiction: string;
  tax_name: string;
  rate_percent: string;
  treatment: string;
  taxable_minor: number;
  tax_minor: number;
  reporting_taxable_minor: number | null;
  reporting_tax_minor: number | null;
}

export async function loadCreditNoteDocument(
  db: PoolClient,
  creditNoteId: string,
): Promise<InvoiceDocument | null> {
  const { rows } = await db.query<CreditNoteDocRow>(
    `SELECT id, number, invoice_id, currency, amount_minor, net_amount_minor, tax_minor, issued_at
       FROM credit_notes WHERE id = $1`,
    [creditNoteId],
  );
  const note = rows[0];
  if (!note) return null;
  const invoice = await loadInvoiceDocument(db, note.invoice_id);
  if (invoice === null) {
    // Credit notes are only issued against finalized (numbered) invoices.
    throw new Error(`credit note ${note.id} corrects invoice ${note.invoice_id}, which has no number`);
  }
  const { rows: lines } = await db.query<LineRow>(
    'SELECT description, amount_minor FROM credit_note_lines WHERE credit_note_id = $1 ORDER BY position',
    [note.id],
  );
  const { rows: taxRows } = await db.query<TaxRow>(
    `SELECT jurisdiction, tax_name, rate_percent::text AS rate_percent, treatment, taxable_minor, tax_minor,
            reporting_taxable_minor, reporting_tax_minor
       FROM credit_note_tax_lines WHERE credit_note_id = $1 ORDER BY position`,
    [note.id],
  );
  const taxMinor = note.tax_minor;
  const netMinor = note.net_amount_minor ?? note.amount_minor - taxMinor;
  const conversion = invoice.conversion;
  const reportingComplete =
    taxRows.length > 0 &&
    taxRows.every((row) => row.reporting_taxable_minor !== null && row.reporting_tax_minor !== null);
  return {
    kind: 'credit_note',
    number: note.number,
    correctsNumber: invoice.number,
    issueDate: note.issued_at.toISOString().slice(0, 10),
    supplyPeriod: invoice.supplyPeriod,
    currency: note.currency,
    seller: invoice.seller,
    buyer: invoice.buyer,
    lines: creditLines(note, lines, netMinor, commonRate(invoice)),
    taxSummary: taxRows.map(taxSummaryRow),
    subtotalMinor: credit(netMinor),
    taxMinor: credit(taxMinor),
    totalMinor: credit(note.amount_minor),
    amountDueMinor: credit(note.amount_minor),
    status: 'issued',
    // The wording that explains why the invoice charged no tax (reverse charge, exemption, outside
    // the scope) explains the credit note's zero tax reversal just as well: it corrects that supply.
    legalNotes: invoice.legalNotes,
    // The reversal rows were converted at the invoice's own rate when the note was issued; their sum
    // is the credit in the reporting currency (nothing converted again here).
    ...(conversion !== undefined && reportingComplete
      ? {
          conversion: {
            ...conversion,
            totalMinor: taxRows.reduce(
              (sum, row) => sum + (row.reporting_taxable_minor ?? 0) + (row.reporting_tax_minor ?? 0),
              0,
            ),
            taxMinor: taxRows.reduce((sum, row) => sum + (row.reporting_tax_minor ?? 0), 0),
          },
        }
      : {}),
    ...(invoice.footer === undefined ? {} : { footer: invoice.footer }),
  };
}

/**
 * The credit note's lines, net and negative. The lines were given in the invoice's price terms (net
 * when its prices were tax-exclusive, gross when inclusive) and the tax reversed was recorded for the
 * note as a whole, so each line's share of it is split by amount (largest remainder): the lines then
 * add up exactly to the recorded net and tax.
 */
function creditLines(
  note: CreditNoteDocRow,
  lines: readonly LineRow[],
  netMinor: number,
  rate: string | null,
): DocumentLine[] {
  const amounts = lines.map((line) => line.amount_minor);
  const linesMinor = amounts.reduce((sum, amount) => sum + amount, 0);
  const taxShares =
    note.tax_minor > 0 && linesMinor > 0 ? allocateMinor(note.tax_minor, amounts) : amounts.map(() => 0);
  const inclusive = linesMinor !== netMinor;
  if (inclusive && linesMinor !== note.amount_minor) {
    throw new Error(
      `credit note ${note.id}: lines of ${linesMinor} are neither its net ${netMinor} nor its amount ${note.amount_minor}`,
    );
  }
  return lines.map((line, index) => {
    const lineTax = taxShares[index] ?? 0;
    const lineNet = inclusive ? line.amount_minor - lineTax : line.amount_minor;
    return {
      description: line.description,
      periodStart: null,
      periodEnd: null,
      quantity: '1',
      unitPrice: null,
      taxRatePercent: rate,
      netAmountMinor: credit(lineNet),
      taxAmountMinor: credit(lineTax),
    };
  });
}

/** A credited amount as printed: negative (and 0, never -0). */
function credit(minor: number): number {
  return minor === 0 ? 0 : -minor;
}

/** The rate the invoice's lines printed when they all share one ('19'), else none. */
function commonRate(invoice: InvoiceDocument): string | null {
  const rates = new Set(invoice.lines.map((line) => line.taxRatePercent));
  const [only] = [...rates];
  return rates.size === 1 && only !== undefined ? only : null;
}

/** The same wording as the invoice's tax summary (src/db/invoice-documents.ts). */
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
