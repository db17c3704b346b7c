import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { withTenant } from '../../src/db/with-tenant';
import { formatInstant, parseInstantMs } from '../../src/domain/calendar';
import {
  getStateQuery,
  type SubscriptionWorkflowInput,
  type SubscriptionWorkflowResult,
} from '../../src/workflows/contracts';
import type { subscriptionWorkflow } from '../../src/workflows/subscription';
import { migratedAppPool } from './db';
import { FakeGateway } from './fake-gateway';
import { writeHistory } from './histories';
import { createTimeSkippingEnv, workflowBundle } from './temporal';

export type SubscriptionHandle = WorkflowHandleWithFirstExecutionRunId<typeof subscriptionWorkflow>;

/**
 * One time-skipping server, one worker with the real activities (real Postgres, a test gateway behind
 * the real PaymentGateway interface) per test file. Simulated time only moves forward, so tests in a
 * file pick instants after the previous test's.
 */
export interface WorkflowHarness {
  readonly env: TestWorkflowEnvironment;
  readonly pools: { app: Pool; owner: Pool };
  readonly gateway: FakeGateway;
  readonly taskQueue: string;
  start(workflowId: string, input: SubscriptionWorkflowInput): Promise<SubscriptionHandle>;
  /** Simulated now, ISO. */
  now(): Promise<string>;
  /** Lets simulated time run until `iso` (timers fire on the way). */
  advanceTo(iso: string): Promise<void>;
  advanceBy(ms: number): Promise<void>;
  /**
   * How a finished subscription ended. Not handle.result(): on the Java test server, waiting for a
   * result unlocks time skipping and the clock can jump years ahead, breaking later tests in the file.
   */
  outcome(handle: SubscriptionHandle): Promise<SubscriptionWorkflowResult>;
  close(): Promise<void>;
}

export async function createWorkflowHarness(name: string): Promise<WorkflowHarness> {
  const [env, pools] = await Promise.all([createTimeSkippingEnv(), migratedAppPool()]);
  const gateway = new FakeGateway();
  const taskQueue = `wf-${name}`;
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: pools.app, gateway }),
  });
  const running = worker.run();
  const harness: WorkflowHarness = {
    env,
    pools,
    gateway,
    taskQueue,
    start: (workflowId, input) =>
      env.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
      }),
    now: async () => formatInstant(await env.currentTimeMs()),
    async advanceTo(iso) {
      const ms = parseInstantMs(iso) - (await env.currentTimeMs());
      if (ms > 0) await env.sleep(ms);
    },
    async advanceBy(ms) {
      await env.sleep(ms);
    },
    async outcome(handle) {
      // A request that ends the subscription returns before the run completes; give it a moment.
      let description = await handle.describe();
      for (let i = 0; i < 100 && description.status.name === 'RUNNING'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        description = await handle.describe();
      }
      if (description.status.name !== 'COMPLETED') {
        throw new Error(`workflow ${handle.workflowId} is ${description.status.name}, not COMPLETED`);
      }
      const state = await handle.query(getStateQuery);
      return {
        status: state.status,
        cancellation: state.cancellation,
        invoicesIssued: state.invoicesIssued,
        lastInvoice: state.lastInvoice,
      };
    },
    async close() {
      worker.shutdown();
      await running;
      await env.teardown();
      await Promise.all([pools.app.end(), pools.owner.end()]);
    },
  };
  return harness;
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

export function addMs(iso: string, ms: number): string {
  return formatInstant(parseInstantMs(iso) + ms);
}

export interface InvoiceRow {
  readonly id: string;
  readonly number: string | null;
  readonly billingReason: string;
  readonly status: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly issuedAt: string | null;
  readonly totalMinor: number;
  readonly amountDueMinor: number;
  readonly amountPaidMinor: number;
  readonly lines: ReadonlyArray<{
    readonly kind: string;
    readonly description: string;
    readonly quantity: number;
    readonly amountMinor: number;
    readonly periodStart: string;
    readonly periodEnd: string;
  }>;
}

/** The subscription's invoices, oldest first, with their lines. */
export async function invoicesWithLines(
  pool: Pool,
  tenantId: string,
  subscriptionId: string,
): Promise<InvoiceRow[]> {
  return withTenant(pool, tenantId, async (db) => {
    const invoices = await db.query<{
      id: string;
      number: string | null;
      billing_reason: string;
      status: string;
      period_start: Date;
      period_end: Date;
      issued_at: Date | null;
      total_minor: number;
      amount_due_minor: number;
      amount_paid_minor: number;
    }>(
      `SELECT id, number, billing_reason, status, period_start, period_end, issued_at, total_minor,
              amount_due_minor, amount_paid_minor
         FROM invoices WHERE subscription_id = $1 ORDER BY issued_at, number`,
      [subscriptionId],
    );
    const lines = await db.query<{
      invoice_id: string;
      kind: string;
      description: string;
      quantity: number;
      amount_minor: number;
      period_start: Date;
      period_end: Date;
    }>(
      `SELECT l.invoice_id, l.kind, l.description, l.quantity, l.amount_minor, l.period_start, l.period_end
         FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id
        WHERE i.subscription_id = $1 ORDER BY l.invoice_id, l.position`,
      [subscriptionId],
    );
    return invoices.rows.map((row) => ({
      id: row.id,
      number: row.number,
      billingReason: row.billing_reason,
      status: row.status,
      periodStart: row.period_start.toISOString(),
      periodEnd: row.period_end.toISOString(),
      issuedAt: row.issued_at?.toISOString() ?? null,
      totalMinor: Number(row.total_minor),
      amountDueMinor: Number(row.amount_due_minor),
      amountPaidMinor: Number(row.amount_paid_minor),
      lines: lines.rows
        .filter((line) => line.invoice_id === row.id)
        .map((line) => ({
          kind: line.kind,
          description: line.description,
          quantity: line.quantity,
          amountMinor: Number(line.amount_minor),
          periodStart: line.period_start.toISOString(),
          periodEnd: line.period_end.toISOString(),
        })),
    }));
  });
}

export interface AttemptRow {
  readonly invoiceId: string;
  readonly attempt: number;
  readonly trigger: string;
  readonly status: string;
  readonly attemptedAt: string;
  readonly declineCode: string | null;
}

export async function paymentAttempts(pool: Pool, tenantId: string): Promise<AttemptRow[]> {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{
      invoice_id: string;
      attempt: number;
      trigger: string;
      status: string;
      attempted_at: Date;
      decline_code: string | null;
    }>(
      `SELECT invoice_id, attempt, trigger, status, attempted_at, decline_code
         FROM payment_attempts ORDER BY attempted_at, attempt`,
    );
    return rows.map((row) => ({
      invoiceId: row.invoice_id,
      attempt: row.attempt,
      trigger: row.trigger,
      status: row.status,
      attemptedAt: row.attempted_at.toISOString(),
      declineCode: row.decline_code,
    }));
  });
}

export async function outboxEventTypes(pool: Pool, tenantId: string): Promise<string[]> {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{ event_type: string }>(
      'SELECT event_type FROM outbox_events ORDER BY occurred_at, created_at',
    );
    return rows.map((row) => row.event_type);
  });
}

export async function outboxEvents(
  pool: Pool,
  tenantId: string,
): Promise<Array<{ type: string; emailCustomer: boolean; data: Record<string, unknown> }>> {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{
      event_type: string;
      email_customer: boolean;
      payload: Record<string, unknown>;
    }>('SELECT event_type, email_customer, payload FROM outbox_events ORDER BY occurred_at, created_at');
    return rows.map((row) => ({
      type: row.event_type,
      emailCustomer: row.email_customer,
      data: (row.payload.data ?? row.payload) as Record<string, unknown>,
    }));
  });
}

export async function customerCreditBalanceMinor(
  pool: Pool,
  tenantId: string,
  customerId: string,
): Promise<number> {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{ balance: string }>(
      `SELECT coalesce(sum(CASE WHEN l.direction = 'credit' THEN l.amount_minor ELSE -l.amount_minor END), 0) AS balance
         FROM journal_lines l JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
        WHERE a.code = 'customer_credit' AND a.customer_id = $1`,
      [customerId],
    );
    return Number(rows[0]?.balance ?? 0);
  });
}

/**
 * With RECORD_HISTORIES=1, stores the run's history in test/workflows/histories/ for the replay test.
 * Record after a deliberate, versioned change of the workflow (see docs/architecture.md).
 */
export async function recordHistoryIfAsked(
  h: WorkflowHarness,
  name: string,
  workflowId: string,
  runId?: string,
): Promise<void> {
  if (process.env.RECORD_HISTORIES !== '1') return;
  const history = await h.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeHistory(name, history);
}
