import { DatabaseError } from 'pg';
import { createActivities } from '../../src/activities';
import type { IssueInvoiceInput } from '../../src/activities/contracts';
import { resolvePrice } from '../../src/db/catalog';
import { withTenant } from '../../src/db/with-tenant';
import type { InvoiceLineDraft } from '../../src/domain/billing-types';
import { createApiHarness, expectProblem, type ApiHarness } from '../support/api-harness';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  FRENCH_SELLER,
  GERMAN_SELLER,
  pdfTextAt,
  type Seller,
  sellerWith as sellerWithProfile,
  taxPayableMinor,
} from '../support/tax-fixtures';
import { customerCreditBalanceMinor } from '../support/workflow-harness';

// Invoices that carry tax end to end: the seller's profile and the buyer's details through the API,
// tax decided by the table provider inside the finalizing transaction, the document rendered from what
// was recorded, credit notes that reverse tax, and reports that net both.

let h: ApiHarness;
beforeAll(async () => {
  h = await createApiHarness('tax-invoices');
});
afterAll(async () => {
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;
const period = { start: '2026-03-01T00:00:00.000Z', end: '2026-04-01T00:00:00.000Z' };

async function customerOf(
  tenantId: string,
  api: Seller['api'],
  details: object,
  options: { amountMinor?: number; currency?: string } = {},
) {
  const seeded = await seedSubscription(h.pools.app, tenantId, {
    createdAt: period.start,
    amountMinor: options.amountMinor ?? 4900,
    currency: options.currency ?? 'EUR',
    recurrence: monthly,
  });
  const updated = await api.post(`/v1/customers/${seeded.customerId}`, details);
  expect(updated.status).toBe(200);
  return seeded;
}

function planLine(priceId: string, amountMinor: number): InvoiceLineDraft {
  return {
    kind: 'subscription',
    description: 'Pro plan',
    quantity: 1,
    unitAmountMinor: amountMinor,
    amountMinor,
    periodStart: period.start,
    periodEnd: period.end,
    priceId,
    itemId: null,
  };
}

const sellerWith = (profile: object) => sellerWithProfile(h, profile);
const taxPayable = (tenantId: string, currency: string) => taxPayableMinor(h.pools.app, tenantId, currency);
const pdfText = (secret: string, invoiceId: string) =>
  pdfTextAt(h.app, secret, `/v1/invoices/${invoiceId}/pdf`);

function issue(
  tenantId: string,
  seeded: Awaited<ReturnType<typeof customerOf>>,
  lines: InvoiceLineDraft[],
  currency = 'EUR',
  key = `invoice:${seeded.input.subscriptionId}:${period.start}`,
) {
  const activities = createActivities({ pool: h.pools.app, gateway: new FakeGateway() });
  const input: IssueInvoiceInput = {
    tenantId,
    subscriptionId: seeded.input.subscriptionId,
    customerId: seeded.customerId,
    currency,
    billingReason: 'subscription_cycle',
    idempotencyKey: key,
    period,
    lines,
    issuedAt: period.start,
  };
  return { activities, issued: activities.issueInvoice(input) };
}

describe('a German consumer buying from a German seller', () => {
  it('pays 49.00 + 19 % VAT = 58.31; the ledger owes 9.31 to the tax office', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const seeded = await customerOf(seller.tenantId, seller.api, {
      address: { line1: 'Hauptstraße 1', postal_code: '80331', city: 'München', country: 'DE' },
    });
    const { issued } = issue(seller.tenantId, seeded, [planLine(seeded.priceId, 4900)]);
    // 4900 × 19 % = 931 exactly.
    const invoice = await issued;
    expect(invoice).toMatchObject({ subtotalMinor: 4900, totalMinor: 5831, amountDueMinor: 5831 });
    const row = await withTenant(h.pools.app, seller.tenantId, async (db) => {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT i.tax_minor, i.tax_date::text AS tax_date, i.legal_notes, l.tax_minor AS line_tax,
                l.tax_rate_label, l.tax_treatment, t.jurisdiction, t.rate_percent::text AS rate, t.taxable_minor
           FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id JOIN invoice_tax_lines t ON t.invoice_id = i.id
          WHERE i.id = $1`,
        [invoice.invoiceId],
      );
      return rows[0];
    });
    expect(row).toMatchObject({
      tax_minor: 931,
      tax_date: '2026-03-01',
      legal_notes: [],
      line_tax: 931,
      tax_rate_label: '19',
      tax_treatment: 'taxed',
      jurisdiction: 'DE',
      taxable_minor: 4900,
    });
    expect(Number(row?.rate)).toBe(19);
    expect(await taxPayable(seller.tenantId, 'EUR')).toBe(931);
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });

  it('a credit note for half the period reverses half the VAT and restores the customer balance', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const seeded = await customerOf(seller.tenantId, seller.api, {
      address: { line1: 'Hauptstraße 1', postal_code: '80331', city: 'München', country: 'DE' },
    });
    const { activities, issued } = issue(seller.tenantId, seeded, [planLine(seeded.priceId, 4900)]);
    const invoice = await issued;
    const note = await activities.issueCreditNote({
      tenantId: seller.tenantId,
      customerId: seeded.customerId,
      invoiceId: invoice.invoiceId,
      currency: 'EUR',
      idempotencyKey: `credit_note:${seeded.input.subscriptionId}:test`,
      lines: [{ description: 'Unused time on Pro', amountMinor: 2450 }],
      reason: 'subscription_canceled',
      issuedAt: '2026-03-16T00:00:00.000Z',
    });
    // 2450 × 931 / 4900 = 465.5 → half-even 466; the customer gets 2450 + 466 back.
    expect(note.amountMinor).toBe(2916);
    expect(await customerCreditBalanceMinor(h.pools.app, seller.tenantId, seeded.customerId)).toBe(2916);
    expect(await taxPayable(seller.tenantId, 'EUR')).toBe(931 - 466);
    await expectLedgerBalanced(h.pools.app, seller.tenantId);

    const report = await seller.api.get('/v1/reports/tax?kind=vat&from=2026-03-01&to=2026-04-01');
    expect(report.status).toBe(200);
    expect(report.body.rows).toEqual([
      expect.objectContaining({
        country: 'DE',
        rate_percent: '19',
        treatment: 'taxed',
        invoice_count: 2,
        taxable_amount: 4900 - 2450,
        tax_amount: 931 - 466,
        reporting_currency: 'EUR',
        reporting_tax_amount: 465,
      }),
    ]);
  });
});

describe('a French company selling to a German company with a VAT id', () => {
  it('reverse-charges at 0 % and says so on the PDF', async () => {
    const seller = await sellerWith(FRENCH_SELLER);
    const seeded = await customerOf(seller.tenantId, seller.api, {
      legal_name: 'Beispiel Software GmbH',
      address: { line1: 'Unter den Linden 5', postal_code: '10117', city: 'Berlin', country: 'DE' },
      tax_id: { type: 'eu_vat', value: 'DE 136 695 976' },
    });
    const { issued } = issue(seller.tenantId, seeded, [planLine(seeded.priceId, 49000)]);
    const invoice = await issued;
    expect(invoice).toMatchObject({ subtotalMinor: 49000, totalMinor: 49000 });
    expect(await taxPayable(seller.tenantId, 'EUR')).toBe(0);

    const text = await pdfText(seller.secret, invoice.invoiceId);
    expect(text).toContain(invoice.number as string);
    expect(text).toContain('Ledgerline Demo SAS');
    expect(text).toContain('FR40303265045');
    expect(text).toContain('Beispiel Software GmbH');
    expect(text).toContain('DE136695976');
    expect(text).toMatch(/Reverse charge/i);
    expect(text).toContain('Article 196');
    expect(text).toContain('490.00');

    const html = await seller.api.get(`/v1/invoices/${invoice.invoiceId}/html`);
    expect(html.status).toBe(200);
    expect(html.text).toContain('Article 196');
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });
});

describe('tax-inclusive prices', () => {
  it('119.00 including 19 % VAT is 100.00 net and 19.00 VAT; the customer pays 119.00', async () => {
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
    const seeded = await customerOf(seller.tenantId, seller.api, {
      address: { line1: 'Hauptstraße 1', postal_code: '80331', city: 'München', country: 'DE' },
    });
    const { issued } = issue(seller.tenantId, seeded, [
      planLine(plan.body.current_price.id as string, 11900),
    ]);
    expect(await issued).toMatchObject({ subtotalMinor: 10000, totalMinor: 11900, amountDueMinor: 11900 });
    await expectLedgerBalanced(h.pools.app, seller.tenantId);
  });
});

describe('an invoice in another currency than the reporting currency', () => {
  it('records the dated rate it used and reports in EUR', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const uploaded = await seller.api.post('/v1/fx_rates', {
      rates: [
        { base: 'USD', quote: 'EUR', rate: '0.91', effective_at: '2026-02-01T00:00:00Z', source: 'ECB' },
        { base: 'USD', quote: 'EUR', rate: '0.92345', effective_at: '2026-02-28T16:00:00Z', source: 'ECB' },
        { base: 'USD', quote: 'EUR', rate: '0.95', effective_at: '2026-03-02T00:00:00Z', source: 'ECB' },
      ],
    });
    expect(uploaded.status).toBe(201);
    const seeded = await customerOf(
      seller.tenantId,
      seller.api,
      { address: { line1: 'Hauptstraße 1', postal_code: '80331', city: 'München', country: 'DE' } },
      { currency: 'USD' },
    );
    const { issued } = issue(seller.tenantId, seeded, [planLine(seeded.priceId, 4900)], 'USD');
    const invoice = await issued;
    // Rate in force on 2026-03-01: 0.92345 (from Feb 28 16:00). Total 5831 USD → 5384.64 → 5385;
    // VAT 931 USD → 859.73 → 860 EUR cents.
    const recorded = await withTenant(h.pools.app, seller.tenantId, async (db) => {
      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT fx_rate::text AS rate, fx_rate_source, reporting_currency, reporting_total_minor, reporting_tax_minor
           FROM invoices WHERE id = $1`,
        [invoice.invoiceId],
      );
      return rows[0];
    });
    expect(recorded).toMatchObject({
      fx_rate_source: 'ECB',
      reporting_currency: 'EUR',
      reporting_total_minor: 5385,
      reporting_tax_minor: 860,
    });
    expect(Number(recorded?.rate)).toBe(0.92345);

    const csv = await seller.api.get('/v1/reports/tax?kind=vat&from=2026-03-01&to=2026-04-01&format=csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.text.split('\r\n')).toEqual([
      'country,region,tax_name,rate_percent,treatment,currency,invoice_count,taxable_amount,tax_amount,reporting_currency,reporting_taxable_amount,reporting_tax_amount',
      'DE,,VAT,19,taxed,USD,1,4900,931,EUR,4525,860',
      '',
    ]);
  });
});

describe('a finalized invoice is a legal document', () => {
  it('the database refuses to change its tax, parties or notes, or to delete its tax rows', async () => {
    const seller = await sellerWith(FRENCH_SELLER);
    const seeded = await customerOf(seller.tenantId, seller.api, {
      legal_name: 'Beispiel Software GmbH',
      address: { line1: 'Unter den Linden 5', postal_code: '10117', city: 'Berlin', country: 'DE' },
      tax_id: { type: 'eu_vat', value: 'DE136695976' },
    });
    const invoice = await issue(seller.tenantId, seeded, [planLine(seeded.priceId, 49000)]).issued;
    for (const statement of [
      `UPDATE invoices SET legal_notes = '{}' WHERE id = $1`,
      `UPDATE invoices SET tax_minor = 100, total_minor = total_minor + 100 WHERE id = $1`,
      `UPDATE invoices SET buyer_snapshot = '{}'::jsonb WHERE id = $1`,
      `UPDATE invoices SET fx_rate = 2 WHERE id = $1`,
      `DELETE FROM invoice_tax_lines WHERE invoice_id = $1`,
      `UPDATE invoice_lines SET tax_minor = 1 WHERE invoice_id = $1`,
    ]) {
      const error = await withTenant(h.pools.app, seller.tenantId, (db) =>
        db.query(statement, [invoice.invoiceId]),
      ).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(DatabaseError);
    }
    // A later address change does not reach the issued document.
    await seller.api.post(`/v1/customers/${seeded.customerId}`, { legal_name: 'Renamed AG' });
    const text = await pdfText(seller.secret, invoice.invoiceId);
    expect(text).toContain('Beispiel Software GmbH');
    expect(text).not.toContain('Renamed AG');
  });
});

describe('billing a customer in their own currency', () => {
  it("uses the price book's amount when the tenant set one, else converts at the dated rate", async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const product = await seller.api.post('/v1/products', { name: 'Team' });
    const withBook = await seller.api.post('/v1/plans', {
      product: product.body.id,
      amount: 4900,
      currency: 'USD',
      interval: 'month',
      currency_options: { JPY: 7000 },
    });
    expect(withBook.status).toBe(201);
    await seller.api.post('/v1/fx_rates', {
      rates: [
        { base: 'USD', quote: 'JPY', rate: '150.25', effective_at: '2026-01-01T00:00:00Z', source: 'BoJ' },
      ],
    });
    const customer = await seller.api.post('/v1/customers', {
      email: 'tokyo@example.com',
      billing_currency: 'JPY',
      address: { line1: '1-1 Marunouchi', city: 'Tokyo', country: 'JP' },
    });
    expect(customer.status).toBe(201);
    const book = await withTenant(h.pools.app, seller.tenantId, (db) =>
      resolvePrice(db, { customerId: customer.body.id, planId: withBook.body.id }),
    );
    expect(book).toMatchObject({ currency: 'JPY', unitAmountMinor: 7000 });
    expect(book?.conversion).toBeUndefined();

    const noBook = await seller.api.post('/v1/plans', {
      product: product.body.id,
      amount: 4900,
      currency: 'USD',
      interval: 'month',
    });
    const converted = await withTenant(h.pools.app, seller.tenantId, (db) =>
      resolvePrice(db, { customerId: customer.body.id, planId: noBook.body.id }),
    );
    // USD 49.00 × 150.25 = JPY 7,362.25 → 7,362.
    expect(converted).toMatchObject({
      currency: 'JPY',
      unitAmountMinor: 7362,
      conversion: { fromCurrency: 'USD', fromUnitAmountMinor: 4900, rate: '150.25', rateSource: 'BoJ' },
    });
  });
});

describe('bad tax input gets a problem naming the field', () => {
  it('rejects an invalid VAT id, an incomplete profile, a float rate and an inverted report period', async () => {
    const seller = await sellerWith(GERMAN_SELLER);
    const badVat = await seller.api.post('/v1/customers', {
      email: 'x@example.com',
      tax_id: { type: 'eu_vat', value: 'DE136695977' },
    });
    expectProblem(badVat, 400, 'validation-error', 'tax_id.value');

    const noName = await seller.api.put('/v1/tax_profile', { ...GERMAN_SELLER, legal_name: undefined });
    expectProblem(noName, 400, 'validation-error', 'legal_name');

    // Sales tax in the US, Canada and India depends on the state: an address without one could
    // never be taxed, so it is refused when it is given, not when the first invoice is due.
    const noState = await seller.api.post('/v1/customers', {
      email: 'austin@example.com',
      address: { line1: '1 Congress Ave', city: 'Austin', country: 'US' },
    });
    expectProblem(noState, 400, 'validation-error', 'address.state');
    const notAState = await seller.api.post('/v1/customers', {
      email: 'x@example.com',
      address: { line1: '1 Main St', state: 'XX', country: 'US' },
    });
    expectProblem(notAState, 400, 'validation-error', 'address.state');
    const untaxable = await seller.api.put('/v1/tax_profile', {
      ...GERMAN_SELLER,
      registrations: { eu_oss: true, countries: ['BH'] },
    });
    expectProblem(untaxable, 400, 'validation-error', 'registrations.countries[0]');

    const floatRate = await seller.api.post('/v1/fx_rates', {
      rates: [{ base: 'USD', quote: 'EUR', rate: 0.92, effective_at: '2026-01-01T00:00:00Z', source: 'x' }],
    });
    expectProblem(floatRate, 400, 'validation-error', 'rates[0].rate');

    const changed = await seller.api.post('/v1/fx_rates', {
      rates: [{ base: 'USD', quote: 'EUR', rate: '0.9', effective_at: '2026-01-01T00:00:00Z', source: 'x' }],
    });
    expect(changed.status).toBe(201);
    const clash = await seller.api.post('/v1/fx_rates', {
      rates: [{ base: 'USD', quote: 'EUR', rate: '0.8', effective_at: '2026-01-01T00:00:00Z', source: 'x' }],
    });
    expectProblem(clash, 409, 'conflict', 'rates[0].rate');

    const inverted = await seller.api.get('/v1/reports/tax?kind=vat&from=2026-04-01&to=2026-03-01');
    expectProblem(inverted, 400, 'validation-error', 'to');
  });
});
