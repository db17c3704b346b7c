import type { PoolClient } from 'pg';
import type { SubscriptionWorkflowInput } from '../workflows/contracts';
import { currentPeriodOf } from '../workflows/subscription-state';

/**
 * The subscription row and its items for a new subscription's workflow input, as the workflow will
 * mirror them later. Used by POST /v1/subscriptions (and by tests, so they seed exactly what the API
 * writes).
 */
export async function insertSubscription(
  db: PoolClient,
  input: SubscriptionWorkflowInput,
  workflowId: string,
  metadata: Readonly<Record<string, string>> = {},
): Promise<void> {
  const plan = input.items.find((item) => item.kind === 'plan');
  if (plan === undefined) throw new RangeError('a subscription needs a plan item');
  const period = currentPeriodOf(input);
  await db.query(
    `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, workflow_id, billing_anchor,
                                current_period_start, current_period_end, currency, trial_start, trial_end, metadata)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      input.subscriptionId,
      input.tenantId,
      input.customerId,
      plan.price.planId,
      input.status,
      workflowId,
      input.schedule?.anchor ?? null,
      period?.start ?? null,
      period?.end ?? null,
      input.currency,
      input.trial?.start ?? null,
      input.trial?.end ?? null,
      metadata,
    ],
  );
  await db.query(
    `INSERT INTO subscription_items (id, tenant_id, subscription_id, kind, price_id, plan_id, quantity,
                                     unit_amount_minor, position)
     SELECT i.id, $1, $2, i.kind, i.price_id, i.plan_id, i.quantity, i.unit_amount_minor, i.position - 1
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::bigint[])
            WITH ORDINALITY AS i (id, kind, price_id, plan_id, quantity, unit_amount_minor, position)`,
    [
      input.tenantId,
      input.subscriptionId,
      input.items.map((item) => item.itemId),
      input.items.map((item) => item.kind),
      input.items.map((item) => item.price.priceId),
      input.items.map((item) => item.price.planId),
      input.items.map((item) => item.quantity),
      input.items.map((item) => item.price.unitAmountMinor),
    ],
  );
}
