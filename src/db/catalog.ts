import type { PoolClient } from 'pg';
import type { PriceSnapshot } from '../domain/billing-types';
import type { BillingInterval } from '../domain/calendar';
import { snapshotPrice } from '../domain/catalog';

/**
 * The price a customer buys: an exact version (`priceId`) or a plan's current version (`planId`), with
 * the customer's override for that plan applied. null when nothing matches in the caller's tenant.
 */
export async function resolvePrice(
  db: PoolClient,
  target: { readonly customerId: string; readonly priceId?: string; readonly planId?: string },
): Promise<PriceSnapshot | null> {
  const { rows } = await db.query<{
    id: string;
    plan_id: string;
    version: number;
    currency: string;
    unit_amount_minor: number;
    billing_interval: BillingInterval;
    interval_count: number;
    product_id: string;
    product_name: string;
  }>(
    `SELECT pr.id, pr.plan_id, pr.version, pr.currency, pr.unit_amount_minor, pr.billing_interval, pr.interval_count,
            pl.product_id, products.name AS product_name
       FROM prices pr
       JOIN plans pl ON pl.tenant_id = pr.tenant_id AND pl.id = pr.plan_id
       JOIN products ON products.tenant_id = pl.tenant_id AND products.id = pl.product_id
      WHERE ($1::text IS NOT NULL AND pr.id = $1) OR ($1::text IS NULL AND pr.id = pl.current_price_id AND pl.id = $2)`,
    [target.priceId ?? null, target.planId ?? null],
  );
  const row = rows[0];
  if (!row) return null;
  const overrides = await db.query<{ id: string; currency: string; unit_amount_minor: number }>(
    'SELECT id, currency, unit_amount_minor FROM customer_price_overrides WHERE customer_id = $1 AND plan_id = $2',
    [target.customerId, row.plan_id],
  );
  const override = overrides.rows[0];
  return snapshotPrice(
    {
      priceId: row.id,
      planId: row.plan_id,
      productId: row.product_id,
      productName: row.product_name,
      version: row.version,
      currency: row.currency,
      unitAmountMinor: row.unit_amount_minor,
      recurrence: { interval: row.billing_interval, intervalCount: row.interval_count },
    },
    override === undefined
      ? null
      : {
          overrideId: override.id,
          customerId: target.customerId,
          planId: row.plan_id,
          currency: override.currency,
          unitAmountMinor: override.unit_amount_minor,
        },
  );
}

export async function hasDefaultPaymentMethod(db: PoolClient, customerId: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM customer_payment_profiles WHERE customer_id = $1 AND default_payment_method_id IS NOT NULL',
    [customerId],
  );
  return rows.length > 0;
}
