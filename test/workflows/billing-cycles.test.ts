import { createTestTenant } from '../support/db';
import { seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import {
  addMs,
  createWorkflowHarness,
  DAY_MS,
  HOUR_MS,
  invoicesWithLines,
  recordHistoryIfAsked,
  type WorkflowHarness,
} from '../support/workflow-harness';
import { cancelUpdate, getStateQuery } from '../../src/workflows/contracts';

// Renewals on the time-skipping server: every period is invoiced in advance, exactly on its start, for
// exactly the pinned price. Simulated time only moves forward, so each test starts after the previous.

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('billing-cycles');
});
afterAll(async () => {
  await h?.close();
});

function expectIssuedOnTime(invoices: Array<{ periodStart: string; issuedAt: string | null }>) {
  for (const invoice of invoices) {
    const lateMs = Date.parse(invoice.issuedAt ?? '') - Date.parse(invoice.periodStart);
    // Issued when the period starts (the timer fires at the boundary), never before it.
    expect(lateMs).toBeGreaterThanOrEqual(0);
    expect(lateMs).toBeLessThan(60_000);
  }
}

describe('a monthly plan anchored on Jan 31 of a leap year', () => {
  it('bills 12 periods clamped to each month end (Feb 29, Apr 30, …), 49.00 each, all paid', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2028-01-31T09:30:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 4900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);

    // Just past the start of the 12th period (Dec 31), before the 13th (Jan 31, 2029).
    await h.advanceTo('2028-12-31T10:00:00.000Z');

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    const at = (day: string) => `${day}T09:30:00.000Z`;
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.periodEnd])).toEqual([
      [at('2028-01-31'), at('2028-02-29')], // leap day: Jan 31 + 1 month clamps to Feb 29
      [at('2028-02-29'), at('2028-03-31')], // computed from the anchor, so it returns to the 31st
      [at('2028-03-31'), at('2028-04-30')],
      [at('2028-04-30'), at('2028-05-31')],
      [at('2028-05-31'), at('2028-06-30')],
      [at('2028-06-30'), at('2028-07-31')],
      [at('2028-07-31'), at('2028-08-31')],
      [at('2028-08-31'), at('2028-09-30')],
      [at('2028-09-30'), at('2028-10-31')],
      [at('2028-10-31'), at('2028-11-30')],
      [at('2028-11-30'), at('2028-12-31')],
      [at('2028-12-31'), at('2029-01-31')],
    ]);
    expect(invoices.map((invoice) => invoice.totalMinor)).toEqual(Array(12).fill(4900));
    expect(invoices.map((invoice) => invoice.status)).toEqual(Array(12).fill('paid'));
    expect(invoices[0]?.billingReason).toBe('subscription_create');
    expect(invoices.slice(1).every((invoice) => invoice.billingReason === 'subscription_cycle')).toBe(true);
    // Gapless numbers, one per invoice.
    expect(new Set(invoices.map((invoice) => invoice.number)).size).toBe(12);
    expectIssuedOnTime(invoices);
    // Exactly one charge per period at the gateway.
    expect(
      h.gateway.paymentsCreated().filter((p) => invoices.some((i) => p.idempotencyKey.includes(i.id))),
    ).toHaveLength(12);

    const state = await handle.query(getStateQuery);
    expect(state.status).toBe('active');
    expect(state.currentPeriod).toMatchObject({ start: at('2028-12-31'), end: at('2029-01-31') });
    expect(state.invoicesIssued).toBe(12);

    await recordHistoryIfAsked(
      h,
      'monthly-first-period-invoiced',
      seeded.workflowId,
      handle.firstExecutionRunId,
    );
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    const ledger = await expectLedgerBalanced(h.pools.app, tenant.id);
    // 12 invoices finalized + 12 payments captured: 12 × 4900 through receivables twice.
    expect(ledger.turnoverMinorByCurrency.USD).toBe(2 * 12 * 4900);
  });
});

describe('other intervals', () => {
  it('bills an annual plan once a year on its anniversary', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2029-02-15T00:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 120_000,
      recurrence: { interval: 'year', intervalCount: 1 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2031-02-15T01:00:00.000Z');

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.periodEnd, invoice.totalMinor])).toEqual([
      ['2029-02-15T00:00:00.000Z', '2030-02-15T00:00:00.000Z', 120_000],
      ['2030-02-15T00:00:00.000Z', '2031-02-15T00:00:00.000Z', 120_000],
      ['2031-02-15T00:00:00.000Z', '2032-02-15T00:00:00.000Z', 120_000],
    ]);
    expectIssuedOnTime(invoices);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('bills a weekly plan with interval_count 2 every 14 days', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2031-03-03T08:00:00.000Z';
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 1500,
      recurrence: { interval: 'week', intervalCount: 2 },
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo(addMs(createdAt, 42 * DAY_MS + HOUR_MS));

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.periodEnd])).toEqual([
      ['2031-03-03T08:00:00.000Z', '2031-03-17T08:00:00.000Z'],
      ['2031-03-17T08:00:00.000Z', '2031-03-31T08:00:00.000Z'],
      ['2031-03-31T08:00:00.000Z', '2031-04-14T08:00:00.000Z'],
      ['2031-04-14T08:00:00.000Z', '2031-04-28T08:00:00.000Z'],
    ]);
    expect(invoices.every((invoice) => invoice.totalMinor === 1500 && invoice.status === 'paid')).toBe(true);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });

  it('charges a calendar-aligned start as a stub: Feb 15 → Mar 1 is 14 of 28 days of the monthly price', async () => {
    const { tenant } = await createTestTenant(h.pools.app);
    const createdAt = '2033-02-15T00:00:00.000Z'; // 2033 is not a leap year: February has 28 days
    await h.advanceTo(createdAt);
    const seeded = await seedSubscription(h.pools.app, tenant.id, {
      createdAt,
      amountMinor: 2800,
      recurrence: { interval: 'month', intervalCount: 1 },
      alignment: 'calendar',
    });
    const handle = await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2033-03-01T01:00:00.000Z');

    const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
    // Stub: 2800 × 14/28 = 1400. Then whole calendar months from Mar 1.
    expect(invoices.map((invoice) => [invoice.periodStart, invoice.periodEnd, invoice.totalMinor])).toEqual([
      ['2033-02-15T00:00:00.000Z', '2033-03-01T00:00:00.000Z', 1400],
      ['2033-03-01T00:00:00.000Z', '2033-04-01T00:00:00.000Z', 2800],
    ]);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    await expectLedgerBalanced(h.pools.app, tenant.id);
  });
});
