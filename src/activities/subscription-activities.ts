import type { Pool } from 'pg';
import { recordConversionIfAny } from '../db/entitlements';
import { insertOutboxEvents } from '../db/outbox';
import { withTenant } from '../db/with-tenant';
import { DEFAULT_BILLING_SETTINGS, parseBillingSettings } from '../domain/billing-settings';
import type { BillingSettings } from '../domain/billing-types';
import type { EmitEventsInput, SubscriptionMirror } from './contracts';

export function createSubscriptionActivities({ pool }: { readonly pool: Pool }) {
  return {
    /** The tenant's settings, or the defaults when it chose none; validated on the way out too. */
    async getBillingSettings({ tenantId }: { readonly tenantId: string }): Promise<BillingSettings> {
      return withTenant(pool, tenantId, async (db) => {
        const { rows } = await db.query<{
          proration_granularity: string;
          rounding_mode: string;
          dunning_policy: unknown;
          trial_reminder_days: number;
        }>(
          'SELECT proration_granularity, rounding_mode, dunning_policy, trial_reminder_days FROM tenant_billing_settings',
        );
        const row = rows[0];
        if (!row) return DEFAULT_BILLING_SETTINGS;
        return parseBillingSettings({
          prorationGranularity: row.proration_granularity,
          roundingMode: row.rounding_mode,
          dunning: row.dunning_policy,
          trialReminderDays: row.trial_reminder_days,
        });
      });
    },

    /** Outbox rows for the workflow's events; idempotent on each event's key. */
    async emitEvents(input: EmitEventsInput): Promise<void> {
      await withTenant(pool, input.tenantId, async (db) => {
        await insertOutboxEvents(
          db,
          input.tenantId,
          input.events.map((event) => ({
            ...event,
            subscriptionId: input.subscriptionId,
            customerId: input.customerId,
          })),
        );
      });
    },

    /** Mirrors the workflow's view into the subscriptions row and its items, for listing and reporting. */
    async recordSubscriptionState(mirror: SubscriptionMirror): Promise<void> {
      const plan = mirror.items.find((item) => item.kind === 'plan');
      if (plan === undefined) throw new Error(`subscription ${mirror.subscriptionId} has no plan item`);
      await withTenant(pool, mirror.tenantId, async (db) => {
        // Free → paid (plan change or trial end): compared with the row before it is overwritten.
        await recordConversionIfAny(db, mirror);
        const result = await db.query(
          `UPDATE subscriptions
              SET status = $2, plan_id = $3, currency = $4, current_period_start = $5, current_period_end = $6,
                  billing_anchor = coalesce($7, billing_anchor), trial_start = $8, trial_end = $9,
                  cancel_at_period_end = $10, canceled_at = $11, ended_at = $12, cancellation_reason = $13,
                  pause_behavior = $14, paused_at = $15, resumes_at = $16, access_suspended = $17, updated_at = now()
            WHERE id = $1`,
          [
            mirror.subscriptionId,
            mirror.status,
            plan.price.planId,
            plan.price.currency,
            mirror.currentPeriod?.start ?? null,
            mirror.currentPeriod?.end ?? null,
            mirror.billingAnchor,
            mirror.trialStart,
            mirror.trialEnd,
            mirror.cancelAtPeriodEnd,
            mirror.canceledAt,
            mirror.endedAt,
            mirror.cancellationReason,
            mirror.pauseBehavior,
            mirror.pausedAt,
            mirror.resumesAt,
            mirror.accessSuspended,
          ],
        );
        if (result.rowCount !== 1) {
          throw new Error(`subscription ${mirror.subscriptionId} not found for tenant ${mirror.tenantId}`);
        }
        await db.query('DELETE FROM subscription_items WHERE subscription_id = $1', [mirror.subscriptionId]);
        await db.query(
          `INSERT INTO subscription_items (id, tenant_id, subscription_id, kind, price_id, plan_id, quantity,
                                           unit_amount_minor, position)
           SELECT i.id, $1, $2, i.kind, i.price_id, i.plan_id, i.quantity, i.unit_amount_minor, i.position - 1
             FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[])
                  WITH ORDINALITY AS i (id, kind, price_id, plan_id, quantity, unit_amount_minor, position)`,
          [
            mirror.tenantId,
            mirror.subscriptionId,
            mirror.items.map((item) => item.itemId),
            mirror.items.map((item) => item.kind),
            mirror.items.map((item) => item.price.priceId),
            mirror.items.map((item) => item.price.planId),
            mirror.items.map((item) => item.quantity),
            mirror.items.map((item) => item.price.unitAmountMinor),
          ],
        );
      });
    },
  };
}
