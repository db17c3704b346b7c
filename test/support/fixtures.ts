import type { Pool } from 'pg';
import { newId, randomBase62 } from '../../src/db/ids';
import { insertSubscription } from '../../src/db/subscriptions';
import { withTenant } from '../../src/db/with-tenant';
import type { BillingAlignment, BillingSettings, PriceSnapshot } from '../../src/domain/billing-types';
import type { Recurrence } from '../../src/domain/calendar';
import {
  subscriptionWorkflowId,
  type SubscriptionWorkflowInput,
  type TrialEndBehavior,
} from '../../src/workflows/contracts';
import { initialSubscriptionInput } from '../../src/workflows/subscription-state';

export interface SeededSubscription {
  readonly workflowId: string;
  readonly input: SubscriptionWorkflowInput;
  readonly customerId: string;
  /** The customer at the (test) payment provider; null when seeded without a payment method. */
  readonly providerCustomerId: string | null;
  readonly planId: string;
  readonly priceId: string;
}

export interface SeedOptions {
  readonly createdAt: string;
  readonly amountMinor: number;
  readonly currency?: string;
  readonly recurrence: Recurrence;
  readonly trialEnd?: string | null;
  readonly trialEndBehavior?: TrialEndBehavior;
  /** Default 'pm_card_visa'; null = a customer without a payment method. */
  readonly paymentMethod?: string | null;
  readonly quantity?: number;
  readonly productName?: string;
  readonly alignment?: BillingAlignment;
}

/** A product, plan and price version 1 in the catalog, as POST /v1/plans writes them. */
export async function seedPlanPrice(
  pool: Pool,
  tenantId: string,
  options: { amountMinor: number; currency?: string; recurrence: Recurrence; productName?: string },
): Promise<PriceSnapshot> {
  const productId = newId('product');
  const planId = newId('plan');
  const priceId = newId('price');
  const currency = options.currency ?? 'USD';
  const productName = options.productName ?? 'Pro';
  await withTenant(pool, tenantId, async (db) => {
    await db.query('INSERT INTO products (id, tenant_id, name) VALUES ($1, $2, $3)', [
      productId,
      tenantId,
      productName,
    ]);
    await db.query(
      `INSERT INTO plans (id, tenant_id, product_id, currency, amount_minor, billing_interval, interval_count,
                          current_price_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        planId,
        tenantId,
        productId,
        currency,
        options.amountMinor,
        options.recurrence.interval,
        options.recurrence.intervalCount,
        priceId,
      ],
    );
    await db.query(
      `INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval, interval_count)
       VALUES ($1, $2, $3, 1, $4, $5, $6, $7)`,
      [
        priceId,
        tenantId,
        planId,
        currency,
        options.amountMinor,
        options.recurrence.interval,
        options.recurrence.intervalCount,
      ],
    );
  });
  return {
    priceId,
    planId,
    productId,
    productName,
    version: 1,
    currency,
    unitAmountMinor: options.amountMinor,
    recurrence: options.recurrence,
  };
}

/**
 * Writes the catalog, a customer (with a payment profile unless paymentMethod is null), and the
 * subscription row and items the way POST /v1/subscriptions does, and returns the workflow input, so
 * workflow tests exercise the same rows the API would create.
 */
export async function seedSubscription(
  pool: Pool,
  tenantId: string,
  options: SeedOptions,
): Promise<SeededSubscription> {
  const price = await seedPlanPrice(pool, tenantId, options);
  const customerId = newId('customer');
  const subscriptionId = newId('subscription');
  const workflowId = subscriptionWorkflowId(tenantId, subscriptionId);
  const paymentMethod = options.paymentMethod === undefined ? 'pm_card_visa' : options.paymentMethod;
  const providerCustomerId = paymentMethod === null ? null : `cus_fake_${randomBase62(12)}`;
  const input = initialSubscriptionInput({
    tenantId,
    subscriptionId,
    customerId,
    items: [{ itemId: newId('subscriptionItem'), kind: 'plan', price, quantity: options.quantity ?? 1 }],
    createdAt: options.createdAt,
    trialEnd: options.trialEnd ?? null,
    ...(options.trialEndBehavior === undefined ? {} : { trialEndBehavior: options.trialEndBehavior }),
    ...(options.alignment === undefined ? {} : { alignment: options.alignment }),
    hasPaymentMethod: paymentMethod !== null,
  });
  await withTenant(pool, tenantId, async (db) => {
    await db.query('INSERT INTO customers (id, tenant_id, email) VALUES ($1, $2, $3)', [
      customerId,
      tenantId,
      'c@example.com',
    ]);
    if (providerCustomerId !== null) {
      await db.query(
        `INSERT INTO customer_payment_profiles (tenant_id, customer_id, provider, provider_customer_id,
                                                default_payment_method_id)
         VALUES ($1, $2, 'stripe', $3, $4)`,
        [tenantId, customerId, providerCustomerId, paymentMethod],
      );
    }
    await insertSubscription(db, input, workflowId);
  });
  return { workflowId, input, customerId, providerCustomerId, planId: price.planId, priceId: price.priceId };
}

export async function setBillingSettings(
  pool: Pool,
  tenantId: string,
  settings: BillingSettings,
): Promise<void> {
  await withTenant(pool, tenantId, async (db) => {
    await db.query(
      `INSERT INTO tenant_billing_settings (tenant_id, proration_granularity, rounding_mode, dunning_policy, trial_reminder_days)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id) DO UPDATE SET proration_granularity = EXCLUDED.proration_granularity,
         rounding_mode = EXCLUDED.rounding_mode, dunning_policy = EXCLUDED.dunning_policy,
         trial_reminder_days = EXCLUDED.trial_reminder_days, updated_at = now()`,
      [
        tenantId,
        settings.prorationGranularity,
        settings.roundingMode,
        JSON.stringify(settings.dunning),
        settings.trialReminderDays,
      ],
    );
  });
}

/** Sets (or clears) the customer's default payment method, creating the payment profile if needed. */
export async function setPaymentMethod(
  pool: Pool,
  tenantId: string,
  customerId: string,
  paymentMethodId: string | null,
): Promise<void> {
  await withTenant(pool, tenantId, async (db) => {
    await db.query(
      `INSERT INTO customer_payment_profiles (tenant_id, customer_id, provider, provider_customer_id, default_payment_method_id)
       VALUES ($1, $2, 'stripe', $3, $4)
       ON CONFLICT (tenant_id, customer_id, provider) DO UPDATE
         SET default_payment_method_id = EXCLUDED.default_payment_method_id, updated_at = now()`,
      [tenantId, customerId, `cus_fake_${randomBase62(12)}`, paymentMethodId],
    );
  });
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
    const { rows } = await db.query<{
      status: string;
      current_period_start: Date | null;
      canceled_at: Date | null;
    }>('SELECT status, current_period_start, canceled_at FROM subscriptions WHERE id = $1', [subscriptionId]);
    return rows[0];
  });
}
