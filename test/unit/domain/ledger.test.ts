import fc from 'fast-check';

import {
  ACCOUNT_CODES,
  ACCOUNTS,
  type AccountCode,
  assertBalanced,
  creditAppliedEntry,
  creditGrantedEntry,
  creditNoteEntry,
  invoiceCreditedEntry,
  invoiceFinalizedEntry,
  type JournalEntryDraft,
  type JournalLineDraft,
  LedgerInvariantError,
  normalBalanceMinor,
  paymentCapturedEntry,
  refundEntry,
  reversalEntry,
  sumLines,
} from '../../../src/domain/ledger';

const at = '2024-03-01T00:00:00.000Z';
const base = { customerId: 'cus_1', currency: 'USD', occurredAt: at };

function draft(lines: JournalLineDraft[], overrides: Partial<JournalEntryDraft> = {}): JournalEntryDraft {
  return {
    idempotencyKey: 'test:1',
    sourceType: 'test',
    sourceId: 'src_1',
    currency: 'USD',
    occurredAt: at,
    description: 'test entry',
    lines,
    ...overrides,
  };
}

/** Net balance per account (customer sub-ledgers kept apart) after applying the drafts in order. */
function balances(...drafts: JournalEntryDraft[]): Record<string, number> {
  const net: Record<string, number> = {};
  for (const entry of drafts) {
    for (const line of entry.lines) {
      const key = line.customerId === undefined ? line.account : `${line.account}:${line.customerId}`;
      net[key] =
        (net[key] ?? 0) + normalBalanceMinor(line.account, line.debitMinor ?? 0, line.creditMinor ?? 0);
    }
  }
  for (const key of Object.keys(net)) if (net[key] === 0) delete net[key];
  return net;
}

describe('builders: worked examples', () => {
  test('invoice finalized: $100.00 + $20.00 tax → AR 120.00 Dr; revenue 100.00 Cr; tax payable 20.00 Cr', () => {
    const entry = invoiceFinalizedEntry({
      ...base,
      invoiceId: 'inv_1',
      subtotalMinor: 10_000,
      taxMinor: 2_000,
      totalMinor: 12_000,
    });
    expect(entry).toEqual({
      idempotencyKey: 'invoice_finalized:inv_1',
      sourceType: 'invoice',
      sourceId: 'inv_1',
      currency: 'USD',
      occurredAt: at,
      description: 'Invoice inv_1 finalized',
      lines: [
        { account: 'accounts_receivable', customerId: 'cus_1', debitMinor: 12_000 },
        { account: 'revenue', creditMinor: 10_000 },
        { account: 'tax_payable', creditMinor: 2_000 },
      ],
    });
  });

  test('invoice finalized without tax has no zero tax line', () => {
    const entry = invoiceFinalizedEntry({
      ...base,
      invoiceId: 'inv_2',
      subtotalMinor: 500,
      taxMinor: 0,
      totalMinor: 500,
    });
    expect(entry?.lines).toEqual([
      { account: 'accounts_receivable', customerId: 'cus_1', debitMinor: 500 },
      { account: 'revenue', creditMinor: 500 },
    ]);
  });

  test('a zero-total invoice (trial, 100 % coupon) posts nothing', () => {
    expect(
      invoiceFinalizedEntry({ ...base, invoiceId: 'inv_0', subtotalMinor: 0, taxMinor: 0, totalMinor: 0 }),
    ).toBeNull();
  });

  test('an invoice whose total is not subtotal + tax is refused', () => {
    expect(() =>
      invoiceFinalizedEntry({
        ...base,
        invoiceId: 'inv_3',
        subtotalMinor: 1000,
        taxMinor: 200,
        totalMinor: 1199,
      }),
    ).toThrow(/total 1199 ≠ subtotal 1000 \+ tax 200/);
  });

  test('payment captured: cash Dr; AR Cr (the customer’s sub-ledger)', () => {
    expect(paymentCapturedEntry({ ...base, paymentId: 'pay_1', amountMinor: 12_000 })).toMatchObject({
      idempotencyKey: 'payment_captured:pay_1',
      sourceType: 'payment',
      lines: [
        { account: 'cash', debitMinor: 12_000 },
        { account: 'accounts_receivable', customerId: 'cus_1', creditMinor: 12_000 },
      ],
    });
  });

  test('credit granted: credits_granted (contra-revenue) Dr; customer_credit Cr — revenue itself untouched', () => {
    const entry = creditGrantedEntry({
      ...base,
      grantId: 'cg_1',
      amountMinor: 2_500,
      reason: 'outage 2024-02-28',
    });
    expect(entry).toMatchObject({
      idempotencyKey: 'credit_granted:cg_1',
      description: 'Credit cg_1 granted: outage 2024-02-28',
      lines: [
        { account: 'credits_granted', debitMinor: 2_500 },
        { account: 'customer_credit', customerId: 'cus_1', creditMinor: 2_500 },
      ],
    });
    expect(entry.lines.some((line) => line.account === 'revenue')).toBe(false);
  });

  test('credit applied: customer_credit Dr; AR Cr', () => {
    expect(creditAppliedEntry({ ...base, invoiceId: 'inv_1', amountMinor: 2_500 })).toMatchObject({
      idempotencyKey: 'credit_applied:inv_1',
      lines: [
        { account: 'customer_credit', customerId: 'cus_1', debitMinor: 2_500 },
        { account: 'accounts_receivable', customerId: 'cus_1', creditMinor: 2_500 },
      ],
    });
  });

  test('refund of $60.00 of which $10.00 tax: refunds 50.00 Dr; tax payable 10.00 Dr; cash 60.00 Cr', () => {
    expect(refundEntry({ ...base, refundId: 're_1', amountMinor: 6_000, taxMinor: 1_000 }).lines).toEqual([
      { account: 'refunds', debitMinor: 5_000 },
      { account: 'tax_payable', debitMinor: 1_000 },
      { account: 'cash', creditMinor: 6_000 },
    ]);
    expect(refundEntry({ ...base, refundId: 're_2', amountMinor: 700 }).lines).toEqual([
      { account: 'refunds', debitMinor: 700 },
      { account: 'cash', creditMinor: 700 },
    ]);
    expect(() => refundEntry({ ...base, refundId: 're_3', amountMinor: 100, taxMinor: 101 })).toThrow(
      /tax 101 exceeds/,
    );
  });

  test('a whole story: invoice 120.00, 25.00 credit granted then applied, 95.00 paid, 60.00 refunded', () => {
    // AR: +120.00 − 25.00 − 95.00 = 0. Customer credit: +25.00 − 25.00 = 0.
    // Cash: +95.00 − 60.00 = 35.00. Revenue 100.00; contra: credits 25.00, refunds 50.00 → net revenue 25.00.
    // Tax payable: 20.00 − 10.00 = 10.00. Check: assets 35.00 = liabilities 10.00 + net revenue 25.00.
    const story = [
      invoiceFinalizedEntry({
        ...base,
        invoiceId: 'inv_1',
        subtotalMinor: 10_000,
        taxMinor: 2_000,
        totalMinor: 12_000,
      }),
      creditGrantedEntry({ ...base, grantId: 'cg_1', amountMinor: 2_500 }),
      creditAppliedEntry({ ...base, invoiceId: 'inv_1', amountMinor: 2_500 }),
      paymentCapturedEntry({ ...base, paymentId: 'pay_1', amountMinor: 9_500 }),
      refundEntry({ ...base, refundId: 're_1', amountMinor: 6_000, taxMinor: 1_000 }),
    ].filter((entry): entry is JournalEntryDraft => entry !== null);
    expect(balances(...story)).toEqual({
      cash: 3_500,
      revenue: 10_000,
      credits_granted: 2_500,
      refunds: 5_000,
      tax_payable: 1_000,
    });
  });

  test('a reversal swaps every side, keeps the customers, links the original and nets it to zero', () => {
    const original = invoiceFinalizedEntry({
      ...base,
      invoiceId: 'inv_9',
      subtotalMinor: 1_000,
      taxMinor: 190,
      totalMinor: 1_190,
    });
    if (!original) throw new Error('expected an entry');
    const reversal = reversalEntry(original, {
      occurredAt: '2024-03-02T00:00:00.000Z',
      reason: 'wrong tax rate',
    });
    expect(reversal).toEqual({
      idempotencyKey: 'reversal:invoice_finalized:inv_9',
      sourceType: 'invoice',
      sourceId: 'inv_9',
      currency: 'USD',
      occurredAt: '2024-03-02T00:00:00.000Z',
      description: 'Reversal of invoice_finalized:inv_9: wrong tax rate',
      reversesIdempotencyKey: 'invoice_finalized:inv_9',
      lines: [
        { account: 'accounts_receivable', customerId: 'cus_1', creditMinor: 1_190 },
        { account: 'revenue', debitMinor: 1_000 },
        { account: 'tax_payable', debitMinor: 190 },
      ],
    });
    expect(balances(original, reversal)).toEqual({});
  });

  test('builders refuse zero, negative, fractional and unsafe amounts', () => {
    for (const amountMinor of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => paymentCapturedEntry({ ...base, paymentId: 'p', amountMinor })).toThrow(
        LedgerInvariantError,
      );
    }
  });

  test('drafts are plain JSON (Temporal payloads): a round trip changes nothing', () => {
    const entry = creditGrantedEntry({ ...base, grantId: 'cg_2', amountMinor: 1 });
    expect(JSON.parse(JSON.stringify(entry))).toEqual(entry);
  });
});

describe('assertBalanced rejects what the database would reject, with a precise message', () => {
  const dr = (account: AccountCode, debitMinor: number, customerId?: string): JournalLineDraft =>
    customerId === undefined ? { account, debitMinor } : { account, debitMinor, customerId };
  const cr = (account: AccountCode, creditMinor: number): JournalLineDraft => ({ account, creditMinor });

  test('accepts a balanced two-line entry', () => {
    expect(() => assertBalanced(draft([dr('cash', 100), cr('revenue', 100)]))).not.toThrow();
  });

  test.each<[string, JournalEntryDraft, RegExp]>([
    ['unbalanced', draft([dr('cash', 100), cr('revenue', 99)]), /unbalanced: debits 100 ≠ credits 99/],
    ['no lines', draft([]), /at least 2 lines, has 0/],
    ['one line', draft([dr('cash', 100)]), /at least 2 lines, has 1/],
    ['zero amount', draft([dr('cash', 0), cr('revenue', 0)]), /line 0: debit must be a positive integer/],
    ['negative amount', draft([dr('cash', -5), cr('revenue', -5)]), /positive integer/],
    [
      'fractional amount',
      draft([dr('cash', 1.5), cr('revenue', 1.5)]),
      /positive integer of minor units, got 1.5/,
    ],
    ['NaN', draft([dr('cash', Number.NaN), cr('revenue', Number.NaN)]), /got NaN/],
    [
      'both sides on one line',
      draft([{ account: 'cash', debitMinor: 1, creditMinor: 1 }, cr('revenue', 0)]),
      /line 0 needs exactly one of debitMinor and creditMinor/,
    ],
    ['no side', draft([{ account: 'cash' }, cr('revenue', 1)]), /line 0 needs exactly one/],
    [
      'unknown account',
      draft([dr('petty_cash' as AccountCode, 1), cr('revenue', 1)]),
      /line 0: unknown account "petty_cash"/,
    ],
    [
      'customer on a tenant-level account',
      draft([dr('cash', 1), { account: 'revenue', customerId: 'cus_1', creditMinor: 1 }]),
      /line 1: account revenue is not kept per customer/,
    ],
    [
      'empty customer id',
      draft([dr('accounts_receivable', 1, ''), cr('revenue', 1)]),
      /customerId must be a non-empty string/,
    ],
    [
      'sum past MAX_SAFE_INTEGER',
      draft([dr('cash', Number.MAX_SAFE_INTEGER), dr('cash', 2), cr('revenue', 1)]),
      /exceed Number.MAX_SAFE_INTEGER/,
    ],
    [
      'lower-case currency',
      draft([dr('cash', 1), cr('revenue', 1)], { currency: 'usd' }),
      /currency must be/,
    ],
    [
      'non-canonical instant',
      draft([dr('cash', 1), cr('revenue', 1)], { occurredAt: '2024-03-01' }),
      /occurredAt: expected an ISO-8601 UTC instant/,
    ],
    [
      'empty idempotency key',
      draft([dr('cash', 1), cr('revenue', 1)], { idempotencyKey: '' }),
      /idempotencyKey/,
    ],
    ['bad source type', draft([dr('cash', 1), cr('revenue', 1)], { sourceType: 'Invoice' }), /sourceType/],
    [
      'reverses itself',
      draft([dr('cash', 1), cr('revenue', 1)], { reversesIdempotencyKey: 'test:1' }),
      /cannot reverse itself/,
    ],
  ])('%s', (_name, bad, message) => {
    expect(() => assertBalanced(bad)).toThrow(LedgerInvariantError);
    expect(() => assertBalanced(bad)).toThrow(message);
  });

  test('every account code has a definition and the normal balances follow the account type', () => {
    for (const code of ACCOUNT_CODES) {
      const { type, normalBalance } = ACCOUNTS[code];
      expect([code, normalBalance]).toEqual([
        code,
        type === 'asset' || type === 'contra_revenue' ? 'debit' : 'credit',
      ]);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

const MAX_AMOUNT = 2 ** 50; // the sums of three such amounts stay below 2^53
const amount = fc.integer({ min: 1, max: MAX_AMOUNT });
const amountOrZero = fc.integer({ min: 0, max: MAX_AMOUNT });
const id = fc.stringMatching(/^[a-z]{2,4}_[A-Za-z0-9]{1,20}$/);
const currency = fc.constantFrom('USD', 'EUR', 'JPY', 'BHD');
const occurredAt = fc
  .integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
const eventBase = fc.record({ customerId: id, currency, occurredAt });

/** Any builder with any valid input; null (a zero invoice) filtered out. */
const anyEntry: fc.Arbitrary<JournalEntryDraft> = fc.oneof(
  fc
    .record({ event: eventBase, invoiceId: id, subtotalMinor: amountOrZero, taxMinor: amountOrZero })
    .filter(({ subtotalMinor, taxMinor }) => subtotalMinor + taxMinor > 0)
    .map(({ event, invoiceId, subtotalMinor, taxMinor }) =>
      invoiceFinalizedEntry({
        ...event,
        invoiceId,
        subtotalMinor,
        taxMinor,
        totalMinor: subtotalMinor + taxMinor,
      }),
    )
    .filter((entry): entry is JournalEntryDraft => entry !== null),
  fc
    .record({ event: eventBase, paymentId: id, amountMinor: amount })
    .map(({ event, ...rest }) => paymentCapturedEntry({ ...event, ...rest })),
  fc
    .record({
      event: eventBase,
      grantId: id,
      amountMinor: amount,
      reason: fc.option(fc.string(), { nil: undefined }),
    })
    .map(({ event, ...rest }) => creditGrantedEntry({ ...event, ...rest })),
  fc
    .record({ event: eventBase, invoiceId: id, amountMinor: amount })
    .map(({ event, ...rest }) => creditAppliedEntry({ ...event, ...rest })),
  fc
    .record({
      event: eventBase,
      refundId: id,
      amountMinor: amount,
      taxShare: fc.double({ min: 0, max: 1, noNaN: true }),
    })
    .map(({ event, refundId, amountMinor, taxShare }) =>
      refundEntry({ ...event, refundId, amountMinor, taxMinor: Math.floor(amountMinor * taxShare) }),
    ),
);

describe('properties', () => {
  test('every builder output is balanced, with positive safe-integer lines in the entry currency', () => {
    fc.assert(
      fc.property(anyEntry, (entry) => {
        expect(() => assertBalanced(entry)).not.toThrow();
        const { debitMinor, creditMinor } = sumLines(entry);
        expect(debitMinor).toBe(creditMinor);
        expect(debitMinor).toBeGreaterThan(0);
        for (const line of entry.lines) {
          const value = line.debitMinor ?? line.creditMinor;
          expect(Number.isSafeInteger(value) && (value ?? 0) > 0).toBe(true);
          expect(line.customerId === undefined || ACCOUNTS[line.account].perCustomer).toBe(true);
        }
      }),
    );
  });

  test('an entry and its reversal leave every account where it was', () => {
    fc.assert(
      fc.property(anyEntry, occurredAt, (entry, when) => {
        const reversal = reversalEntry(entry, { occurredAt: when, reason: 'test' });
        expect(() => assertBalanced(reversal)).not.toThrow();
        expect(balances(entry, reversal)).toEqual({});
      }),
    );
  });

  test('invoice then payment (after any credit applied) clears the customer’s receivable', () => {
    fc.assert(
      fc.property(
        eventBase,
        amountOrZero,
        amountOrZero,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (event, subtotalMinor, taxMinor, creditShare) => {
          fc.pre(subtotalMinor + taxMinor > 0);
          const totalMinor = subtotalMinor + taxMinor;
          const creditMinor = Math.floor(totalMinor * creditShare);
          const drafts = [
            invoiceFinalizedEntry({ ...event, invoiceId: 'inv_1', subtotalMinor, taxMinor, totalMinor }),
            creditMinor > 0
              ? creditGrantedEntry({ ...event, grantId: 'cg_1', amountMinor: creditMinor })
              : null,
            creditMinor > 0
              ? creditAppliedEntry({ ...event, invoiceId: 'inv_1', amountMinor: creditMinor })
              : null,
            totalMinor - creditMinor > 0
              ? paymentCapturedEntry({ ...event, paymentId: 'pay_1', amountMinor: totalMinor - creditMinor })
              : null,
          ].filter((entry): entry is JournalEntryDraft => entry !== null);
          const net = balances(...drafts);
          expect(net[`accounts_receivable:${event.customerId}`]).toBeUndefined();
          expect(net[`customer_credit:${event.customerId}`]).toBeUndefined();
          expect(net.cash ?? 0).toBe(totalMinor - creditMinor);
          // Assets = liabilities + net revenue.
          expect(net.cash ?? 0).toBe(
            (net.tax_payable ?? 0) + (net.revenue ?? 0) - (net.credits_granted ?? 0),
          );
        },
      ),
    );
  });

  test('changing any one line amount of a balanced entry makes assertBalanced throw', () => {
    fc.assert(
      fc.property(anyEntry, fc.nat(), fc.integer({ min: 1, max: 1000 }), (entry, pick, delta) => {
        const index = pick % entry.lines.length;
        const lines = entry.lines.map((line, i) => {
          if (i !== index) return line;
          return line.debitMinor === undefined
            ? { ...line, creditMinor: (line.creditMinor ?? 0) + delta }
            : { ...line, debitMinor: line.debitMinor + delta };
        });
        expect(() => assertBalanced({ ...entry, lines })).toThrow(LedgerInvariantError);
      }),
    );
  });
});

describe('lifecycle entries', () => {
  const base = { customerId: 'cus_1', currency: 'USD', occurredAt: '2025-04-11T00:00:00.000Z' };

  it('a negative invoice debits revenue and credits the customer balance', () => {
    const entry = invoiceCreditedEntry({ ...base, invoiceId: 'inv_1', creditMinor: 1500 });
    expect(entry.lines).toEqual([
      { account: 'revenue', debitMinor: 1500 },
      { account: 'customer_credit', customerId: 'cus_1', creditMinor: 1500 },
    ]);
    expect(entry.idempotencyKey).toBe('invoice_finalized:inv_1');
  });

  it('a credit note on a paid invoice goes to the balance, on an open one it reduces the receivable', () => {
    const paid = creditNoteEntry({ ...base, creditNoteId: 'cn_1', amountMinor: 2000, creditTo: 'balance' });
    expect(paid.lines[1]).toEqual({ account: 'customer_credit', customerId: 'cus_1', creditMinor: 2000 });
    const open = creditNoteEntry({
      ...base,
      creditNoteId: 'cn_2',
      amountMinor: 2000,
      creditTo: 'receivable',
    });
    expect(open.lines[1]).toEqual({ account: 'accounts_receivable', customerId: 'cus_1', creditMinor: 2000 });
    expect(() =>
      creditNoteEntry({ ...base, creditNoteId: 'cn_3', amountMinor: 0, creditTo: 'balance' }),
    ).toThrow(LedgerInvariantError);
  });
});
