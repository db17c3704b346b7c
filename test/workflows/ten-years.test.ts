import { createTestTenant } from '../support/db';
import { seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import { createWorkflowHarness, invoicesWithLines, type WorkflowHarness } from '../support/workflow-harness';
import { cancelUpdate, getStateQuery } from '../../src/workflows/contracts';

// A subscription lives for years. Each run serves one period and continues as new at the boundary,
// so the history Temporal keeps (and replays after a crash) stays the same small size forever.

let h: WorkflowHarness;
beforeAll(async () => {
  h = await createWorkflowHarness('ten-years');
});
afterAll(async () => {
  await h?.close();
});

// A run: start, settings, mirror, invoice, charge, events, timer, continue-as-new — a few dozen events.
const MAX_EVENTS_PER_RUN = 120;

it('bills 120 monthly periods over 10 years with every run under a fixed history size', async () => {
  const { tenant } = await createTestTenant(h.pools.app);
  const createdAt = '2040-01-31T00:00:00.000Z';
  await h.advanceTo(createdAt);
  const seeded = await seedSubscription(h.pools.app, tenant.id, {
    createdAt,
    amountMinor: 1999,
    recurrence: { interval: 'month', intervalCount: 1 },
  });
  const handle = await h.start(seeded.workflowId, seeded.input);

  const historySizes: number[] = [];
  for (let year = 1; year <= 10; year += 1) {
    await h.advanceTo(`${2040 + year}-01-15T00:00:00.000Z`);
    // The run in progress, mid-period.
    historySizes.push((await handle.fetchHistory()).events?.length ?? 0);
  }
  const firstRun = await h.env.client.workflow
    .getHandle(seeded.workflowId, handle.firstExecutionRunId)
    .fetchHistory();
  historySizes.push(firstRun.events?.length ?? 0);
  console.info(`history events per run over 10 years: ${historySizes.join(', ')}`);
  expect(Math.max(...historySizes)).toBeLessThan(MAX_EVENTS_PER_RUN);

  const state = await handle.query(getStateQuery);
  // Jan 31 2040 … Dec 31 2049: 120 periods, the 120th starting Dec 31 2049.
  expect(state.invoicesIssued).toBe(120);
  expect(state.currentPeriod).toMatchObject({
    start: '2049-12-31T00:00:00.000Z',
    end: '2050-01-31T00:00:00.000Z',
  });
  const invoices = await invoicesWithLines(h.pools.app, tenant.id, seeded.input.subscriptionId);
  expect(invoices).toHaveLength(120);
  expect(invoices.every((invoice) => invoice.totalMinor === 1999 && invoice.status === 'paid')).toBe(true);
  await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
  await expectLedgerBalanced(h.pools.app, tenant.id);
}, 600_000);
