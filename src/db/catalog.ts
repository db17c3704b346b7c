import type { PoolClient } from 'pg';
import type { PriceSnapshot } from '../domain/billing-types';
import type { BillingInterval } from '../domain/calendar';
import { inBillingCurrency, snapshotPrice } from '../domain/catalog';
import type { RoundingMode } from '../domain/rounding';
import { fxRateAt } from './tax-context';

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
  const snapshot = snapshotPrice(
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
  return inCustomersCurrency(db, target.customerId, snapshot);
}

/**
 * The snapshot in the customer's billing currency (see inBillingCurrency). Throws PriceCurrencyError
 * when neither a price-book amount nor an FX rate exists, so the API can name what is missing.
 */
async function inCustomersCurrency(
  db: PoolClient,
  customerId: string,
  snapshot: PriceSnapshot,
): Promise<PriceSnapshot> {
  const { rows } = await db.query<{ billing_currency: string | null; rounding_mode: RoundingMode | null }>(
    `SELECT c.billing_currency, s.rounding_mode
       FROM customers c LEFT JOIN tenant_billing_settings s ON s.tenant_id = c.tenant_id
      WHERE c.id = $1`,
    [customerId],
  );
  const billingCurrency = rows[0]?.billing_currency ?? null;
  if (billingCurrency === null || billingCurrency === snapshot.currency) return snapshot;
  // Usage charges are priced in the plan's currency only: a subscription billed in another one would
  // have its usage left unbilled, so it is refused rather than sold.
  const charged = await db.query('SELECT 1 FROM plan_usage_charges WHERE plan_id = $1 LIMIT 1', [
    snapshot.planId,
  ]);
  if (charged.rows.length > 0) {
    throw new PriceCurrencyError(
      `plan ${snapshot.planId} has usage charges priced in ${snapshot.currency}, and this customer is billed in ${billingCurrency}`,
      `bill the customer in ${snapshot.currency}, or sell a plan priced in ${billingCurrency}`,
    );
  }
  const option = await db.query<{ unit_amount_minor: number }>(
    'SELECT unit_amount_minor FROM price_currency_options WHERE price_id = $1 AND currency = $2',
    [snapshot.priceId, billingCurrency],
  );
  const rate = await fxRateAt(db, snapshot.currency, billingCurrency, new Date().toISOString());
  try {
    return inBillingCurrency(snapshot, billingCurrency, {
      currencyOptionMinor: option.rows[0]?.unit_amount_minor ?? null,
      rate,
      roundingMode: rows[0]?.rounding_mode ?? 'half_even',
    });
  } catch (error) {
    throw new PriceCurrencyError((error as Error).message);
  }
}

export class PriceCurrencyError extends Error {
  override readonly name = 'PriceCurrencyError';
  constructor(
    message: string,
    /** What the caller can do about it. */
    readonly hint = 'upload a rate with POST /v1/fx_rates',
  ) {
    super(message);
  }
}

export async function hasDefaultPaymentMethod(db: PoolClient, customerId: string): Promise<boolean> {
  const { rows } = await db.query(
    'SELECT 1 FROM customer_payment_profiles WHERE customer_id = $1 AND default_payment_method_id IS NOT NULL',
    [customerId],
  );
  return rows.length > 0;
}
