import { createTestTenant } from '../support/db';
import { seedSubscription, setPaymentMethod } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  addMs,
  createWorkflowHarness,
  DAY_MS,
  HOUR_MS,
  invoicesWithLines,
  outboxEventTypes,
  recordHistoryIfAsked,
  type WorkflowHarness,
} from '../support/workflow-harness';
import {
  cancelUpdate,
  extendTrialUpdate,
  getStateQuery,
  paymentMethodUpdatedSignal,
} from '../../src/workflows/contracts';

// Trials: nothing is charged during the trial; at its end the subscription converts (first invoice and
// charge, the billing anchor moves to the trial end) or, per the subscription's setting, cancels.

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('trials');
});
afterAll(async () => {
  await h?.close();
});

describe('a 14-day trial', () => {
  it('converts at trial end: first invoice for [trial end, +1 month), charged, status active', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2028-03-01T12:00:00.000Z';
    const trialEnd = '2028-03-15T12:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      trialEnd,
      amountMinor: 9900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);

    await h.advanceTo(addMs(createdAt, 13 * DAY_MS));
    expect((await handle.query(getStateQuery)).status).toBe('trialing');
    expect(await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId)).toEqual([]);

    await h.advanceTo(addMs(trialEnd, HOUR_MS));
    const state = await handle.query(getStateQuery);
    expect(state.status).toBe('active');
    expect(state.currentPeriod).toMatchObject({ start: trialEnd, end: '2028-04-15T12:00:00.000Z' });
    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({
      periodStart: trialEnd,
      periodEnd: '2028-04-15T12:00:00.000Z',
      totalMinor: 9900,
      status: 'paid',
    });
    await recordHistoryIfAsked(h, 'trial-converted', seeded.workflowId, handle.firstExecutionRunId);
    const events = await outboxEventTypes(h.pools.app, tenant.id);
    // The reminder goes out 3 days before the trial ends (the default setting).
    expect(events).toContain('customer.subscription.trial_will_end');
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('issues no invoice when canceled during the trial', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2028-05-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      trialEnd: addMs(createdAt, 14 * DAY_MS),
      amountMinor: 9900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo(addMs(createdAt, 5 * DAY_MS));

    const result = await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now', reason: 'not for us' }] });
    expect(result.status).toBe('canceled');
    expect(await h.outcome(handle)).toMatchObject({ status: 'canceled', invoicesIssued: 0 });
    await h.advanceTo(addMs(createdAt, 40 * DAY_MS));
    expect(await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId)).toEqual([]);
    expect(
      h.gateway.chargeCalls.filter((c) => c.metadata.subscriptionId === seeded.input.subscriptionId),
    ).toEqual([]);
  });

  it('cancels at trial end without a payment method when the trial is set to cancel', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2028-07-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      trialEnd: addMs(createdAt, 7 * DAY_MS),
      trialEndBehavior: 'cancel',
      paymentMethod: null,
      amountMinor: 9900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo(addMs(createdAt, 7 * DAY_MS + HOUR_MS));
    expect(await h.outcome(handle)).toMatchObject({
      status: 'canceled',
      invoicesIssued: 0,
      cancellation: { reason: 'trial_ended_without_payment_method' },
    });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('converts when a payment method arrives during the trial, and honours a trial extension', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2028-08-01T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      trialEnd: addMs(createdAt, 7 * DAY_MS),
      trialEndBehavior: 'cancel',
      paymentMethod: null,
      amountMinor: 5000,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo(addMs(createdAt, 2 * DAY_MS));
    const extendedEnd = addMs(createdAt, 21 * DAY_MS);
    const extended = await handle.executeUpdate(extendTrialUpdate, { args: [{ trialEnd: extendedEnd }] });
    expect(extended.trial?.end).toBe(extendedEnd);
    await expect(
      handle.executeUpdate(extendTrialUpdate, { args: [{ trialEnd: '2020-01-01T00:00:00.000Z' }] }),
    ).rejects.toThrow();

    await setPaymentMethod(h.pools.app, tenant.id, seeded.customerId, 'pm_card_visa');
    await handle.signal(paymentMethodUpdatedSignal, { paymentMethodId: 'pm_card_visa' });
    // Still trialing at the original end (day 7): the extension moved it to day 21.
    await h.advanceTo(addMs(createdAt, 8 * DAY_MS));
    expect((await handle.query(getStateQuery)).status).toBe('trialing');

    await h.advanceTo(addMs(extendedEnd, HOUR_MS));
    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.status, invoice.totalMinor])).toEqual([
      [extendedEnd, 'paid', 5000],
    ]);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});
