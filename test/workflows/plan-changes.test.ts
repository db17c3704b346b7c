import { createTestTenant } from '../support/db';
import { seedPlanPrice, seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  createWorkflowHarness,
  invoicesWithLines,
  recordHistoryIfAsked,
  type WorkflowHarness,
} from '../support/workflow-harness';
import {
  addAddonUpdate,
  cancelUpdate,
  changePlanUpdate,
  changeQuantityUpdate,
  getStateQuery,
  upcomingInvoiceQuery,
} from '../../src/workflows/contracts';

// Plan changes are updates: the caller gets the proration lines (and the invoice, if one was issued)
// back, and a bad request is rejected before it reaches the workflow's history.

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('plan-changes');
});
afterAll(async () => {
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;

describe('upgrade on day 10 of a 30-day period with always_invoice', () => {
  it('invoices now: −20.00 for the 20 unused days of Basic, +40.00 for 20 days of Premium', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2029-04-01T00:00:00.000Z'; // April: 30 days
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
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
    await h.advanceTo('2029-04-11T00:00:00.000Z'); // 10 days used, 20 of 30 left

    const result = await handle.executeUpdate(changePlanUpdate, {
      args: [{ price: premium, prorationBehavior: 'always_invoice' }],
    });
    // Worked example: credit 3000 × 20/30 = 2000; charge 6000 × 20/30 = 4000; net 2000.
    expect(result.scheduled).toBe(false);
    expect(result.prorationLines.map((line) => [line.description, line.amountMinor])).toEqual([
      ['Unused time on Basic after 2029-04-11', -2000],
      ['Remaining time on Premium after 2029-04-11', 4000],
    ]);
    expect(result.prorationNetMinor).toBe(2000);
    expect(result.invoice).toMatchObject({ totalMinor: 2000, status: 'paid' });
    expect(result.payment).toMatchObject({ status: 'paid', amountMinor: 2000 });

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices).toHaveLength(2);
    expect(invoices[1]).toMatchObject({
      billingReason: 'subscription_update',
      periodStart: '2029-04-11T00:00:00.000Z',
      periodEnd: '2029-05-01T00:00:00.000Z',
      totalMinor: 2000,
      status: 'paid',
    });
    expect(invoices[1]?.lines.map((line) => [line.kind, line.amountMinor])).toEqual([
      ['proration', -2000],
      ['proration', 4000],
    ]);

    await recordHistoryIfAsked(h, 'upgrade-always-invoice', seeded.workflowId, handle.firstExecutionRunId);
    // The next renewal is at the Premium price, with nothing carried over.
    await h.advanceTo('2029-05-01T01:00:00.000Z');
    const renewed = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(renewed[2]).toMatchObject({ periodStart: '2029-05-01T00:00:00.000Z', totalMinor: 6000 });
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});

describe('downgrade', () => {
  it('waits for the period end: no mid-cycle invoice, the next invoice is on the new price', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2029-06-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 6000,
      productName: 'Premium',
      recurrence: monthly,
    });
    const basic = await seedPlanPrice(h.pools.app, tenant.id, {
      amountMinor: 3000,
      productName: 'Basic',
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2029-06-10T00:00:00.000Z');

    const result = await handle.executeUpdate(changePlanUpdate, { args: [{ price: basic }] });
    expect(result).toMatchObject({
      scheduled: true,
      effectiveAt: '2029-07-01T00:00:00.000Z',
      invoice: null,
      prorationLines: [],
    });
    const upcoming = await handle.query(upcomingInvoiceQuery);
    expect(upcoming).toMatchObject({ periodStart: '2029-07-01T00:00:00.000Z', totalMinor: 3000 });
    expect(await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId)).toHaveLength(1);

    await h.advanceTo('2029-07-01T01:00:00.000Z');
    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.totalMinor])).toEqual([
      ['2029-06-01T00:00:00.000Z', 6000],
      ['2029-07-01T00:00:00.000Z', 3000],
    ]);
    const state = await handle.query(getStateQuery);
    expect(state.items[0]?.price.priceId).toBe(basic.priceId);
    expect(state.scheduledItems).toBeNull();
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});

describe('quantity and add-ons with create_prorations', () => {
  it('carries the prorations to the next renewal invoice', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2029-09-01T00:00:00.000Z'; // September: 30 days
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 1000,
      quantity: 2,
      productName: 'Seat',
      recurrence: monthly,
    });
    const support = await seedPlanPrice(h.pools.app, tenant.id, {
      amountMinor: 600,
      productName: 'Priority support',
      recurrence: monthly,
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2029-09-16T00:00:00.000Z'); // 15 of 30 days left

    const seats = await handle.executeUpdate(changeQuantityUpdate, { args: [{ quantity: 5 }] });
    // 2 seats credited for half a month (−1000), 5 seats charged for half a month (+2500).
    expect(seats.prorationLines.map((line) => line.amountMinor)).toEqual([-1000, 2500]);
    expect(seats.invoice).toBeNull();
    const addon = await handle.executeUpdate(addAddonUpdate, {
      args: [{ itemId: 'si_supportaddon0001', price: support, quantity: 1 }],
    });
    expect(addon.prorationLines.map((line) => line.amountMinor)).toEqual([300]);
    await expect(handle.executeUpdate(changeQuantityUpdate, { args: [{ quantity: 0 }] })).rejects.toThrow();

    await h.advanceTo('2029-10-01T01:00:00.000Z');
    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices).toHaveLength(2);
    // 5 × 10.00 + 6.00 support, then the carried prorations: −10.00 + 25.00 + 3.00.
    expect(invoices[1]?.lines.map((line) => [line.kind, line.amountMinor])).toEqual([
      ['subscription', 5000],
      ['subscription', 600],
      ['proration', -1000],
      ['proration', 2500],
      ['proration', 300],
    ]);
    expect(invoices[1]?.totalMinor).toBe(7400);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});
