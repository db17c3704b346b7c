/** Database rows → API objects (Stripe-shaped: `id`, `object`, snake_case, ISO-8601 UTC instants). */

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

export interface ProductRow {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  metadata: Record<string, string>;
  created_at: Date;
  tax_category: string;
}
export const productResource = (row: ProductRow) => ({
  id: row.id,
  object: 'product' as const,
  name: row.name,
  description: row.description,
  tax_category: row.tax_category,
  active: row.active,
  metadata: row.metadata,
  created_at: iso(row.created_at),
});

export interface PlanRow {
  id: string;
  product_id: string;
  nickname: string | null;
  currency: string;
  /** The current price version's amount, copied onto the plan in the transaction that adds a version. */
  amount_minor: number;
  billing_interval: 'day' | 'week' | 'month' | 'year';
  interval_count: number;
  current_price_id: string | null;
  active: boolean;
  metadata: Record<string, string>;
  created_at: Date;
}
/** A plan row joined with its current price version's number (`current_price_version`). */
export type PlanWithPriceRow = PlanRow & { current_price_version?: number | null };
export const planResource = (row: PlanWithPriceRow) => ({
  id: row.id,
  object: 'plan' as const,
  product: row.product_id,
  nickname: row.nickname,
  currency: row.currency,
  amount: row.amount_minor,
  interval: row.billing_interval,
  interval_count: row.interval_count,
  current_price:
    row.current_price_id === null || row.current_price_id === undefined
      ? null
      : { id: row.current_price_id, version: row.current_price_version ?? null, amount: row.amount_minor },
  active: row.active,
  metadata: row.metadata,
  created_at: iso(row.created_at),
});

export interface PriceRow {
  id: string;
  plan_id: string;
  version: number;
  currency: string;
  unit_amount_minor: number;
  billing_interval: PlanRow['billing_interval'];
  interval_count: number;
  created_at: Date;
  tax_behavior: string;
}
/** One immutable version of a plan's price; `current` when the plan sells it to new subscriptions. */
export const priceResource = (
  row: PriceRow,
  currentPriceId: string | null,
  currencyOptions: Record<string, number> = {},
) => ({
  id: row.id,
  object: 'price' as const,
  plan: row.plan_id,
  version: row.version,
  currency: row.currency,
  amount: row.unit_amount_minor,
  tax_behavior: row.tax_behavior,
  currency_options: currencyOptions,
  interval: row.billing_interval,
  interval_count: row.interval_count,
  current: row.id === currentPriceId,
  created_at: iso(row.created_at),
});

export interface PriceOverrideRow {
  id: string;
  customer_id: string;
  plan_id: string;
  currency: string;
  unit_amount_minor: number;
  created_at: Date;
}
export const priceOverrideResource = (row: PriceOverrideRow) => ({
  id: row.id,
  object: 'price_override' as const,
  customer: row.customer_id,
  plan: row.plan_id,
  currency: row.currency,
  amount: row.unit_amount_minor,
  created_at: iso(row.created_at),
});

export interface PaymentProfileRow {
  customer_id: string;
  provider: string;
  provider_customer_id: string;
  default_payment_method_id: string | null;
  updated_at: Date;
}
export const paymentProfileResource = (row: PaymentProfileRow) => ({
  object: 'payment_profile' as const,
  customer: row.customer_id,
  provider: row.provider,
  provider_customer_id: row.provider_customer_id,
  default_payment_method: row.default_payment_method_id,
  updated_at: iso(row.updated_at),
});

export interface CustomerRow {
  id: string;
  external_id: string | null;
  email: string | null;
  name: string | null;
  metadata: Record<string, string>;
  created_at: Date;
  legal_name: string | null;
  address: Record<string, string> | null;
  tax_id_type: string | null;
  tax_id_value: string | null;
  tax_exempt_reason: string | null;
  tax_exempt_certificate: string | null;
  billing_currency: string | null;
}
export const customerResource = (row: CustomerRow) => ({
  id: row.id,
  object: 'customer' as const,
  external_id: row.external_id,
  email: row.email,
  name: row.name,
  legal_name: row.legal_name,
  address: row.address,
  tax_id: row.tax_id_type === null ? null : { type: row.tax_id_type, value: row.tax_id_value },
  tax_exempt:
    row.tax_exempt_reason === null
      ? null
      : { reason: row.tax_exempt_reason, certificate: row.tax_exempt_certificate },
  billing_currency: row.billing_currency,
  metadata: row.metadata,
  created_at: iso(row.created_at),
});

export interface SubscriptionRow {
  id: string;
  customer_id: string;
  plan_id: string;
  status: string;
  workflow_id: string;
  billing_anchor: Date;
  current_period_start: Date;
  current_period_end: Date;
  canceled_at: Date | null;
  cancellation_reason: string | null;
  metadata: Record<string, string>;
  created_at: Date;
}
export const subscriptionResource = (row: SubscriptionRow) => ({
  id: row.id,
  object: 'subscription' as const,
  customer: row.customer_id,
  plan: row.plan_id,
  status: row.status,
  billing_cycle_anchor: iso(row.billing_anchor),
  current_period_start: iso(row.current_period_start),
  current_period_end: iso(row.current_period_end),
  canceled_at: iso(row.canceled_at),
  cancellation_reason: row.cancellation_reason,
  metadata: row.metadata,
  created_at: iso(row.created_at),
  workflow_id: row.workflow_id,
});

export interface InvoiceRow {
  id: string;
  customer_id: string;
  subscription_id: string;
  status: string;
  currency: string;
  period_start: Date;
  period_end: Date;
  subtotal_minor: number;
  total_minor: number;
  created_at: Date;
}
export const invoiceResource = (row: InvoiceRow) => ({
  id: row.id,
  object: 'invoice' as const,
  customer: row.customer_id,
  subscription: row.subscription_id,
  status: row.status,
  currency: row.currency,
  period_start: iso(row.period_start),
  period_end: iso(row.period_end),
  subtotal: row.subtotal_minor,
  total: row.total_minor,
  created_at: iso(row.created_at),
});
