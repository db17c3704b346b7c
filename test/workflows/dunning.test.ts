import { createTestTenant } from '../support/db';
import { seedSubscription, setBillingSettings } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  createWorkflowHarness,
  invoicesWithLines,
  outboxEventTypes,
  paymentAttempts,
  recordHistoryIfAsked,
  type WorkflowHarness,
} from '../support/workflow-harness';
import { DEFAULT_BILLING_SETTINGS } from '../../src/domain/billing-settings';
import {
  cancelUpdate,
  getStateQuery,
  paymentMethodUpdatedSignal,
  retryPaymentUpdate,
} from '../../src/workflows/contracts';

// Dunning: a failed renewal payment is retried on the tenant's schedule (default: 1, 3, 5 and 7 days
// after the first failure), access is suspended after the grace period, and the final action runs when
// the retries are used up. Any successful payment recovers the subscription.

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('dunning');
});
afterAll(async () => {
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;

async function subscribe(createdAt: string, amountMinor = 4000) {
  const { tenant } = await createTestTenant(h.pools.app);
  await h.advanceTo(createdAt);
  const seeded = await seedSubscription(h.pools.app, tenant.id, {
    createdAt,
    amountMinor,
    recurrence: monthly,
  });
  if (seeded.providerCustomerId === null) throw new Error('the fixture should create a payment profile');
  return { tenantId: tenant.id, seeded, providerCustomerId: seeded.providerCustomerId };
}

describe('automatic retries', () => {
  it('retries 1 and 3 days after the failed renewal and recovers on attempt 3', async () => {
    const { tenantId, seeded, providerCustomerId } = await subscribe('2031-05-01T00:00:00.000Z');
    h.gateway.scriptOutcomes(providerCustomerId, ['succeed', 'decline', 'insufficient_funds', 'succeed']);
    const handle = await h.start(seeded.workflowId, seeded.input);

    await h.advanceTo('2031-06-01T01:00:00.000Z');
    const pastDue = await handle.query(getStateQuery);
    expect(pastDue.status).toBe('past_due');
    expect(pastDue.dunning).toMatchObject({ attempts: 1, nextRetryAt: '2031-06-02T00:00:00.000Z' });

    await h.advanceTo('2031-06-05T00:00:00.000Z');
    const renewal = (await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId))[1];
    const attempts = (await paymentAttempts(h.pools.app, tenantId)).filter(
      (a) => a.invoiceId === renewal?.id,
    );
    expect(attempts.map((a) => [a.attempt, a.trigger, a.status, a.attemptedAt, a.declineCode])).toEqual([
      [1, 'automatic', 'declined', '2031-06-01T00:00:00.000Z', 'card_declined'],
      [2, 'retry', 'declined', '2031-06-02T00:00:00.000Z', 'insufficient_funds'],
      [3, 'retry', 'succeeded', '2031-06-04T00:00:00.000Z', null],
    ]);
    expect(renewal?.status).toBe('paid');
    const recovered = await handle.query(getStateQuery);
    expect(recovered.status).toBe('active');
    expect(recovered.dunning).toBeNull();
    await recordHistoryIfAsked(h, 'dunning-recovered-on-attempt-3', seeded.workflowId);
    const events = await outboxEventTypes(h.pools.app, tenantId);
    expect(events.filter((type) => type === 'invoice.payment_failed')).toHaveLength(2);
    expect(events.filter((type) => type === 'invoice.payment_retry_scheduled')).toHaveLength(2);
    expect(events).toContain('customer.subscription.recovered');
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenantId);
  });

  it('cancels after the last retry fails (default policy), with a notification for every step', async () => {
    const { tenantId, seeded, providerCustomerId } = await subscribe('2031-07-01T00:00:00.000Z');
    h.gateway.scriptOutcomes(providerCustomerId, [
      'succeed',
      'decline',
      'decline',
      'decline',
      'decline',
      'decline',
    ]);
    const handle = await h.start(seeded.workflowId, seeded.input);

    await h.advanceTo('2031-08-09T00:00:00.000Z');
    const result = await h.outcome(handle);
    expect(result).toMatchObject({ status: 'canceled', cancellation: { reason: 'payment_failed' } });
    const renewal = (await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId))[1];
    const attempts = (await paymentAttempts(h.pools.app, tenantId)).filter(
      (a) => a.invoiceId === renewal?.id,
    );
    // First failure Aug 1; retries at +1, +3, +5, +7 days.
    expect(attempts.map((a) => a.attemptedAt)).toEqual([
      '2031-08-01T00:00:00.000Z',
      '2031-08-02T00:00:00.000Z',
      '2031-08-04T00:00:00.000Z',
      '2031-08-06T00:00:00.000Z',
      '2031-08-08T00:00:00.000Z',
    ]);
    expect(renewal?.status).toBe('open');
    const events = await outboxEventTypes(h.pools.app, tenantId);
    expect(events.filter((type) => type === 'invoice.payment_failed')).toHaveLength(5);
    // The grace period (7 days) ends with the last retry, which cancels: no separate suspension.
    expect(events).toEqual(
      expect.arrayContaining(['customer.subscription.dunning_exhausted', 'customer.subscription.deleted']),
    );
    await expectLedgerBalanced(h.pools.app, tenantId);
  });

  it("marks the subscription unpaid per the tenant's policy, suspending access after the grace period", async () => {
    const { tenantId, seeded, providerCustomerId } = await subscribe('2031-09-01T00:00:00.000Z');
    await setBillingSettings(h.pools.app, tenantId, {
      ...DEFAULT_BILLING_SETTINGS,
      dunning: { retryOffsetsHours: [12, 36], gracePeriodHours: 24, finalAction: 'mark_unpaid' },
    });
    h.gateway.scriptOutcomes(providerCustomerId, ['succeed', 'decline', 'decline', 'decline']);
    const handle = await h.start(seeded.workflowId, seeded.input);

    await h.advanceTo('2031-10-01T13:00:00.000Z'); // after the first retry (+12 h)
    expect((await handle.query(getStateQuery)).dunning).toMatchObject({
      attempts: 2,
      accessSuspended: false,
    });
    await h.advanceTo('2031-10-02T01:00:00.000Z'); // grace (24 h) is over
    expect((await handle.query(getStateQuery)).dunning?.accessSuspended).toBe(true);
    await h.advanceTo('2031-10-02T13:00:00.000Z'); // last retry (+36 h) failed
    const state = await handle.query(getStateQuery);
    expect(state.status).toBe('unpaid');
    expect(state.dunning?.nextRetryAt).toBeNull();
    const events = await outboxEventTypes(h.pools.app, tenantId);
    expect(events).toEqual(expect.arrayContaining(['customer.subscription.dunning_exhausted']));

    // A new card recovers it: the open invoice is retried at once.
    h.gateway.scriptOutcomes(providerCustomerId, ['succeed']);
    await handle.signal(paymentMethodUpdatedSignal, { paymentMethodId: 'pm_card_visa' });
    await h.advanceBy(60_000);
    const recovered = await handle.query(getStateQuery);
    expect(recovered.status).toBe('active');
    expect(recovered.dunning).toBeNull();
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenantId);
  });
});

describe("finance's manual retry", () => {
  it('succeeds from past_due and returns the outcome to the caller', async () => {
    const { tenantId, seeded, providerCustomerId } = await subscribe('2031-11-01T00:00:00.000Z');
    h.gateway.scriptOutcomes(providerCustomerId, ['succeed', 'decline', 'succeed']);
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2031-12-01T06:00:00.000Z');
    expect((await handle.query(getStateQuery)).status).toBe('past_due');
    const renewal = (await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId))[1];

    const outcome = await handle.executeUpdate(retryPaymentUpdate, { args: [{ invoiceId: renewal?.id }] });
    expect(outcome).toEqual({ status: 'paid', invoiceId: renewal?.id, amountMinor: 4000 });
    expect((await handle.query(getStateQuery)).status).toBe('active');
    const attempts = (await paymentAttempts(h.pools.app, tenantId)).filter(
      (a) => a.invoiceId === renewal?.id,
    );
    expect(attempts.map((a) => [a.attempt, a.trigger, a.status])).toEqual([
      [1, 'automatic', 'declined'],
      [2, 'manual', 'succeeded'],
    ]);
    // Nothing open any more: a second manual retry is refused.
    await expect(handle.executeUpdate(retryPaymentUpdate, { args: [{}] })).rejects.toThrow();
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenantId);
  });
});

describe('gateway outages', () => {
  it('retries a timed-out charge with the same idempotency key: one payment at the provider', async () => {
    const { tenantId, seeded, providerCustomerId } = await subscribe('2032-01-01T00:00:00.000Z');
    h.gateway.scriptOutcomes(providerCustomerId, ['timeout_then_succeed']);
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2032-01-01T01:00:00.000Z');

    const invoice = (await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId))[0];
    expect(invoice?.status).toBe('paid');
    const calls = h.gateway.chargeCalls.filter((call) => call.metadata.invoiceId === invoice?.id);
    expect(calls.length).toBeGreaterThanOrEqual(2);
    expect(new Set(calls.map((call) => call.idempotencyKey)).size).toBe(1);
    expect(
      h.gateway.paymentsCreated().filter((p) => p.idempotencyKey === calls[0]?.idempotencyKey),
    ).toHaveLength(1);
    expect((await handle.query(getStateQuery)).status).toBe('active');
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenantId);
  });
});
