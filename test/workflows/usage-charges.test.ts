import { Redis } from 'ioredis';
import { insertCharge } from '../../src/db/usage-charges';
import { withTenant } from '../../src/db/with-tenant';
import { UsageService } from '../../src/usage/usage-service';
import { cancelUpdate } from '../../src/workflows/contracts';
import { createTestTenant } from '../support/db';
import { seedSubscription, type SeededSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import { createWorkflowHarness, invoicesWithLines, type WorkflowHarness } from '../support/workflow-harness';

// Usage charges on the time-skipping server: a period's usage is billed in arrears on the renewal
// invoice, next to the new period's in-advance plan line; a subscription that ends bills the usage of
// its last (partial) period on a final invoice. Plan 49.00/month; API calls priced on graduated
// tiers: the first 1,000 at 0.10, the rest at 0.08.

let h: WorkflowHarness;
let redis: Redis;
let usage: UsageService;
beforeAll(async () => {
  h = await createWorkflowHarness('usage-charges');
  redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15', { maxRetriesPerRequest: 1 });
  // Simulated time runs years ahead of the wall clock: events are judged against a clock far ahead.
  usage = new UsageService({
    pool: h.pools.app,
    redis,
    onCacheError: () => undefined,
    nowMs: () => Date.parse('2099-01-01T00:00:00.000Z'),
  });
});
afterAll(async () => {
  redis?.disconnect();
  await h?.close();
});

const monthly = { interval: 'month', intervalCount: 1 } as const;

async function meteredSubscription(
  createdAt: string,
): Promise<{ tenantId: string; seeded: SeededSubscription }> {
  const { tenant } = await createTestTenant(h.pools.app);
  await h.advanceTo(createdAt);
  const seeded = await seedSubscription(h.pools.app, tenant.id, {
    createdAt,
    amountMinor: 4900,
    recurrence: monthly,
  });
  await withTenant(h.pools.app, tenant.id, async (db) => {
    const meter = await usage.createMeter(db, tenant.id, {
      name: 'API calls',
      eventName: 'api_call',
      aggregation: 'count',
      valueProperty: null,
      filters: {},
      groupBy: [],
    });
    await insertCharge(db, tenant.id, {
      planId: seeded.planId,
      meterId: meter.id,
      name: 'API calls',
      currency: 'USD',
      pricing: {
        model: 'graduated',
        tiers: [
          { up_to: '1000', unit_amount_decimal: '10' },
          { up_to: null, unit_amount_decimal: '8' },
        ],
      },
      includedQuantity: '0',
      minimumAmountMinor: null,
      groupBy: [],
    });
  });
  return { tenantId: tenant.id, seeded };
}

async function sendCalls(
  tenantId: string,
  customerId: string,
  count: number,
  fromIso: string,
  label: string,
) {
  const fromMs = Date.parse(fromIso);
  const events = Array.from({ length: count }, (_, i) => ({
    id: `${label}-${i}`,
    customer: customerId,
    event_name: 'api_call',
    // One a minute from `fromIso`.
    timestamp: new Date(fromMs + i * 60_000).toISOString(),
  }));
  const report = await usage.ingest(tenantId, events);
  expect(report.accepted).toHaveLength(count);
}

describe('a monthly plan with a usage charge', () => {
  it('bills March usage in arrears on the April renewal invoice, with April in advance', async () => {
    const { tenantId, seeded } = await meteredSubscription('2031-03-01T00:00:00.000Z');
    const handle = await h.start(seeded.workflowId, seeded.input);
    // 1,500 calls in March, the last one at 2031-03-02T01:00 (one a minute from Mar 1 00:00).
    await sendCalls(
      tenantId,
      seeded.customerId,
      1_500,
      '2031-03-01T00:00:00.000Z',
      `${seeded.input.subscriptionId}-mar`,
    );

    await h.advanceTo('2031-04-01T01:00:00.000Z');
    const invoices = await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId);
    expect(
      invoices.map((invoice) => [invoice.billingReason, invoice.periodStart, invoice.totalMinor]),
    ).toEqual([
      ['subscription_create', '2031-03-01T00:00:00.000Z', 4900],
      // 49.00 for April + March's 1,500 calls: 1,000 × 0.10 + 500 × 0.08 = 140.00.
      ['subscription_cycle', '2031-04-01T00:00:00.000Z', 4900 + 14000],
    ]);
    expect(
      invoices[1]?.lines.map((line) => [
        line.description,
        line.amountMinor,
        line.periodStart,
        line.periodEnd,
      ]),
    ).toEqual([
      ['Pro', 4900, '2031-04-01T00:00:00.000Z', '2031-05-01T00:00:00.000Z'],
      ['API calls: 1000 units (0–1000) × 0.1', 10000, '2031-03-01T00:00:00.000Z', '2031-04-01T00:00:00.000Z'],
      [
        'API calls: 500 units (above 1000) × 0.08',
        4000,
        '2031-03-01T00:00:00.000Z',
        '2031-04-01T00:00:00.000Z',
      ],
    ]);
    expect(invoices.every((invoice) => invoice.status === 'paid')).toBe(true);

    // April: 30 calls, then the customer cancels on April 10: the partial period's usage
    // [Apr 1, Apr 10 12:00) is billed on a final invoice, 30 × 0.10 = 3.00.
    await sendCalls(
      tenantId,
      seeded.customerId,
      30,
      '2031-04-02T00:00:00.000Z',
      `${seeded.input.subscriptionId}-apr`,
    );
    await h.advanceTo('2031-04-10T12:00:00.000Z');
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
    const after = await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId);
    expect(after).toHaveLength(3);
    expect(after[2]).toMatchObject({
      billingReason: 'subscription_update',
      totalMinor: 300,
      status: 'paid',
      lines: [
        {
          description: 'API calls: 30 units (0–1000) × 0.1',
          amountMinor: 300,
          periodStart: '2031-04-01T00:00:00.000Z',
          periodEnd: '2031-04-10T12:00:00.000Z',
        },
      ],
    });
    await expectLedgerBalanced(h.pools.app, tenantId);
  });

  it('with no usage in the period: the renewal invoice is exactly the plan line', async () => {
    const { tenantId, seeded } = await meteredSubscription('2031-06-01T00:00:00.000Z');
    await h.start(seeded.workflowId, seeded.input);
    await h.advanceTo('2031-07-01T01:00:00.000Z');
    const invoices = await invoicesWithLines(h.pools.app, tenantId, seeded.input.subscriptionId);
    expect(
      invoices.map((invoice) => invoice.lines.map((line) => [line.description, line.amountMinor])),
    ).toEqual([[['Pro', 4900]], [['Pro', 4900]]]);
  });
});
