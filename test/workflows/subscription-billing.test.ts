import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { periodOf } from '../../src/domain/calendar';
import { cancelSignal, getStateQuery } from '../../src/workflows/contracts';
import type { subscriptionWorkflow } from '../../src/workflows/subscription';
import { createTestTenant, migratedAppPool } from '../support/db';
import { invoicesOf, seedSubscription, subscriptionRow } from '../support/fixtures';
import { writeHistory } from '../support/histories';
import { createTimeSkippingEnv, workflowBundle } from '../support/temporal';

const DAY_MS = 86_400_000;

let env: TestWorkflowEnvironment;
let pools: { app: Pool; owner: Pool };

beforeAll(async () => {
  [env, pools] = await Promise.all([createTimeSkippingEnv(), migratedAppPool()]);
});

afterAll(async () => {
  await env?.teardown();
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

async function workerFor(taskQueue: string): Promise<Worker> {
  return Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: pools.app }),
  });
}

describe('a monthly subscription on the time-skipping server', () => {
  it('bills each of its first three periods exactly once, on the period end, then cancels', async () => {
    const tenant = await createTestTenant(pools.app);
    const startedAt = new Date(await env.currentTimeMs()).toISOString();
    const seeded = await seedSubscription(pools.app, tenant.tenant.id, {
      startedAt,
      amountMinor: 4900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const { input } = seeded;
    const expectedPeriods = [0, 1, 2].map((index) => periodOf(input.schedule, index));
    const taskQueue = `billing-${input.subscriptionId}`;
    const worker = await workerFor(taskQueue);
    const wallClockStartMs = Date.now();

    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId: seeded.workflowId,
        args: [input],
      });

      // Just past the end of the third month (about 90 simulated days).
      const thirdPeriodEndMs = Date.parse(expectedPeriods[2]!.end);
      await env.sleep(thirdPeriodEndMs - (await env.currentTimeMs()) + DAY_MS);
      const simulatedDays = ((await env.currentTimeMs()) - Date.parse(startedAt)) / DAY_MS;
      const wallClockSeconds = (Date.now() - wallClockStartMs) / 1000;
      console.info(
        `simulated ${simulatedDays.toFixed(1)} days in ${wallClockSeconds.toFixed(1)} s of wall clock`,
      );
      expect(simulatedDays).toBeGreaterThan(89);

      const state = await handle.query(getStateQuery);
      expect(state.status).toBe('active');
      expect(state.invoicesIssued).toBe(3);
      expect(state.currentPeriod).toEqual(periodOf(input.schedule, 3));

      await handle.signal(cancelSignal, { reason: 'customer asked' });
      const outcome = await handle.result();
      if (process.env.RECORD_HISTORIES === '1') {
        // The first run (wait, invoice, continue-as-new) and the last one (wait, cancel) cover both exits.
        const firstRun = env.client.workflow.getHandle(seeded.workflowId, handle.firstExecutionRunId);
        writeHistory('monthly-first-period-invoiced', await firstRun.fetchHistory());
        writeHistory('monthly-canceled-mid-period', await handle.fetchHistory());
      }
      return outcome;
    });

    expect(result).toMatchObject({ status: 'canceled', invoicesIssued: 3 });
    const invoices = await invoicesOf(pools.app, tenant.tenant.id, input.subscriptionId);
    expect(invoices).toEqual(
      expectedPeriods.map((period) => ({
        periodStart: period.start,
        periodEnd: period.end,
        totalMinor: 4900,
        status: 'draft',
      })),
    );
    const row = await subscriptionRow(pools.app, tenant.tenant.id, input.subscriptionId);
    expect(row?.status).toBe('canceled');
    expect(row?.canceled_at).not.toBeNull();
  });

  it('issues no invoice when canceled before the first period ends', async () => {
    const tenant = await createTestTenant(pools.app);
    const startedAt = new Date(await env.currentTimeMs()).toISOString();
    const seeded = await seedSubscription(pools.app, tenant.tenant.id, {
      startedAt,
      amountMinor: 120_000,
      recurrence: { interval: 'year', intervalCount: 1 },
    });
    const taskQueue = `billing-${seeded.input.subscriptionId}`;
    const worker = await workerFor(taskQueue);
    const result = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId: seeded.workflowId,
        args: [seeded.input],
      });
      await env.sleep(10 * DAY_MS);
      await handle.signal(cancelSignal, {});
      return handle.result();
    });
    expect(result).toMatchObject({ status: 'canceled', invoicesIssued: 0 });
    expect(await invoicesOf(pools.app, tenant.tenant.id, seeded.input.subscriptionId)).toEqual([]);
  });

  it('writes one invoice when the invoice activity is retried for the same period', async () => {
    const tenant = await createTestTenant(pools.app);
    const seeded = await seedSubscription(pools.app, tenant.tenant.id, {
      startedAt: '2024-01-31T10:00:00.000Z',
      amountMinor: 4900,
      recurrence: { interval: 'month', intervalCount: 1 },
    });
    const activities = createActivities({ pool: pools.app });
    const invoiceInput = {
      tenantId: tenant.tenant.id,
      subscriptionId: seeded.input.subscriptionId,
      customerId: seeded.input.customerId,
      plan: seeded.input.plan,
      period: periodOf(seeded.input.schedule, 0),
    };
    const first = await activities.createPeriodInvoice(invoiceInput);
    const retry = await activities.createPeriodInvoice(invoiceInput);
    expect(first.created).toBe(true);
    expect(retry).toEqual({ invoiceId: first.invoiceId, created: false, totalMinor: 4900 });
    expect(await invoicesOf(pools.app, tenant.tenant.id, seeded.input.subscriptionId)).toHaveLength(1);
  });
});
