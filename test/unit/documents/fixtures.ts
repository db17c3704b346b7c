import type { DocumentLine, InvoiceDocument } from '../../../src/documents';

// Documents as src/db/invoice-documents.ts builds them from a finalized invoice.

export const REVERSE_CHARGE_NOTE =
  'Reverse charge: VAT to be accounted for by the recipient (Article 196, Council Directive 2006/112/EC)';

export function reverseChargeInvoice(overrides: Partial<InvoiceDocument> = {}): InvoiceDocument {
  return {
    kind: 'invoice',
    number: 'INV-000042',
    issueDate: '2026-03-01',
    dueDate: '2026-03-15',
    supplyPeriod: { start: '2026-03-01', end: '2026-04-01' },
    currency: 'EUR',
    seller: {
      legalName: 'Ledgerline Demo SAS',
      addressLines: ['10 rue de la Paix', '75002 Paris'],
      country: 'FR',
      taxIds: [{ label: 'VAT', value: 'FR40303265045' }],
      email: 'billing@ledgerline.example',
    },
    buyer: {
      legalName: 'Beispiel Software GmbH',
      addressLines: ['Unter den Linden 5', '10117 Berlin'],
      country: 'DE',
      taxIds: [{ label: 'VAT', value: 'DE136695976' }],
      email: 'ap@beispiel.example',
    },
    lines: [
      {
        description: 'Pro plan',
        periodStart: '2026-03-01',
        periodEnd: '2026-04-01',
        quantity: '1',
        unitPrice: '490.00',
        taxRatePercent: '0',
        netAmountMinor: 49000,
        taxAmountMinor: 0,
      },
    ],
    taxSummary: [{ label: 'Reverse charge 0 %', taxableAmountMinor: 49000, taxAmountMinor: 0 }],
    subtotalMinor: 49000,
    taxMinor: 0,
    totalMinor: 49000,
    amountDueMinor: 49000,
    status: 'open',
    legalNotes: [REVERSE_CHARGE_NOTE],
    footer:
      'Ledgerline Demo SAS · SAS au capital de 10 000 € · RCS Paris 303 265 045 · IBAN FR76 3000 6000 0112 3456 7890 189',
    ...overrides,
  };
}

/** A German consumer invoice in USD with 19 % VAT, converted to the seller's EUR books. */
export function convertedInvoice(overrides: Partial<InvoiceDocument> = {}): InvoiceDocument {
  return reverseChargeInvoice({
    number: 'INV-000043',
    currency: 'USD',
    seller: {
      legalName: 'Ledgerline Demo GmbH',
      addressLines: ['Friedrichstraße 68', '10117 Berlin'],
      country: 'DE',
      taxIds: [{ label: 'VAT', value: 'DE136695976' }],
    },
    buyer: {
      legalName: 'Łódź Spółka z o.o.',
      addressLines: ['ul. Piotrkowska 104', '90-926 Łódź'],
      country: 'PL',
      taxIds: [],
    },
    lines: [
      {
        description: 'Team plan',
        periodStart: '2026-03-01',
        periodEnd: '2026-04-01',
        quantity: '1',
        unitPrice: '49.00',
        taxRatePercent: '19',
        netAmountMinor: 4900,
        taxAmountMinor: 931,
      },
    ],
    taxSummary: [{ label: 'VAT DE 19 %', taxableAmountMinor: 4900, taxAmountMinor: 931 }],
    subtotalMinor: 4900,
    taxMinor: 931,
    totalMinor: 5831,
    amountDueMinor: 5831,
    legalNotes: [],
    conversion: {
      toCurrency: 'EUR',
      rate: '0.92345',
      rateDate: '2026-03-01',
      rateSource: 'ECB',
      totalMinor: 5385,
      taxMinor: 860,
    },
    ...overrides,
  });
}

export function creditNote(overrides: Partial<InvoiceDocument> = {}): InvoiceDocument {
  return reverseChargeInvoice({
    kind: 'credit_note',
    number: 'CN-000003',
    correctsNumber: 'INV-000042',
    issueDate: '2026-03-16',
    dueDate: undefined,
    supplyPeriod: { start: '2026-03-16', end: '2026-04-01' },
    lines: [
      {
        description: 'Pro plan: unused time after cancellation',
        periodStart: '2026-03-16',
        periodEnd: '2026-04-01',
        quantity: '1',
        unitPrice: null,
        taxRatePercent: '0',
        netAmountMinor: -25290,
        taxAmountMinor: 0,
      },
    ],
    taxSummary: [{ label: 'Reverse charge 0 %', taxableAmountMinor: -25290, taxAmountMinor: 0 }],
    subtotalMinor: -25290,
    taxMinor: 0,
    totalMinor: -25290,
    amountDueMinor: -25290,
    status: 'issued',
    ...overrides,
  });
}

/** `count` usage lines, each with a description that can be found again in the text. */
export function manyLines(count: number): DocumentLine[] {
  return Array.from({ length: count }, (_, index) => ({
    description: `Usage item ${String(index + 1).padStart(3, '0')}${index % 7 === 3 ? ': API calls above the included quota, billed per thousand requests in arrears' : ''}`,
    periodStart: '2026-03-01',
    periodEnd: '2026-04-01',
    quantity: String(1000 + index),
    unitPrice: '0.0004',
    taxRatePercent: '0',
    netAmountMinor: 40 + index,
    taxAmountMinor: 0,
  }));
}
