import { ApplicationFailure } from '@temporalio/common';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import type { IssueInvoiceInput } from '../../src/activities/contracts';
import { withTenant } from '../../src/db/with-tenant';
import type { InvoiceLineDraft } from '../../src/domain/billing-types';
import { PAYMENT_DECLINED_ERROR_TYPE } from '../../src/workflows/contracts';
import { createTestTenant, migratedAppPool } from '../support/db';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription, setPaymentMethod } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import { customerCreditBalanceMinor } from '../support/workflow-harness';

// The activities the workflow calls, one at a time against real Postgres: each is safe to repeat.

let pools: { app: Pool; owner: Pool };
beforeAll(async () => {
  pools = await migratedAppPool();
});
afterAll(async () => {
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

const monthly = { interval: 'month', intervalCount: 1 } as const;
const period = { start: '2025-04-01T00:00:00.000Z', end: '2025-05-01T00:00:00.000Z' };

function line(amountMinor: number, description = 'Pro'): InvoiceLineDraft {
  return {
    kind: amountMinor < 0 ? 'proration' : 'subscription',
    description,
    quantity: 1,
    unitAmountMinor: amountMinor < 0 ? null : amountMinor,
    amountMinor,
    periodStart: period.start,
    periodEnd: period.end,
    priceId: null,
    itemId: null,
  };
}

async function setup(paymentMethod: string | null = 'pm_card_visa') {
  const { tenant } = await createTestTenant(pools.app);
  const seeded = await seedSubscription(pools.app, tenant.id, {
    createdAt: period.start,
    amountMinor: 3000,
    recurrence: monthly,
    paymentMethod,
  });
  const gateway = new FakeGateway();
  const activities = createActivities({ pool: pools.app, gateway });
  const invoiceInput = (
    key: string,
    lines: InvoiceLineDraft[],
    billingReason: IssueInvoiceInput['billingReason'] = 'subscription_cycle',
  ): IssueInvoiceInput => ({
    tenantId: tenant.id,
    subscriptionId: seeded.input.subscriptionId,
    customerId: seeded.customerId,
    currency: 'USD',
    billingReason,
    idempotencyKey: key,
    period,
    lines,
    issuedAt: period.start,
  });
  return { tenantId: tenant.id, seeded, gateway, activities, invoiceInput };
}

async function declineOf(promise: Promise<unknown>) {
  const error = await promise.then(
    () => {
      throw new Error('expected a decline');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  expect(failure.type).toBe(PAYMENT_DECLINED_ERROR_TYPE);
  expect(failure.nonRetryable).toBe(true);
  return failure.details?.[0] as { declineCode: string; attempt: number };
}

describe('issueInvoice', () => {
  it('issues once per key: a retry returns the same numbered invoice and posts nothing twice', async () => {
    const { tenantId, activities, invoiceInput } = await setup();
    const input = invoiceInput('invoice:test:1', [line(3000)]);
    const first = await activities.issueInvoice(input);
    const retry = await activities.issueInvoice(input);
    expect(first).toMatchObject({ created: true, status: 'open', totalMinor: 3000, amountDueMinor: 3000 });
    expect(first.number).toMatch(/^INV-0+1$/);
    expect(retry).toEqual({ ...first, created: false });
    const second = await activities.issueInvoice(
      invoiceInput('invoice:test:2', [line(1000)], 'subscription_update'),
    );
    expect(second.number).toMatch(/^INV-0+2$/);
    const ledger = await expectLedgerBalanced(pools.app, tenantId);
    expect(ledger.entries).toBe(2);
  });

  it('refuses the same key with different lines (a diverged caller is a bug, not a new invoice)', async () => {
    const { tenantId, activities, invoiceInput } = await setup();
    await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    await expect(activities.issueInvoice(invoiceInput('invoice:test:1', [line(2999)]))).rejects.toThrow(
      /lines summing to 3000, not 2999/,
    );
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('turns a negative invoice into customer credit, which pays the next invoice first', async () => {
    const { tenantId, seeded, activities, invoiceInput } = await setup();
    const credit = await activities.issueInvoice(
      invoiceInput('invoice:test:down', [line(-2000), line(500)], 'subscription_update'),
    );
    expect(credit).toMatchObject({ totalMinor: -1500, amountDueMinor: 0, status: 'paid' });
    expect(await customerCreditBalanceMinor(pools.app, tenantId, seeded.customerId)).toBe(1500);
    const next = await activities.issueInvoice(invoiceInput('invoice:test:next', [line(3000)]));
    expect(next).toMatchObject({
      totalMinor: 3000,
      creditAppliedMinor: 1500,
      amountDueMinor: 1500,
      status: 'open',
    });
    expect(await customerCreditBalanceMinor(pools.app, tenantId, seeded.customerId)).toBe(0);
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('makes a finalized invoice immutable in the database: amounts and lines cannot change', async () => {
    const { tenantId, activities, invoiceInput } = await setup();
    const invoice = await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    await withTenant(pools.app, tenantId, async (db) => {
      await db.query('SAVEPOINT s');
      await expect(
        db.query('UPDATE invoices SET total_minor = 1, subtotal_minor = 1 WHERE id = $1', [
          invoice.invoiceId,
        ]),
      ).rejects.toThrow(/finalized/);
      await db.query('ROLLBACK TO SAVEPOINT s');
      await expect(
        db.query('UPDATE invoice_lines SET amount_minor = 1 WHERE invoice_id = $1', [invoice.invoiceId]),
      ).rejects.toThrow(/finalized/);
      await db.query('ROLLBACK TO SAVEPOINT s');
    });
    await expectLedgerBalanced(pools.app, tenantId);
  });
});

describe('collectPayment', () => {
  it('charges once per (invoice, attempt): a repeated call replays, the ledger records one payment', async () => {
    const { tenantId, gateway, activities, invoiceInput } = await setup();
    const invoice = await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    const attempt = {
      tenantId,
      invoiceId: invoice.invoiceId,
      attempt: 1,
      trigger: 'automatic' as const,
      attemptedAt: period.start,
    };
    const paid = await activities.collectPayment(attempt);
    expect(paid).toMatchObject({ status: 'paid', amountMinor: 3000 });
    expect(await activities.collectPayment(attempt)).toMatchObject({ status: 'paid' });
    expect(gateway.paymentsCreated()).toHaveLength(1);
    // The webhook for the same payment changes nothing.
    if (paid.status !== 'paid' || paid.providerPaymentId === null) throw new Error('expected a payment id');
    await activities.recordGatewayPayment({
      tenantId,
      invoiceId: invoice.invoiceId,
      providerPaymentId: paid.providerPaymentId,
      amountMinor: 3000,
      currency: 'USD',
      occurredAt: period.start,
    });
    const ledger = await expectLedgerBalanced(pools.app, tenantId);
    expect(ledger.turnoverMinorByCurrency.USD).toBe(6000); // invoice 3000 + payment 3000, once each
  });

  it('records a decline and throws it as a non-retryable PaymentDeclined; a retried call reports the same', async () => {
    const { tenantId, seeded, activities, invoiceInput } = await setup();
    await setPaymentMethod(pools.app, tenantId, seeded.customerId, 'pm_card_chargeDeclined');
    const invoice = await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    const attempt = {
      tenantId,
      invoiceId: invoice.invoiceId,
      attempt: 1,
      trigger: 'automatic' as const,
      attemptedAt: period.start,
    };
    expect(await declineOf(activities.collectPayment(attempt))).toMatchObject({
      declineCode: 'card_declined',
      attempt: 1,
    });
    expect(await declineOf(activities.collectPayment(attempt))).toMatchObject({
      declineCode: 'card_declined',
    });
    const attempts = await withTenant(pools.app, tenantId, (db) =>
      db.query('SELECT status FROM payment_attempts WHERE invoice_id = $1', [invoice.invoiceId]),
    );
    expect(attempts.rows).toEqual([{ status: 'declined' }]);
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('declines with no_payment_method when the customer has none, without calling the provider', async () => {
    const { tenantId, gateway, activities, invoiceInput } = await setup(null);
    const invoice = await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    const details = await declineOf(
      activities.collectPayment({
        tenantId,
        invoiceId: invoice.invoiceId,
        attempt: 1,
        trigger: 'automatic',
        attemptedAt: period.start,
      }),
    );
    expect(details.declineCode).toBe('no_payment_method');
    expect(gateway.chargeCalls).toEqual([]);
    await expectLedgerBalanced(pools.app, tenantId);
  });
});

describe('issueCreditNote', () => {
  it('numbers credit notes in their own series and credits the customer once', async () => {
    const { tenantId, seeded, activities, invoiceInput } = await setup();
    const invoice = await activities.issueInvoice(invoiceInput('invoice:test:1', [line(3000)]));
    const note = {
      tenantId,
      customerId: seeded.customerId,
      invoiceId: invoice.invoiceId,
      currency: 'USD',
      idempotencyKey: 'credit_note:test:1',
      lines: [{ description: 'Unused time on Pro after 2025-04-11', amountMinor: 2000 }],
      reason: 'subscription_canceled' as const,
      issuedAt: '2025-04-11T00:00:00.000Z',
    };
    const first = await activities.issueCreditNote(note);
    expect(first).toMatchObject({ created: true, amountMinor: 2000 });
    expect(first.number).toMatch(/^CN-0+1$/);
    expect(await activities.issueCreditNote(note)).toEqual({ ...first, created: false });
    expect(await customerCreditBalanceMinor(pools.app, tenantId, seeded.customerId)).toBe(2000);
    await expectLedgerBalanced(pools.app, tenantId);
  });
});
