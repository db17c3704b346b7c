// What a rendered invoice or credit note shows: everything the law asks an invoice to carry, as plain
// data. The renderers (HTML, PDF) only lay it out; they never compute amounts. Amounts are signed
// integer minor units of `currency`; the renderer formats them with the currency's exponent.

export interface DocumentParty {
  readonly legalName: string;
  /** Address lines as printed, e.g. ['Friedrichstraße 68', '10117 Berlin']. */
  readonly addressLines: readonly string[];
  /** ISO 3166-1 alpha-2. */
  readonly country: string;
  /** e.g. [{ label: 'VAT', value: 'DE123456789' }]. */
  readonly taxIds: readonly { readonly label: string; readonly value: string }[];
  readonly email?: string;
}

export interface DocumentLine {
  readonly description: string;
  /** The service period, 'YYYY-MM-DD' both ends, end exclusive as stored (printed inclusive). */
  readonly periodStart: string | null;
  readonly periodEnd: string | null;
  /** Decimal string: '1', '2.5', '1234567'. */
  readonly quantity: string;
  /** Decimal string in major units ('49.00', '0.0004'); null for prorations. */
  readonly unitPrice: string | null;
  /** e.g. '19' (percent) or null when untaxed; several components print joined ('5 + 9.975'). */
  readonly taxRatePercent: string | null;
  readonly netAmountMinor: number;
  readonly taxAmountMinor: number;
}

export interface DocumentTaxRow {
  /** e.g. 'VAT DE 19 %', 'GST 5 %', 'QST 9.975 %', 'Reverse charge 0 %'. */
  readonly label: string;
  readonly taxableAmountMinor: number;
  readonly taxAmountMinor: number;
}

export interface InvoiceDocument {
  readonly kind: 'invoice' | 'credit_note';
  /** 'INV-000042' or 'CN-000003'. */
  readonly number: string;
  /** For a credit note: the invoice it corrects. */
  readonly correctsNumber?: string;
  /** 'YYYY-MM-DD'. */
  readonly issueDate: string;
  readonly dueDate?: string;
  /** The supply period, 'YYYY-MM-DD' both ends. */
  readonly supplyPeriod: { readonly start: string; readonly end: string } | null;
  readonly currency: string;
  readonly seller: DocumentParty;
  readonly buyer: DocumentParty;
  readonly lines: readonly DocumentLine[];
  readonly taxSummary: readonly DocumentTaxRow[];
  readonly subtotalMinor: number;
  readonly taxMinor: number;
  readonly totalMinor: number;
  readonly amountDueMinor: number;
  /** 'paid', 'open', … */
  readonly status: string;
  /** Legal wording printed under the totals (reverse charge, exemption certificate). */
  readonly legalNotes: readonly string[];
  /** Where the invoice currency differs from the seller's accounting currency. */
  readonly conversion?: {
    readonly toCurrency: string;
    /** '0.92345' = 1 unit of `currency` in `toCurrency`. */
    readonly rate: string;
    readonly rateDate: string;
    readonly rateSource: string;
    readonly totalMinor: number;
    readonly taxMinor: number;
  };
  readonly footer?: string;
}
