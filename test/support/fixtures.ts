import type { Pool } from 'pg';
import { newId } from '../../src/db/ids';
import { withTenant } from '../../src/db/with-tenant';
import { createSchedule, periodOf, type Recurrence } from '../../src/domain/calendar';
import {
  subscriptionWorkflowId,
  type PlanSnapshot,
  type SubscriptionWorkflowInput,
} from '../../src/workflows/contracts';

export interface SeededSubscription {
  readonly workflowId: string;
  readonly input: SubscriptionWorkflowInput;
}

/**
 * Writes a product, plan, customer and subscription row the way POST /v1/subscriptions does, and
 * returns the workflow input, so workflow tests exercise the same rows the API would create.
 */
export async function seedSubscription(
  pool: Pool,
  tenantId: string,
  options: {
    startedAt: string;
    amountMinor: number;
    currency?: string;
    recurrence: Recurrence & { interval: 'month' | 'year' };
  },
): Promise<SeededSubscription> {
  const productId = newId('product');
  const planId = newId('plan');
  const customerId = newId('customer');
  const subscriptionId = newId('subscription');
  const workflowId = subscriptionWorkflowId(tenantId, subscriptionId);
  const currency = options.currency ?? 'USD';
  const schedule = createSchedule(options.startedAt, options.recurrence, 'anniversary');
  const first = periodOf(schedule, 0);
  await withTenant(pool, tenantId, async (db) => {
    await db.query('INSERT INTO products (id, tenant_id, name) VALUES ($1, $2, $3)', [
      productId,
      tenantId,
      'Pro',
    ]);
    await db.query(
      `INSERT INTO plans (id, tenant_id, product_id, currency, amount_minor, billing_interval, interval_count)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        planId,
        tenantId,
        productId,
        currency,
        options.amountMinor,
        options.recurrence.interval,
        options.recurrence.intervalCount,
      ],
    );
    await db.query('INSERT INTO customers (id, tenant_id, email) VALUES ($1, $2, $3)', [
      customerId,
      tenantId,
      'c@example.com',
    ]);
    await db.query(
      `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, workflow_id, billing_anchor,
                                  current_period_start, current_period_end)
       VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8)`,
      [subscriptionId, tenantId, customerId, planId, workflowId, schedule.anchor, first.start, first.end],
    );
  });
  const plan: PlanSnapshot = {
    planId,
    productName: 'Pro',
    currency,
    amountMinor: options.amountMinor,
    interval: options.recurrence.interval,
    intervalCount: options.recurrence.intervalCount,
  };
  return {
    workflowId,
    input: { tenantId, subscriptionId, customerId, plan, schedule, periodIndex: 0, invoicesIssued: 0 },
  };
}

export async function invoicesOf(pool: Pool, tenantId: string, subscriptionId: string) {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{
      period_start: Date;
      period_end: Date;
      total_minor: number;
      status: string;
    }>(
      'SELECT period_start, period_end, total_minor, status FROM invoices WHERE subscription_id = $1 ORDER BY period_start',
      [subscriptionId],
    );
    return rows.map((row) => ({
      periodStart: row.period_start.toISOString(),
      periodEnd: row.period_end.toISOString(),
      totalMinor: row.total_minor,
      status: row.status,
    }));
  });
}

export async function subscriptionRow(pool: Pool, tenantId: string, subscriptionId: string) {
  return withTenant(pool, tenantId, async (db) => {
    const { rows } = await db.query<{ status: string; current_period_start: Date; canceled_at: Date | null }>(
      'SELECT status, current_period_start, canceled_at FROM subscriptions WHERE id = $1',
      [subscriptionId],
    );
    return rows[0];
  });
}
