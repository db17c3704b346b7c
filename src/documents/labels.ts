import type { DocumentParty, InvoiceDocument } from './invoice-document';
import {
  countryName,
  formatAmount,
  formatDate,
  formatMoney,
  formatOptionalPeriod,
  formatPeriod,
  formatQuantity,
  formatTaxRate,
  formatUnitPrice,
} from './format';

// The words a document prints and every field in its printed form, so the HTML and the PDF say
// exactly the same thing and differ only in layout. English for now: a translation replaces LABELS.

export const LABELS = {
  lang: 'en',
  invoice: 'Invoice',
  creditNote: 'Credit note',
  correctsInvoice: 'Corrects invoice',
  issueDate: 'Issue date',
  dueDate: 'Due date',
  supplyPeriod: 'Supply period',
  billTo: 'Bill to',
  from: 'From',
  description: 'Description',
  quantity: 'Qty',
  unitPrice: 'Unit price',
  taxRate: 'Tax',
  amount: 'Amount',
  taxSummary: 'Tax summary',
  taxableAmount: 'Taxable amount',
  taxAmount: 'Tax',
  subtotal: 'Subtotal',
  tax: 'Tax',
  total: 'Total',
  amountDue: 'Amount due',
  amountCredited: 'Amount credited',
  notes: 'Notes',
  continued: 'continued',
  page: (page: number, pages: number) => `Page ${page} of ${pages}`,
  correctsSentence: (number: string) => `This credit note corrects invoice ${number}.`,
  conversion: (c: {
    to: string;
    rate: string;
    source: string;
    date: string;
    total: string;
    tax: string;
    taxName: string;
  }) => `Total in ${c.to} at ${c.rate} (${c.source}, ${c.date}): ${c.total}, of which ${c.taxName} ${c.tax}`,
  status: { paid: 'Paid', void: 'Void', uncollectible: 'Uncollectible' } as Record<string, string>,
} as const;

export interface PrintedParty {
  readonly name: string;
  /** Address lines, then the country's name. */
  readonly address: readonly string[];
  /** 'VAT: DE136695976'. */
  readonly taxIds: readonly string[];
  readonly email: string | null;
}

export interface PrintedLine {
  readonly description: string;
  /** '1–31 March 2026', or ''. */
  readonly period: string;
  readonly quantity: string;
  readonly unitPrice: string;
  readonly taxRate: string;
  readonly amount: string;
}

export interface PrintedRow {
  readonly label: string;
  readonly value: string;
}

export interface PrintedDocument {
  readonly lang: string;
  /** 'Invoice' or 'Credit note'. */
  readonly title: string;
  /** 'Invoice INV-000042': the PDF's title, the HTML's <title>. */
  readonly heading: string;
  readonly number: string;
  readonly isCreditNote: boolean;
  /** Number, dates, period, corrected invoice: label/value pairs under the title. */
  readonly meta: readonly PrintedRow[];
  /** 'Paid', 'Void', or null for an open document. */
  readonly status: string | null;
  readonly correctsSentence: string | null;
  readonly seller: PrintedParty;
  readonly buyer: PrintedParty;
  readonly currency: string;
  readonly columns: {
    readonly description: string;
    readonly quantity: string;
    readonly unitPrice: string;
    readonly taxRate: string;
    readonly amount: string;
  };
  readonly lines: readonly PrintedLine[];
  readonly taxColumns: { readonly label: string; readonly taxable: string; readonly tax: string };
  readonly taxRows: readonly { readonly label: string; readonly taxable: string; readonly tax: string }[];
  /** Subtotal, tax and total; `amountDue` is printed on its own, emphasised. */
  readonly totals: readonly PrintedRow[];
  readonly amountDue: PrintedRow;
  /** The due-date line of the highlight box, e.g. 'Due 15 March 2026'. */
  readonly dueLine: string | null;
  readonly conversion: string | null;
  readonly legalNotes: readonly string[];
  readonly footer: string | null;
}

function printParty(party: DocumentParty): PrintedParty {
  const country = party.country.trim() === '' ? '' : countryName(party.country);
  const address = party.addressLines.map((line) => line.trim()).filter((line) => line !== '');
  return {
    name: party.legalName,
    address: country === '' ? address : [...address, country],
    taxIds: party.taxIds.map((id) => (id.label.trim() === '' ? id.value : `${id.label}: ${id.value}`)),
    email: party.email === undefined || party.email.trim() === '' ? null : party.email,
  };
}

/**
 * The name of the tax the document charges, for 'Tax' in the totals: 'VAT' when every taxed row of
 * the summary is VAT, else the neutral 'Tax'. Reverse-charged rows charge nothing and do not count.
 */
function taxName(doc: InvoiceDocument): string {
  const names = new Set(
    doc.taxSummary
      .map((row) => row.label.trim())
      .filter((label) => !/^reverse charge/i.test(label))
      .map((label) => label.split(/\s+/)[0] ?? ''),
  );
  const [only] = [...names];
  return names.size === 1 && only !== undefined && /^[\p{Lu}]{2,6}$/u.test(only) ? only : LABELS.tax;
}

export function printDocument(doc: InvoiceDocument): PrintedDocument {
  const isCreditNote = doc.kind === 'credit_note';
  const title = isCreditNote ? LABELS.creditNote : LABELS.invoice;
  const { currency } = doc;
  // The number stands under the title; the rows under it are the dates and the corrected invoice.
  const meta: PrintedRow[] = [{ label: LABELS.issueDate, value: formatDate(doc.issueDate) }];
  if (isCreditNote && doc.correctsNumber !== undefined) {
    meta.push({ label: LABELS.correctsInvoice, value: doc.correctsNumber });
  }
  if (doc.dueDate !== undefined) meta.push({ label: LABELS.dueDate, value: formatDate(doc.dueDate) });
  if (doc.supplyPeriod !== null) {
    meta.push({
      label: LABELS.supplyPeriod,
      value: formatPeriod(doc.supplyPeriod.start, doc.supplyPeriod.end),
    });
  }
  const tax = taxName(doc);
  const conversion = doc.conversion;
  return {
    lang: LABELS.lang,
    title,
    heading: `${title} ${doc.number}`,
    number: doc.number,
    isCreditNote,
    meta,
    status: LABELS.status[doc.status] ?? null,
    correctsSentence:
      isCreditNote && doc.correctsNumber !== undefined ? LABELS.correctsSentence(doc.correctsNumber) : null,
    seller: printParty(doc.seller),
    buyer: printParty(doc.buyer),
    currency,
    columns: {
      description: LABELS.description,
      quantity: LABELS.quantity,
      unitPrice: LABELS.unitPrice,
      taxRate: LABELS.taxRate,
      amount: `${LABELS.amount} (${currency})`,
    },
    lines: doc.lines.map((line) => ({
      description: line.description,
      period: formatOptionalPeriod(line.periodStart, line.periodEnd),
      quantity: formatQuantity(line.quantity),
      unitPrice: line.unitPrice === null ? '' : formatUnitPrice(line.unitPrice, currency),
      taxRate: formatTaxRate(line.taxRatePercent),
      amount: formatAmount(line.netAmountMinor, currency),
    })),
    taxColumns: {
      label: LABELS.taxSummary,
      taxable: `${LABELS.taxableAmount} (${currency})`,
      tax: `${LABELS.taxAmount} (${currency})`,
    },
    taxRows: doc.taxSummary.map((row) => ({
      label: row.label,
      taxable: formatAmount(row.taxableAmountMinor, currency),
      tax: formatAmount(row.taxAmountMinor, currency),
    })),
    totals: [
      { label: LABELS.subtotal, value: formatMoney(doc.subtotalMinor, currency) },
      { label: tax, value: formatMoney(doc.taxMinor, currency) },
      { label: LABELS.total, value: formatMoney(doc.totalMinor, currency) },
    ],
    amountDue: {
      label: isCreditNote ? LABELS.amountCredited : LABELS.amountDue,
      value: formatMoney(doc.amountDueMinor, currency),
    },
    dueLine: doc.dueDate === undefined ? null : `${LABELS.dueDate}: ${formatDate(doc.dueDate)}`,
    conversion:
      conversion === undefined
        ? null
        : LABELS.conversion({
            to: conversion.toCurrency,
            rate: conversion.rate,
            source: conversion.rateSource,
            date: conversion.rateDate,
            total: formatMoney(conversion.totalMinor, conversion.toCurrency),
            tax: formatMoney(conversion.taxMinor, conversion.toCurrency),
            taxName: tax === LABELS.tax ? 'tax' : tax,
          }),
    legalNotes: doc.legalNotes.map((note) => note.trim()).filter((note) => note !== ''),
    footer: doc.footer === undefined || doc.footer.trim() === '' ? null : doc.footer.trim(),
  };
}
