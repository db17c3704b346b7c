import { createActivities } from '../../src/activities';
import type { IssuedInvoice } from '../../src/activities/contracts';
import { newId } from '../../src/db/ids';
import { withTenant } from '../../src/db/with-tenant';
import { createApiHarness, expectProblem, type ApiHarness } from '../support/api-harness';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  FRENCH_SELLER,
  GERMAN_SELLER,
  pdfTextAt,
  sellerWith as sellerWithProfile,
  taxPayableMinor,
  type Seller,
} from '../support/tax-fixtures';
import { customerCreditBalanceMinor } from '../support/workflow-harness';

// Credit notes through the API: finance corrects a finalized invoice (which never changes) with a
// numbered credit note in its own series. The note reverses tax at the invoice's own rate, credits
// the customer's balance (which pays their next invoices) and is a document of its own.

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness('api-credit-notes');
});
afterAll(async () => {
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;
const MARCH = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };

const MUNICH_CONSUMER = {
  legal_name: 'Erika Mustermann',
  address: { line1: 'Hauptstraße 1', postal_code: '80331', city: 'München', country: 'DE' },
};
const BERLIN_COMPANY = {
  legal_name: 'Beispiel Software GmbH',
  address: { line1: 'Unter den Linden 5', postal_code: '10117', city: 'Berlin', country: 'DE' },
  tax_id: { type: 'eu_vat', value: 'DE136695976' },
};

const sellerWith = (profile: object) => sellerWithProfile(h, profile);
const taxPayable = (tenantId: string) => taxPayableMinor(h.pools.app, tenantId, 'EUR');
const pdfText = (secret: string, creditNoteId: string) =>
  pdfTextAt(h.app, secret, `/v1/credit_notes/${creditNoteId}/pdf`);

/**
 * A customer with `details` subscribed to a plan of `amountMinor` a month, and their March invoice
 * issued and finalized by the invoicing activity (as the subscription workflow issues it).
 */
async function invoicedCustomer(
  seller: Seller,
  details: object,
  options: { amountMinor?: number; priceId?: string } = {},
): Promise<{ customerId: string; invoice: IssuedInvoice & { number: string } }> {
  const amountMinor = options.amountMinor ?? 4900;
  const seeded = await seedSubscription(h.pools.app, seller.tenantId, {
    createdAt: MARCH.start,
    amountMinor,
    currency: 'EUR',
    recurrence: monthly,
  });
  const updated = await seller.api.post(`/v1/customers/${seeded.customerId}`, details);
  expect(updated.status).toBe(200);
  const activities = createActivities({ pool: h.pools.app, gateway: new FakeGateway() });
  const invoice = await activities.issueInvoice({
    tenantId: seller.tenantId,
    subscriptionId: seeded.input.subscriptionId,
    customerId: seeded.customerId,
    currency: 'EUR',
    billingReason: 'subscription_cycle',
    idempotencyKey: `invoice:${seeded.input.subscriptionId}:${MARCH.start}`,
    period: MARCH,
    lines: [
      {
        kind: 'subscription',
        description: 'Pro plan',
        quantity: 1,
        unitAmountMinor: amountMinor,
        amountMinor,
        periodStart: MARCH.start,
        periodEnd: MARCH.end,
        priceId: options.priceId ?? seeded.priceId,
        itemId: null,
      },
    ],
    issuedAt: MARCH.start,
  });
  expect(invoice.number).not.toBeNull();
  return { customerId: seeded.customerId, invoice: { ...invoice, number: invoice.number as string } };
}

async function creditNoteCount(tenantId: string): Promise<number> {
  return withTenant(h.pools.app, tenantId, async (db) => {
    const { rows } = await db.query<{ count: number }>('SELECT count(*)::int AS count FROM credit_notes');
    return rows[0]?.count ?? 0;
  });
}

/** The page's visible text, tags dropped and entities decoded, whitespace collapsed. */
function visibleText(html: string): string {
  return html
    .slice(html.indexOf('<body>'))
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('finance credits part of a German consumer invoice (49.00 + 19 % VAT = 58.31)', () => {
  it('issues CN-000001 of 29.16 for 24.50 net, restores the balance by exactly that, and replays on retry', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { customerId, invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    // 4900 × 19 % = 931 VAT; the customer owes 5831.
    expect(invoice).toMatchObject({
      number: 'INV-000001',
      subtotalMinor: 4900,
      totalMinor: 5831,
      status: 'open',
    });
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(0);

    const body = {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Outage 10–12 March: half the month', amount: 2450 }],
      reason: 'other',
      memo: 'Goodwill credit agreed with the customer on 2026-03-14',
    };
    const created = await seller.api.post('/v1/credit_notes', body, 'cn-goodwill-1');
    // The invoice's prices are tax-exclusive, so 2450 is net. The VAT reversed is at the invoice's own
    // effective rate: 2450 × 931 / 4900 = 465.5 → half-even 466. Credit: 2450 + 466 = 2916.
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      object: 'credit_note',
      id: expect.stringMatching(/^cn_/),
      number: 'CN-000001',
      invoice: invoice.invoiceId,
      invoice_number: 'INV-000001',
      customer: customerId,
      currency: 'EUR',
      amount: 2916,
      subtotal: 2450,
      tax: 466,
      reason: 'other',
      memo: 'Goodwill credit agreed with the customer on 2026-03-14',
      issued_at: expect.any(String),
      created_at: expect.any(String),
      lines: [{ description: 'Outage 10–12 March: half the month', amount: 2450 }],
      tax_summary: [
        {
          jurisdiction: 'DE',
          tax_name: 'VAT',
          rate_percent: '19',
          rate_kind: 'standard',
          treatment: 'taxed',
          taxable_amount: 2450,
          tax_amount: 466,
        },
      ],
    });
    const creditNoteId = created.body.id as string;

    // The credit sits on the customer's balance (it pays their next invoice); the tax office is owed
    // 931 − 466 = 465; the books balance.
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(2916);
    expect(await taxPayable(seller.tenantId)).toBe(465);
    await expectLedgerBalanced(h.pools.app, seller.tenantId);

    // The finalized invoice itself is untouched.
    const after = await seller.api.get(`/v1/invoices/${invoice.invoiceId}`);
    expect(after.body).toMatchObject({ number: 'INV-000001', total: 5831, amount_due: 5831, status: 'open' });

    // A retry with the same Idempotency-Key replays the first answer and issues nothing new.
    const replay = await seller.api.post('/v1/credit_notes', body, 'cn-goodwill-1');
    expect(replay.status).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(created.body);
    expect(await creditNoteCount(seller.tenantId)).toBe(1);
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(2916);

    // The same key for another request is refused.
    const reused = await seller.api.post(
      '/v1/credit_notes',
      { ...body, lines: [{ description: 'Other', amount: 100 }] },
      'cn-goodwill-1',
    );
    expectProblem(reused, 422, 'idempotency-key-reused', 'Idempotency-Key');

    const fetched = await seller.api.get(`/v1/credit_notes/${creditNoteId}`);
    expect(fetched.status).toBe(200);
    expect(fetched.body).toEqual(created.body);
  });

  it('refuses to credit more than is left: 58.31 − 29.16 = 29.15 left, and 24.50 net would be 29.16', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { customerId, invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const first = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'First half of March', amount: 2450 }],
      reason: 'other',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ number: 'CN-000001', amount: 2916 });

    // The other half again: 2450 + 466 = 2916 > 5831 − 2916 = 2915.
    const tooMuch = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Second half of March', amount: 2450 }],
      reason: 'other',
    });
    expectProblem(tooMuch, 422, 'unprocessable', 'lines');
    expect(tooMuch.body.detail).toContain('EUR 29.16');
    expect(tooMuch.body.detail).toContain('EUR 29.15');
    expect(tooMuch.body.detail).toContain('INV-000001');
    expect(await creditNoteCount(seller.tenantId)).toBe(1);
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(2916);

    // One cent less fits: 2449 × 931 / 4900 = 465.31 → 465, so 2449 + 465 = 2914 ≤ 2915. The refused
    // attempt consumed no number: the series stays gapless.
    const rest = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Second half of March', amount: 2449 }],
      reason: 'other',
    });
    expect(rest.status).toBe(201);
    expect(rest.body).toMatchObject({
      number: 'CN-000002',
      amount: 2914,
      subtotal: 2449,
      tax: 465,
      memo: null,
    });
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(2916 + 2914);
    // 931 − 466 − 465 = 0 VAT left owed on this invoice.
    expect(await taxPayable(seller.tenantId)).toBe(0);
    await expectLedgerBalanced(h.pools.app, seller.tenantId);

    // Lists: newest first, by invoice or customer, a page at a time.
    const byInvoice = await seller.api.get(`/v1/credit_notes?invoice=${invoice.invoiceId}`);
    expect(byInvoice.status).toBe(200);
    expect(byInvoice.body).toMatchObject({ object: 'list', url: '/v1/credit_notes', has_more: false });
    expect(byInvoice.body.data.map((note: { number: string }) => note.number)).toEqual([
      'CN-000002',
      'CN-000001',
    ]);
    const page1 = await seller.api.get(`/v1/credit_notes?customer=${customerId}&limit=1`);
    expect(page1.body).toMatchObject({ has_more: true, data: [{ number: 'CN-000002' }] });
    const page2 = await seller.api.get(
      `/v1/credit_notes?customer=${customerId}&limit=1&starting_after=${page1.body.data[0].id as string}`,
    );
    expect(page2.body).toMatchObject({
      has_more: false,
      data: [{ number: 'CN-000001', lines: [{ amount: 2450 }] }],
    });
    const otherCustomer = await seller.api.get('/v1/credit_notes?customer=cus_unknown0000');
    expect(otherCustomer.body.data).toEqual([]);
  });

  it('is a document: "Credit note", its number, the invoice it corrects and the amounts as credits', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const created = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Outage credit', amount: 2450 }],
      reason: 'other',
    });
    expect(created.status).toBe(201);

    const text = await pdfText(seller.secret, created.body.id as string);
    expect(text).toMatch(/credit note/i);
    expect(text).toContain('CN-000001');
    expect(text).toContain('Corrects invoice INV-000001');
    expect(text).toContain('This credit note corrects invoice INV-000001.');
    // The parties as the invoice printed them.
    expect(text).toContain('Ledgerline Demo GmbH');
    expect(text).toContain('DE136695976');
    expect(text).toContain('Erika Mustermann');
    // −24.50 net, −4.66 VAT at 19 %, −29.16 credited.
    expect(text).toContain('Outage credit');
    expect(text).toContain('-24.50');
    expect(text).toContain('VAT DE 19 %');
    expect(text).toContain('-4.66');
    expect(text).toContain('Total -EUR 29.16');
    expect(text).toContain('Amount credited -EUR 29.16');
    expect(text).not.toContain('Amount due');

    const html = await seller.api.get(`/v1/credit_notes/${created.body.id as string}/html`);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/^text\/html/);
    const visible = visibleText(html.text);
    expect(visible).toContain('Credit note');
    expect(visible).toContain('CN-000001');
    expect(visible).toContain('Corrects invoice INV-000001');
    expect(visible).toContain('Amount credited -EUR 29.16');
  });
});

describe('two requests at once', () => {
  it('three finance users crediting 20.00 each at once: two notes fit, the third is refused', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { customerId, invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const body = {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Credit', amount: 2000 }],
      reason: 'other',
    };
    // 2000 × 931 / 4900 = 380 exactly: 2380 each. Two make 4760 ≤ 5831; a third would make 7140.
    // Each request sees the notes the others issued before it, never the same "still creditable".
    const answers = await Promise.all([1, 2, 3].map(() => seller.api.post('/v1/credit_notes', body)));
    expect(answers.map((res) => res.status).sort()).toEqual([201, 201, 422]);
    expect(
      answers
        .filter((res) => res.status === 201)
        .map((res) => res.body.number as string)
        .sort(),
    ).toEqual(['CN-000001', 'CN-000002']);
    expect(await creditNoteCount(seller.tenantId)).toBe(2);
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(2 * 2380);
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });

  it('the same Idempotency-Key sent twice at once issues one note and answers both alike', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { customerId, invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const body = {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Credit', amount: 1000 }],
      reason: 'other',
    };
    const [first, second] = await Promise.all([
      seller.api.post('/v1/credit_notes', body, 'double-click'),
      seller.api.post('/v1/credit_notes', body, 'double-click'),
    ]);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(first.body).toEqual(second.body);
    // 1000 × 931 / 4900 = 190 exactly: 1190.
    expect(first.body).toMatchObject({ number: 'CN-000001', amount: 1190, tax: 190 });
    expect(await creditNoteCount(seller.tenantId)).toBe(1);
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(1190);
  });
});

describe('credit notes on reverse-charged and tax-inclusive invoices', () => {
  it('a reverse-charged B2B invoice: 100.00 credited with no VAT, the reverse-charge wording carried over', async () => {
    const seller = await sellerWith(FRENCH_SELLER);
    const { customerId, invoice } = await invoicedCustomer(seller, BERLIN_COMPANY, { amountMinor: 49000 });
    // 490.00, 0 % reverse charge.
    expect(invoice).toMatchObject({ subtotalMinor: 49000, totalMinor: 49000 });
    const created = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Seats removed retroactively', amount: 10000 }],
      reason: 'other',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      amount: 10000,
      subtotal: 10000,
      tax: 0,
      tax_summary: [{ treatment: 'reverse_charge', taxable_amount: 10000, tax_amount: 0 }],
    });
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(10000);

    const text = await pdfText(seller.secret, created.body.id as string);
    expect(text).toContain('Ledgerline Demo SAS');
    expect(text).toContain('FR40303265045');
    expect(text).toContain('Beispiel Software GmbH');
    expect(text).toContain('Reverse charge 0 %');
    expect(text).toContain('Article 196');
    expect(text).toContain('Amount credited -EUR 100.00');
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });

  it('a tax-inclusive invoice (119.00 incl. 19 % VAT): 59.50 credited gross is 50.00 net + 9.50 VAT', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const product = await seller.api.post('/v1/products', { name: 'Consumer plan' });
    const plan = await seller.api.post('/v1/plans', {
      product: product.body.id,
      amount: 11900,
      currency: 'EUR',
      interval: 'month',
      tax_behavior: 'inclusive',
    });
    expect(plan.status).toBe(201);
    const { customerId, invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER, {
      amountMinor: 11900,
      priceId: plan.body.current_price.id as string,
    });
    expect(invoice).toMatchObject({ subtotalMinor: 10000, totalMinor: 11900 });
    // Inclusive prices, so the line is gross: 5950 × 1900 / 11900 = 950 VAT, 5000 net.
    const created = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Half a month', amount: 5950 }],
      reason: 'other',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ amount: 5950, subtotal: 5000, tax: 950 });
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, customerId)).toBe(5950);

    const text = await pdfText(seller.secret, created.body.id as string);
    expect(text).toContain('-50.00');
    expect(text).toContain('-9.50');
    expect(text).toContain('Total -EUR 59.50');
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });
});

describe('what cannot be credited', () => {
  it('an unknown invoice is 404 and a void or draft one 409, both naming `invoice`', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const line = [{ description: 'Credit', amount: 100 }];

    const unknown = await seller.api.post('/v1/credit_notes', {
      invoice: 'inv_doesnotexist000000',
      lines: line,
      reason: 'other',
    });
    expectProblem(unknown, 404, 'not-found', 'invoice');

    const draftId = newId('invoice');
    await withTenant(h.pools.app, seller.tenantId, async (db) => {
      const { rows } = await db.query<{ subscription_id: string; customer_id: string }>(
        'SELECT subscription_id, customer_id FROM invoices WHERE id = $1',
        [invoice.invoiceId],
      );
      const source = rows[0];
      await db.query(
        `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency, period_start, period_end,
                               subtotal_minor, total_minor, billing_reason, idempotency_key)
         VALUES ($3, current_tenant_id(), $1, $2, 'draft', 'EUR', '2026-04-01', '2026-05-01', 4900, 4900, 'manual',
                 'test:draft')`,
        [source?.customer_id, source?.subscription_id, draftId],
      );
    });
    const draft = await seller.api.post('/v1/credit_notes', {
      invoice: draftId,
      lines: line,
      reason: 'other',
    });
    expectProblem(draft, 409, 'conflict', 'invoice');

    await withTenant(h.pools.app, seller.tenantId, (db) =>
      db.query(`UPDATE invoices SET status = 'void', voided_at = now() WHERE id = $1`, [invoice.invoiceId]),
    );
    const voided = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: line,
      reason: 'other',
    });
    expectProblem(voided, 409, 'conflict', 'invoice');
    expect(voided.body.detail).toContain('void');
    expect(await creditNoteCount(seller.tenantId)).toBe(0);
  });

  it("another tenant's credit notes and invoices do not exist for you (row-level security)", async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const created = await seller.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Credit', amount: 1000 }],
      reason: 'other',
    });
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    const other = await sellerWith(FRENCH_SELLER);
    expectProblem(await other.api.get(`/v1/credit_notes/${id}`), 404, 'not-found', 'id');
    expectProblem(await other.api.get(`/v1/credit_notes/${id}/pdf`), 404, 'not-found', 'id');
    expectProblem(await other.api.get(`/v1/credit_notes/${id}/html`), 404, 'not-found', 'id');
    const listed = await other.api.get(`/v1/credit_notes?invoice=${invoice.invoiceId}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data).toEqual([]);
    const theirs = await other.api.post('/v1/credit_notes', {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Credit', amount: 1000 }],
      reason: 'other',
    });
    expectProblem(theirs, 404, 'not-found', 'invoice');
    expect(await creditNoteCount(other.tenantId)).toBe(0);
    expect(await creditNoteCount(seller.tenantId)).toBe(1);
  });
});

describe('bad input gets a problem naming the field', () => {
  it('rejects zero, fractional and missing amounts, empty or too many lines, unknown reasons and fields', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const { invoice } = await invoicedCustomer(seller, MUNICH_CONSUMER);
    const valid = {
      invoice: invoice.invoiceId,
      lines: [{ description: 'Credit', amount: 100 }],
      reason: 'other',
    };
    const cases: Array<[object, string]> = [
      [{ ...valid, lines: [{ description: 'Credit', amount: 0 }] }, 'lines[0].amount'],
      [{ ...valid, lines: [{ description: 'Credit', amount: 24.5 }] }, 'lines[0].amount'],
      [{ ...valid, lines: [{ description: 'Credit', amount: '2450' }] }, 'lines[0].amount'],
      [{ ...valid, lines: [{ description: 'Ok', amount: 1 }, { amount: 100 }] }, 'lines[1].description'],
      [{ ...valid, lines: [] }, 'lines'],
      [{ ...valid, lines: Array.from({ length: 51 }, () => ({ description: 'x', amount: 1 })) }, 'lines'],
      [{ ...valid, reason: 'duplicate' }, 'reason'],
      [{ ...valid, invoice: 'cus_123' }, 'invoice'],
      [{ ...valid, memo: '' }, 'memo'],
      [{ ...valid, refund: true }, 'refund'],
      [{ ...valid, lines: [{ description: 'Credit', amount: 100, tax: 19 }] }, 'lines[0].tax'],
    ];
    for (const [body, field] of cases) {
      expectProblem(await seller.api.post('/v1/credit_notes', body), 400, 'validation-error', field);
    }
    expectProblem(await seller.api.get('/v1/credit_notes?invoice=nope'), 400, 'validation-error', 'invoice');
    expectProblem(await seller.api.get('/v1/credit_notes/cn_missing0000000000'), 404, 'not-found', 'id');
    expect(await creditNoteCount(seller.tenantId)).toBe(0);
  });
});
