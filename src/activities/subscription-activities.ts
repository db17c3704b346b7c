import type { Pool } from 'pg';
import { newId } from '../db/ids';
import { withTenant } from '../db/with-tenant';
import type { BillingPeriod } from '../domain/calendar';
import type { PlanSnapshot, SubscriptionStatus } from '../workflows/contracts';

export interface ActivityDeps {
  readonly pool: Pool;
}

export interface CreatePeriodInvoiceInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly plan: PlanSnapshot;
  readonly period: BillingPeriod;
}

export interface CreatePeriodInvoiceResult {
  readonly invoiceId: string;
  /** false when an earlier attempt already wrote it (a retry after a crash or timeout). */
  readonly created: boolean;
  readonly totalMinor: number;
}

export interface RecordSubscriptionStateInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly status: SubscriptionStatus;
  readonly currentPeriod: BillingPeriod;
  readonly canceledAt: string | null;
  readonly cancellationReason: string | null;
}

export function createSubscriptionActivities({ pool }: ActivityDeps) {
  return {
    /**
     * Writes the invoice for one subscription period. Idempotent on (tenant, subscription, period_start):
     * a retried attempt finds the row the first attempt committed and returns it unchanged.
     */
    async createPeriodInvoice(input: CreatePeriodInvoiceInput): Promise<CreatePeriodInvoiceResult> {
      const { tenantId, subscriptionId, customerId, plan, period } = input;
      return withTenant(pool, tenantId, async (client) => {
        const invoiceId = newId('invoice');
        const inserted = await client.query<{ id: string; total_minor: number }>(
          `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency,
                                 period_start, period_end, subtotal_minor, total_minor)
           VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $8)
           ON CONFLICT (tenant_id, subscription_id, period_start) DO NOTHING
           RETURNING id, total_minor`,
          [
            invoiceId,
            tenantId,
            customerId,
            subscriptionId,
            plan.currency,
            period.start,
            period.end,
            plan.amountMinor,
          ],
        );
        const row = inserted.rows[0];
        if (row) {
          await client.query(
            `INSERT INTO invoice_lines (id, tenant_id, invoice_id, position, description, quantity,
                                        unit_amount_minor, amount_minor, period_start, period_end, plan_id)
             VALUES ($1, $2, $3, 0, $4, 1, $5, $5, $6, $7, $8)`,
            [
              newId('invoiceLine'),
              tenantId,
              invoiceId,
              plan.productName,
              plan.amountMinor,
              period.start,
              period.end,
              plan.planId,
            ],
          );
          return { invoiceId: row.id, created: true, totalMinor: row.total_minor };
        }
        const existing = await client.query<{ id: string; total_minor: number }>(
          'SELECT id, total_minor FROM invoices WHERE subscription_id = $1 AND period_start = $2',
          [subscriptionId, period.start],
        );
        const found = existing.rows[0];
        if (!found)
          throw new Error(`invoice for ${subscriptionId} at ${period.start} conflicted but is not visible`);
        return { invoiceId: found.id, created: false, totalMinor: found.total_minor };
      });
    },

    /** Mirrors the workflow's view of the subscription into Postgres for reporting and listing. */
    async recordSubscriptionState(input: RecordSubscriptionStateInput): Promise<void> {
      const { tenantId, subscriptionId, status, currentPeriod, canceledAt, cancellationReason } = input;
      await withTenant(pool, tenantId, async (client) => {
        const result = await client.query(
          `UPDATE subscriptions
              SET status = $2, current_period_start = $3, current_period_end = $4,
                  canceled_at = $5, cancellation_reason = $6, updated_at = now()
            WHERE id = $1`,
          [subscriptionId, status, currentPeriod.start, currentPeriod.end, canceledAt, cancellationReason],
        );
        if (result.rowCount !== 1)
          throw new Error(`subscription ${subscriptionId} not found for tenant ${tenantId}`);
      });
    },
  };
}

export type SubscriptionActivities = ReturnType<typeof createSubscriptionActivities>;
