// Double-entry journal drafts: the chart of accounts, one builder per business event, and the
// invariant every entry must satisfy before it is posted (Σ debit = Σ credit, positive integer lines).
//
// Pure: no I/O, no clock. Amounts are integer minor units held in `number` (JSON-safe for Temporal
// payloads); every amount and every sum must stay within Number.MAX_SAFE_INTEGER.
//
// Chart of accounts (normal balance in brackets):
//   cash                 asset       [debit]   money received through a gateway
//   accounts_receivable  asset       [debit]   what customers owe; kept per customer
//   tax_payable          liability   [credit]  tax collected on invoices, owed to tax authorities
//   customer_credit      liability   [credit]  credit balance we owe customers; kept per customer
//   revenue              revenue     [credit]  invoiced revenue, net of invoice-level discounts
//   credits_granted      contra-rev. [debit]   goodwill and promotional credit given away
//   refunds              contra-rev. [debit]   money returned to customers (net of the tax returned)
//
// Decision: granting credit debits the contra-revenue account `credits_granted`, not `revenue`.
// Net revenue is the same either way (revenue − credits_granted − refunds), but gross revenue stays
// equal to what was invoiced, the revenue account never carries debits that are not corrections, and
// a report can show how much was given away. A credit bought with money is not a grant: post it as a
// payment into customer_credit (debit cash, credit customer_credit) with a dedicated builder when needed.

import { parseInstantMs } from './calendar';

export const ACCOUNT_CODES = [
  'cash',
  'accounts_receivable',
  'tax_payable',
  'customer_credit',
  'revenue',
  'credits_granted',
  'refunds',
] as const;
export type AccountCode = (typeof ACCOUNT_CODES)[number];

export type AccountType = 'asset' | 'liability' | 'revenue' | 'contra_revenue';
export type Direction = 'debit' | 'credit';

export interface AccountDefinition {
  readonly type: AccountType;
  /** The side on which the balance normally sits; balances are reported positive on this side. */
  readonly normalBalance: Direction;
  /** Kept per customer (lines may carry a customerId); all other accounts are tenant-level only. */
  readonly perCustomer: boolean;
}

export const ACCOUNTS: Readonly<Record<AccountCode, AccountDefinition>> = {
  cash: { type: 'asset', normalBalance: 'debit', perCustomer: false },
  accounts_receivable: { type: 'asset', normalBalance: 'debit', perCustomer: true },
  tax_payable: { type: 'liability', normalBalance: 'credit', perCustomer: false },
  customer_credit: { type: 'liability', normalBalance: 'credit', perCustomer: true },
  revenue: { type: 'revenue', normalBalance: 'credit', perCustomer: false },
  credits_granted: { type: 'contra_revenue', normalBalance: 'debit', perCustomer: false },
  refunds: { type: 'contra_revenue', normalBalance: 'debit', perCustomer: false },
};

export interface JournalLineDraft {
  readonly account: AccountCode;
  /** Only on per-customer accounts (accounts_receivable, customer_credit). */
  readonly customerId?: string;
  /** Exactly one of debitMinor / creditMinor, a positive integer. */
  readonly debitMinor?: number;
  readonly creditMinor?: number;
}

export interface JournalEntryDraft {
  /** Identifies the business event, e.g. 'invoice_finalized:inv_…'; posting it twice is a no-op. */
  readonly idempotencyKey: string;
  readonly sourceType: string;
  readonly sourceId: string;
  /** ISO 4217, upper case; every line is in this currency. */
  readonly currency: string;
  /** Canonical ISO-8601 UTC instant ('2024-01-31T10:00:00.000Z'). */
  readonly occurredAt: string;
  readonly description: string;
  readonly lines: readonly JournalLineDraft[];
  /** Idempotency key of the entry this one reverses (set by reversalEntry). */
  readonly reversesIdempotencyKey?: string;
}

/** A broken ledger invariant: a programming error in the caller, never a business outcome. */
export class LedgerInvariantError extends Error {
  override readonly name = 'LedgerInvariantError';
}

export const MAX_LINES_PER_ENTRY = 100;

// ---------------------------------------------------------------------------------------------
// Invariant

/**
 * Throws LedgerInvariantError unless the draft can be posted: at least two lines, each a known account
 * with exactly one positive safe-integer side, customerId only on per-customer accounts, Σ debit = Σ credit
 * (and the sum itself a safe integer), plus well-formed header fields (key, source, currency, instant).
 * The database checks the balance again at commit; this check gives the caller a precise message first.
 */
export function assertBalanced(draft: JournalEntryDraft): void {
  assertHeader(draft);
  const { lines } = draft;
  if (!Array.isArray(lines) || lines.length < 2) {
    fail(draft, `needs at least 2 lines, has ${Array.isArray(lines) ? lines.length : 'none'}`);
  }
  if (lines.length > MAX_LINES_PER_ENTRY) {
    fail(draft, `has ${lines.length} lines; at most ${MAX_LINES_PER_ENTRY}`);
  }
  const totals = sumLines(draft);
  if (totals.debitMinor !== totals.creditMinor) {
    fail(draft, `is unbalanced: debits ${totals.debitMinor} ≠ credits ${totals.creditMinor}`);
  }
}

/** Σ debit and Σ credit of a draft's lines (each line validated; the sums must stay safe integers). */
export function sumLines(draft: JournalEntryDraft): { debitMinor: number; creditMinor: number } {
  let debitMinor = 0;
  let creditMinor = 0;
  draft.lines.forEach((line, index) => {
    const { direction, amountMinor } = lineSide(draft, line, index);
    if (direction === 'debit') debitMinor += amountMinor;
    else creditMinor += amountMinor;
    if (!Number.isSafeInteger(debitMinor) || !Number.isSafeInteger(creditMinor)) {
      fail(draft, 'line totals exceed Number.MAX_SAFE_INTEGER');
    }
  });
  return { debitMinor, creditMinor };
}

/** The one side a validated line posts to, and its amount. */
export function lineSide(
  draft: JournalEntryDraft,
  line: JournalLineDraft,
  index: number,
): { direction: Direction; amountMinor: number } {
  const where = `line ${index}`;
  if (typeof line !== 'object' || line === null) fail(draft, `${where} is not an object`);
  if (!(ACCOUNT_CODES as readonly unknown[]).includes(line.account)) {
    fail(draft, `${where}: unknown account ${JSON.stringify(line.account)}`);
  }
  if (line.customerId !== undefined) {
    if (!ACCOUNTS[line.account].perCustomer) {
      fail(draft, `${where}: account ${line.account} is not kept per customer; drop customerId`);
    }
    if (typeof line.customerId !== 'string' || line.customerId.length === 0) {
      fail(draft, `${where}: customerId must be a non-empty string`);
    }
  }
  const hasDebit = line.debitMinor !== undefined;
  const hasCredit = line.creditMinor !== undefined;
  if (hasDebit === hasCredit) fail(draft, `${where} needs exactly one of debitMinor and creditMinor`);
  const direction: Direction = hasDebit ? 'debit' : 'credit';
  const amountMinor = hasDebit ? line.debitMinor : line.creditMinor;
  if (typeof amountMinor !== 'number' || !Number.isSafeInteger(amountMinor) || amountMinor <= 0) {
    fail(
      draft,
      `${where}: ${direction} must be a positive integer of minor units, got ${String(amountMinor)}`,
    );
  }
  return { direction, amountMinor };
}

function assertHeader(draft: JournalEntryDraft): void {
  if (typeof draft !== 'object' || draft === null)
    throw new LedgerInvariantError('journal entry: not an object');
  requireText(draft, 'idempotencyKey', draft.idempotencyKey, 255);
  requireText(draft, 'sourceId', draft.sourceId, 255);
  requireText(draft, 'description', draft.description, 500);
  if (typeof draft.sourceType !== 'string' || !/^[a-z][a-z0-9_]{0,62}$/.test(draft.sourceType)) {
    fail(draft, `sourceType must be snake_case, got ${JSON.stringify(draft.sourceType)}`);
  }
  if (typeof draft.currency !== 'string' || !/^[A-Z]{3}$/.test(draft.currency)) {
    fail(draft, `currency must be an ISO 4217 code like 'USD', got ${JSON.stringify(draft.currency)}`);
  }
  try {
    parseInstantMs(draft.occurredAt);
  } catch (error) {
    fail(draft, `occurredAt: ${(error as Error).message}`);
  }
  if (draft.reversesIdempotencyKey !== undefined) {
    requireText(draft, 'reversesIdempotencyKey', draft.reversesIdempotencyKey, 255);
    if (draft.reversesIdempotencyKey === draft.idempotencyKey) fail(draft, 'an entry cannot reverse itself');
  }
}

function requireText(draft: JournalEntryDraft, field: string, value: unknown, maxLength: number): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxLength) {
    fail(draft, `${field} must be a string of 1..${maxLength} characters`);
  }
}

function fail(draft: JournalEntryDraft, problem: string): never {
  const key = typeof draft?.idempotencyKey === 'string' ? draft.idempotencyKey : '(no key)';
  throw new LedgerInvariantError(`journal entry ${key} ${problem}`);
}

// ---------------------------------------------------------------------------------------------
// Builders: one per business event. Each derives its idempotency key from the event's own id, omits
// zero lines, and returns a draft that satisfies assertBalanced (checked before returning).

interface EventBase {
  readonly customerId: string;
  readonly currency: string;
  readonly occurredAt: string;
}

export interface InvoiceFinalizedInput extends EventBase {
  readonly invoiceId: string;
  /** Revenue: the invoice lines net of invoice-level discounts. */
  readonly subtotalMinor: number;
  readonly taxMinor: number;
  /** Must equal subtotalMinor + taxMinor. */
  readonly totalMinor: number;
}

/**
 * Debit accounts_receivable (customer) total; credit revenue subtotal; credit tax_payable tax.
 * Returns null for a zero-total invoice (a free trial, a 100 % coupon): there is nothing to post.
 * The non-negative case of invoiceIssuedEntry, with its amounts checked.
 */
export function invoiceFinalizedEntry(input: InvoiceFinalizedInput): JournalEntryDraft | null {
  const { invoiceId, subtotalMinor, taxMinor, totalMinor } = input;
  requireAmount('subtotalMinor', subtotalMinor, { allowZero: true });
  requireAmount('taxMinor', taxMinor, { allowZero: true });
  requireAmount('totalMinor', totalMinor, { allowZero: true });
  if (subtotalMinor + taxMinor !== totalMinor) {
    throw new LedgerInvariantError(
      `invoice ${invoiceId}: total ${totalMinor} ≠ subtotal ${subtotalMinor} + tax ${taxMinor}`,
    );
  }
  return invoiceIssuedEntry({ ...input, netMinor: subtotalMinor, taxMinor });
}

export interface PaymentCapturedInput extends EventBase {
  readonly paymentId: string;
  readonly amountMinor: number;
}

/** Debit cash; credit accounts_receivable (customer). */
export function paymentCapturedEntry(input: PaymentCapturedInput): JournalEntryDraft {
  const { paymentId, customerId, amountMinor } = input;
  requireAmount('amountMinor', amountMinor);
  return build({
    idempotencyKey: `payment_captured:${paymentId}`,
    sourceType: 'payment',
    sourceId: paymentId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description: `Payment ${paymentId} captured`,
    lines: [
      { account: 'cash', debitMinor: amountMinor },
      { account: 'accounts_receivable', customerId, creditMinor: amountMinor },
    ],
  });
}

export interface CreditGrantedInput extends EventBase {
  readonly grantId: string;
  readonly amountMinor: number;
  readonly reason?: string;
}

/** Debit credits_granted (contra-revenue); credit customer_credit (customer). See the decision above. */
export function creditGrantedEntry(input: CreditGrantedInput): JournalEntryDraft {
  const { grantId, customerId, amountMinor, reason } = input;
  requireAmount('amountMinor', amountMinor);
  return build({
    idempotencyKey: `credit_granted:${grantId}`,
    sourceType: 'credit_grant',
    sourceId: grantId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description: `Credit ${grantId} granted${reason === undefined ? '' : `: ${reason}`}`.slice(0, 500),
    lines: [
      { account: 'credits_granted', debitMinor: amountMinor },
      { account: 'customer_credit', customerId, creditMinor: amountMinor },
    ],
  });
}

export interface CreditAppliedInput extends EventBase {
  /** The invoice the credit pays; one application per invoice (the key is derived from it). */
  readonly invoiceId: string;
  readonly amountMinor: number;
}

/** Debit customer_credit (customer); credit accounts_receivable (customer): credit pays an invoice. */
export function creditAppliedEntry(input: CreditAppliedInput): JournalEntryDraft {
  const { invoiceId, customerId, amountMinor } = input;
  requireAmount('amountMinor', amountMinor);
  return build({
    idempotencyKey: `credit_applied:${invoiceId}`,
    sourceType: 'invoice',
    sourceId: invoiceId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description: `Customer credit applied to invoice ${invoiceId}`,
    lines: [
      { account: 'customer_credit', customerId, debitMinor: amountMinor },
      { account: 'accounts_receivable', customerId, creditMinor: amountMinor },
    ],
  });
}

export interface RefundInput extends EventBase {
  readonly refundId: string;
  /** Cash returned to the customer, tax included. */
  readonly amountMinor: number;
  /** The part of amountMinor that is tax handed back (reduces tax_payable); default 0. */
  readonly taxMinor?: number;
}

/**
 * Debit refunds (contra-revenue) amount − tax; debit tax_payable tax; credit cash amount.
 * The customer's receivable is untouched: the invoice was paid, and the refund returns cash.
 */
export function refundEntry(input: RefundInput): JournalEntryDraft {
  const { refundId, amountMinor } = input;
  const taxMinor = input.taxMinor ?? 0;
  requireAmount('amountMinor', amountMinor);
  requireAmount('taxMinor', taxMinor, { allowZero: true });
  if (taxMinor > amountMinor) {
    throw new LedgerInvariantError(`refund ${refundId}: tax ${taxMinor} exceeds amount ${amountMinor}`);
  }
  return build({
    idempotencyKey: `refund:${refundId}`,
    sourceType: 'refund',
    sourceId: refundId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description: `Refund ${refundId} to customer ${input.customerId}`,
    lines: compact([
      { account: 'refunds', debitMinor: amountMinor - taxMinor },
      { account: 'tax_payable', debitMinor: taxMinor },
      { account: 'cash', creditMinor: amountMinor },
    ]),
  });
}

/**
 * The correcting entry for a posted one: the same lines with debit and credit swapped. The ledger is
 * append-only, so this is the only way to undo an entry; post a fresh correct entry afterwards.
 */
export function reversalEntry(
  original: JournalEntryDraft,
  input: { occurredAt: string; reason: string },
): JournalEntryDraft {
  assertBalanced(original);
  return build({
    idempotencyKey: `reversal:${original.idempotencyKey}`.slice(0, 255),
    sourceType: original.sourceType,
    sourceId: original.sourceId,
    currency: original.currency,
    occurredAt: input.occurredAt,
    description: `Reversal of ${original.idempotencyKey}: ${input.reason}`.slice(0, 500),
    reversesIdempotencyKey: original.idempotencyKey,
    lines: original.lines.map((line) => ({
      account: line.account,
      ...(line.customerId === undefined ? {} : { customerId: line.customerId }),
      ...(line.debitMinor === undefined
        ? { debitMinor: line.creditMinor }
        : { creditMinor: line.debitMinor }),
    })),
  });
}

export interface InvoiceCreditedInput extends EventBase {
  readonly invoiceId: string;
  /** The magnitude of a negative invoice total (unused time credited exceeds what was charged). */
  readonly creditMinor: number;
}

/**
 * A finalized invoice whose lines sum below zero (a downgrade's unused time): debit revenue (a
 * correction of revenue recognised earlier), credit customer_credit (customer): the customer's balance
 * pays future invoices.
 */
export function invoiceCreditedEntry(input: InvoiceCreditedInput): JournalEntryDraft {
  requireAmount('creditMinor', input.creditMinor);
  const entry = invoiceIssuedEntry({ ...input, netMinor: -input.creditMinor, taxMinor: 0 });
  if (entry === null) throw new LedgerInvariantError(`invoice ${input.invoiceId}: a credit moves money`);
  return entry;
}

export interface InvoiceIssuedInput extends EventBase {
  readonly invoiceId: string;
  /** Signed: Σ line net amounts. */
  readonly netMinor: number;
  /** Signed: Σ line tax. */
  readonly taxMinor: number;
}

/**
 * Any finalized invoice, whatever the signs of its net and tax (a prorated downgrade credits revenue
 * and the tax charged on it): revenue and tax_payable move by the signed amounts; a positive total
 * is receivable from the customer, a negative one becomes their credit balance. Null when nothing
 * moves. The one builder of an invoice's entry (invoiceFinalizedEntry and invoiceCreditedEntry are its
 * positive and credit cases): key `invoice_finalized:{id}`, one entry per invoice.
 */
export function invoiceIssuedEntry(input: InvoiceIssuedInput): JournalEntryDraft | null {
  const { invoiceId, customerId, netMinor, taxMinor } = input;
  for (const [name, value] of [
    ['netMinor', netMinor],
    ['taxMinor', taxMinor],
  ] as const) {
    if (!Number.isSafeInteger(value)) throw new LedgerInvariantError(`${name} must be a safe integer`);
  }
  const totalMinor = netMinor + taxMinor;
  if (netMinor === 0 && taxMinor === 0) return null;
  const signed = (account: AccountCode, creditMinor: number, customer?: string): LooseLine => ({
    account,
    ...(customer === undefined ? {} : { customerId: customer }),
    ...(creditMinor >= 0 ? { creditMinor } : { debitMinor: -creditMinor }),
  });
  return build({
    idempotencyKey: `invoice_finalized:${invoiceId}`,
    sourceType: 'invoice',
    sourceId: invoiceId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description:
      totalMinor >= 0
        ? `Invoice ${invoiceId} finalized`
        : `Invoice ${invoiceId} finalized with a credit to the customer's balance`,
    // Debit lines first, then credit lines, whatever the signs.
    lines: compact(
      totalMinor >= 0
        ? [
            { account: 'accounts_receivable', customerId, debitMinor: totalMinor },
            signed('revenue', netMinor),
            signed('tax_payable', taxMinor),
          ]
        : [
            signed('revenue', netMinor),
            signed('tax_payable', taxMinor),
            { account: 'customer_credit', customerId, creditMinor: -totalMinor },
          ],
    ),
  });
}

export interface CreditNoteInput extends EventBase {
  readonly creditNoteId: string;
  readonly amountMinor: number;
  /**
   * Where the credit goes: 'balance' when the invoice was paid (customer_credit, spent on later
   * invoices); 'receivable' when it is still open (it reduces what the customer owes).
   */
  readonly creditTo: 'balance' | 'receivable';
  /** The tax reversed, included in amountMinor (tax_payable is debited by it). */
  readonly taxMinor?: number;
}

/** Debit revenue (corrects what was invoiced); credit customer_credit or accounts_receivable (customer). */
export function creditNoteEntry(input: CreditNoteInput): JournalEntryDraft {
  const { creditNoteId, customerId, amountMinor, creditTo } = input;
  const taxMinor = input.taxMinor ?? 0;
  requireAmount('amountMinor', amountMinor);
  requireAmount('taxMinor', taxMinor, { allowZero: true });
  if (taxMinor > amountMinor) {
    throw new LedgerInvariantError(
      `credit note ${creditNoteId}: tax ${taxMinor} exceeds amount ${amountMinor}`,
    );
  }
  return build({
    idempotencyKey: `credit_note:${creditNoteId}`,
    sourceType: 'credit_note',
    sourceId: creditNoteId,
    currency: input.currency,
    occurredAt: input.occurredAt,
    description: `Credit note ${creditNoteId}`,
    lines: compact([
      { account: 'revenue', debitMinor: amountMinor - taxMinor },
      { account: 'tax_payable', debitMinor: taxMinor },
      {
        account: creditTo === 'balance' ? 'customer_credit' : 'accounts_receivable',
        customerId,
        creditMinor: amountMinor,
      },
    ]),
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Signed balance of a (debit, credit) pair on the account's normal side: positive = normal. */
export function normalBalanceMinor(account: AccountCode, debitMinor: number, creditMinor: number): number {
  return ACCOUNTS[account].normalBalance === 'debit' ? debitMinor - creditMinor : creditMinor - debitMinor;
}

type LooseLine = { account: AccountCode; customerId?: string; debitMinor?: number; creditMinor?: number };

/** Drops zero-amount lines (a zero tax line is not a line; the database rejects amount 0). */
function compact(lines: LooseLine[]): JournalLineDraft[] {
  return lines.filter((line) => (line.debitMinor ?? line.creditMinor) !== 0);
}

function build(draft: JournalEntryDraft): JournalEntryDraft {
  assertBalanced(draft); // postcondition of every builder
  return draft;
}

function requireAmount(name: string, value: number, options: { allowZero?: boolean } = {}): void {
  const min = options.allowZero === true ? 0 : 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new LedgerInvariantError(
      `${name} must be an integer of minor units >= ${min}, got ${JSON.stringify(value)}`,
    );
  }
}
