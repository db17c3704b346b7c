import { createTestTenant } from '../support/db';
import { seedPlanPrice, seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  createWorkflowHarness,
  customerCreditBalanceMinor,
  invoicesWithLines,
  recordHistoryIfAsked,
  type WorkflowHarness,
} from '../support/workflow-harness';
import {
  cancelUpdate,
  changePlanUpdate,
  getStateQuery,
  pauseUpdate,
  resumeUpdate,
  undoCancelUpdate,
  upcomingInvoiceQuery,
} from '../../src/workflows/contracts';

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('cancel-and-pause');
});
afterAll(async () => {
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;

describe('cancellation', () => {
  it('cancel at period end: service continues to the end, then the subscription ends with no renewal', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2030-01-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 3100,
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2030-01-10T00:00:00.000Z');

    const result = await handle.executeUpdate(cancelUpdate, {
      args: [{ at: 'period_end', reason: 'too expensive' }],
    });
    expect(result).toEqual({
      status: 'active',
      cancelAt: '2030-02-01T00:00:00.000Z',
      creditNote: null,
      invoice: null,
    });
    expect(await handle.query(upcomingInvoiceQuery)).toBeNull();

    await h.advanceTo('2030-02-01T01:00:00.000Z');
    expect(await h.outcome(handle)).toMatchObject({
      status: 'canceled',
      invoicesIssued: 1,
      cancellation: { canceledAt: '2030-02-01T00:00:00.000Z', reason: 'too expensive' },
    });
    await recordHistoryIfAsked(h, 'canceled-at-period-end', seeded.workflowId);
    expect(await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId)).toHaveLength(1);
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('undo before the period end: the subscription renews as if nothing happened', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2030-02-10T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 3100,
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'period_end' }] });
    await h.advanceTo('2030-02-20T00:00:00.000Z');
    const undone = await handle.executeUpdate(undoCancelUpdate, { args: [] });
    expect(undone.cancelAtPeriodEnd).toBe(false);
    // Undoing twice is a conflict the caller hears about, not a silent no-op.
    await expect(handle.executeUpdate(undoCancelUpdate, { args: [] })).rejects.toThrow();

    await h.advanceTo('2030-03-10T01:00:00.000Z');
    expect((await handle.query(getStateQuery)).status).toBe('active');
    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => invoice.periodStart)).toEqual([
      '2030-02-10T00:00:00.000Z',
      '2030-03-10T00:00:00.000Z',
    ]);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('cancel now with proration: a credit note for the 20 unused days of 30 goes to the customer balance', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2030-04-01T00:00:00.000Z'; // April: 30 days
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 3000,
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2030-04-11T00:00:00.000Z');

    const result = await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now', prorate: true }] });
    // 3000 × 20/30 = 2000 back to the customer.
    expect(result.status).toBe('canceled');
    expect(result.creditNote).toMatchObject({ amountMinor: 2000 });
    expect(result.creditNote?.number).toMatch(/^CN-/);
    expect(await h.outcome(handle)).toMatchObject({ status: 'canceled' });
    expect(await customerCreditBalanceMinor(h.pools.app, tenant.id, seeded.customerId)).toBe(2000);
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});

describe('pause and resume', () => {
  it('pause service at period end: no invoices while paused; resuming starts a fresh period that day', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2030-06-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 2500,
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2030-06-10T00:00:00.000Z');
    const paused = await handle.executeUpdate(pauseUpdate, { args: [{ behavior: 'pause_service' }] });
    expect(paused.pause).toMatchObject({ inEffect: false, effectiveAt: '2030-07-01T00:00:00.000Z' });

    await h.advanceTo('2030-07-01T01:00:00.000Z');
    expect((await handle.query(getStateQuery)).status).toBe('paused');
    await h.advanceTo('2030-08-15T00:00:00.000Z');
    expect(await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId)).toHaveLength(1);

    const resumed = await handle.executeUpdate(resumeUpdate, { args: [{}] });
    expect(resumed.status).toBe('active');
    expect(resumed.currentPeriod).toMatchObject({ end: '2030-09-15T00:00:00.000Z' });
    await h.advanceTo('2030-09-15T01:00:00.000Z');

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.periodEnd, invoice.totalMinor])).toEqual([
      ['2030-06-01T00:00:00.000Z', '2030-07-01T00:00:00.000Z', 2500],
      [resumed.currentPeriod?.start, '2030-09-15T00:00:00.000Z', 2500],
      ['2030-09-15T00:00:00.000Z', '2030-10-15T00:00:00.000Z', 2500],
    ]);
    expect(resumed.currentPeriod?.start.startsWith('2030-08-15T00:00')).toBe(true);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('pause collection: invoices keep coming but are not charged until resume', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2030-11-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 1200,
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2030-11-05T00:00:00.000Z');
    await handle.executeUpdate(pauseUpdate, { args: [{ behavior: 'pause_collection' }] });

    await h.advanceTo('2031-01-01T01:00:00.000Z');
    let invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => invoice.status)).toEqual(['paid', 'open', 'open']);

    await handle.executeUpdate(resumeUpdate, { args: [{}] });
    invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => invoice.status)).toEqual(['paid', 'paid', 'paid']);
    expect((await handle.query(getStateQuery)).status).toBe('active');
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});

describe('cancel now after a mid-period upgrade', () => {
  // Each example runs in its own April (30 days), after the other tests' dates: the test server's
  // clock only moves forward.
  async function upgradedOnApril11(year: number, behavior: 'always_invoice' | 'create_prorations') {
    const april = `${year}-04-01T00:00:00.000Z`;
    const { tenant } = await createTestTenant(h.pools.app);
    await h.advanceTo(april);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt: april,
      amountMinor: 3000,
      productName: 'Basic',
      recurrence: monthly,
    });
    const premium = await seedPlanPrice(h.pools.app, tenant.id, {
      amountMinor: 6000,
      productName: 'Premium',
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo(`${year}-04-11T00:00:00.000Z`);
    await handle.executeUpdate(changePlanUpdate, { args: [{ price: premium, prorationBehavior: behavior }] });
    return { tenant, seeded, handle };
  }

  it('always_invoice then a prorated cancel the same day: the credit covers the unused Premium time (40.00)', async () => {
    const { tenant, seeded, handle } = await upgradedOnApril11(2032, 'always_invoice');
    // Paid 3000 (Basic, April) + 2000 (upgrade invoice) = 5000; used 10 days of Basic = 1000.
    // The credit is 20 unused days of Premium: 6000 × 20/30 = 4000, more than the April invoice
    // alone (3000) but within what the period was invoiced in total.
    const result = await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now', prorate: true }] });
    expect(result.status).toBe('canceled');
    expect(result.creditNote).toMatchObject({ amountMinor: 4000 });
    expect(result.invoice).toBeNull();
    expect(await h.outcome(handle)).toMatchObject({ status: 'canceled' });
    expect(await customerCreditBalanceMinor(h.pools.app, tenant.id, seeded.customerId)).toBe(4000);
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('create_prorations then a prorated cancel: the waiting prorations and the credit net on one final invoice', async () => {
    const { tenant, seeded, handle } = await upgradedOnApril11(2033, 'create_prorations');
    await h.advanceTo('2033-04-26T00:00:00.000Z');
    // Waiting since Apr 11: −2000 (20 days of Basic) and +4000 (20 days of Premium).
    // Canceled Apr 26: −1000 for the 5 unused days of Premium. Net +1000, charged now:
    // used 10 days of Basic (1000) + 15 of Premium (3000) = 4000, and 3000 was paid.
    const result = await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now', prorate: true }] });
    expect(result.creditNote).toBeNull();
    expect(result.invoice).toMatchObject({ totalMinor: 1000, status: 'paid' });
    expect(await h.outcome(handle)).toMatchObject({ status: 'canceled' });

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.billingReason, invoice.totalMinor, invoice.status])).toEqual([
      ['subscription_create', 3000, 'paid'],
      ['subscription_update', 1000, 'paid'],
    ]);
    expect(invoices[1]?.lines.map((line) => line.amountMinor)).toEqual([-2000, 4000, -1000]);
    expect(await customerCreditBalanceMinor(h.pools.app, tenant.id, seeded.customerId)).toBe(0);
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});
