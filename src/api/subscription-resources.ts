import type { PoolClient } from 'pg';
import { trimDecimal } from '../db/numeric-text';

// Stripe-shaped resources for subscriptions and invoices, read from the rows the workflow mirrors.

const iso = (value: Date | null): string | null => (value === null ? null : value.toISOString());

export interface SubscriptionDbRow {
  id: string;
  customer_id: string;
  plan_id: string;
  status: string;
  workflow_id: string;
  currency: string | null;
  billing_anchor: Date | null;
  current_period_start: Date | null;
  current_period_end: Date | null;
  trial_start: Date | null;
  trial_end: Date | null;
  cancel_at_period_end: boolean;
  canceled_at: Date | null;
  ended_at: Date | null;
  cancellation_reason: string | null;
  pause_behavior: string | null;
  paused_at: Date | null;
  resumes_at: Date | null;
  access_suspended: boolean;
  metadata: Record<string, string>;
  created_at: Date;
}

interface ItemDbRow {
  id: string;
  kind: string;
  price_id: string;
  plan_id: string;
  quantity: number;
  unit_amount_minor: number;
  version: number;
}

export async function subscriptionById(db: PoolClient, id: string) {
  const { rows } = await db.query<SubscriptionDbRow>('SELECT * FROM subscriptions WHERE id = $1', [id]);
  const row = rows[0];
  if (!row) return null;
  return { row, resource: await subscriptionResourceOf(db, row) };
}

export async function subscriptionResourceOf(db: PoolClient, row: SubscriptionDbRow) {
  const items = await db.query<ItemDbRow>(
    `SELECT i.id, i.kind, i.price_id, i.plan_id, i.quantity, i.unit_amount_minor, p.version
       FROM subscription_items i JOIN prices p ON p.tenant_id = i.tenant_id AND p.id = i.price_id
      WHERE i.subscription_id = $1 ORDER BY i.position`,
    [row.id],
  );
  return {
    id: row.id,
    object: 'subscription' as const,
    customer: row.customer_id,
    plan: row.plan_id,
    status: row.status,
    currency: row.currency,
    items: {
      object: 'list' as const,
      data: items.rows.map((item) => ({
        id: item.id,
        object: 'subscription_item' as const,
        kind: item.kind,
        price: {
          id: item.price_id,
          plan: item.plan_id,
          version: item.version,
          unit_amount: item.unit_amount_minor,
        },
        quantity: item.quantity,
      })),
    },
    billing_cycle_anchor: iso(row.billing_anchor),
    current_period_start: iso(row.current_period_start),
    current_period_end: iso(row.current_period_end),
    trial_start: iso(row.trial_start),
    trial_end: iso(row.trial_end),
    cancel_at_period_end: row.cancel_at_period_end,
    canceled_at: iso(row.canceled_at),
    ended_at: iso(row.ended_at),
    cancellation_reason: row.cancellation_reason,
    pause:
      row.pause_behavior === null
        ? null
        : { behavior: row.pause_behavior, paused_at: iso(row.paused_at), resumes_at: iso(row.resumes_at) },
    access_suspended: row.access_suspended,
    metadata: row.metadata,
    created_at: iso(row.created_at),
    workflow_id: row.workflow_id,
  };
}

export interface InvoiceDbRow {
  id: string;
  number: string | null;
  customer_id: string;
  subscription_id: string;
  status: string;
  billing_reason: string;
  currency: string;
  period_start: Date;
  period_end: Date;
  subtotal_minor: number;
  tax_minor: number;
  total_minor: number;
  credit_applied_minor: number;
  amount_due_minor: number;
  amount_paid_minor: number;
  attempt_count: number;
  issued_at: Date | null;
  finalized_at: Date | null;
  paid_at: Date | null;
  created_at: Date;
  /** pg returns a `date` as a local-midnight Date unless the query casts it to text. */
  tax_date: string | Date | null;
  legal_notes: string[];
  reporting_currency: string | null;
  fx_rate: string | null;
  fx_rate_source: string | null;
  fx_effective_at: Date | null;
  reporting_total_minor: number | null;
  reporting_tax_minor: number | null;
}

export const invoiceSummaryResource = (row: InvoiceDbRow) => ({
  id: row.id,
  object: 'invoice' as const,
  number: row.number,
  customer: row.customer_id,
  subscription: row.subscription_id,
  status: row.status,
  billing_reason: row.billing_reason,
  currency: row.currency,
  period_start: iso(row.period_start),
  period_end: iso(row.period_end),
  subtotal: row.subtotal_minor,
  tax: row.tax_minor,
  total: row.total_minor,
  tax_date:
    row.tax_date instanceof Date
      ? `${row.tax_date.getFullYear()}-${String(row.tax_date.getMonth() + 1).padStart(2, '0')}-${String(row.tax_date.getDate()).padStart(2, '0')}`
      : row.tax_date,
  legal_notes: row.legal_notes,
  reporting:
    row.reporting_currency === null
      ? null
      : {
          currency: row.reporting_currency,
          rate: row.fx_rate === null ? null : trimDecimal(row.fx_rate),
          rate_source: row.fx_rate_source,
          rate_effective_at: iso(row.fx_effective_at),
          total: row.reporting_total_minor,
          tax: row.reporting_tax_minor,
        },
  credit_applied: row.credit_applied_minor,
  amount_due: row.amount_due_minor,
  amount_paid: row.amount_paid_minor,
  amount_remaining: row.amount_due_minor - row.amount_paid_minor,
  attempt_count: row.attempt_count,
  issued_at: iso(row.issued_at),
  finalized_at: iso(row.finalized_at),
  paid_at: iso(row.paid_at),
  created_at: iso(row.created_at),
});

export async function invoiceById(db: PoolClient, id: string) {
  const { rows } = await db.query<InvoiceDbRow>(
    `SELECT *, tax_date::text AS tax_date, fx_rate::text AS fx_rate FROM invoices WHERE id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return null;
  const lines = await db.query<{
    id: string;
    kind: string;
    description: string;
    quantity: number;
    unit_amount_minor: number | null;
    amount_minor: number;
    period_start: Date;
    period_end: Date;
    price_id: string | null;
    proration_numerator: number | null;
    proration_denominator: number | null;
    net_amount_minor: number | null;
    tax_minor: number;
    tax_rate_label: string | null;
    tax_treatment: string | null;
    tax_behavior: string | null;
  }>(
    `SELECT id, kind, description, quantity, unit_amount_minor, amount_minor, period_start, period_end, price_id,
            proration_numerator, proration_denominator, net_amount_minor, tax_minor, tax_rate_label, tax_treatment,
            tax_behavior
       FROM invoice_lines WHERE invoice_id = $1 ORDER BY position`,
    [id],
  );
  const taxRows = await db.query<{
    jurisdiction: string;
    tax_name: string;
    rate_percent: string;
    rate_kind: string;
    treatment: string;
    taxable_minor: number;
    tax_minor: number;
  }>(
    `SELECT jurisdiction, tax_name, rate_percent::text AS rate_percent, rate_kind, treatment, taxable_minor, tax_minor
       FROM invoice_tax_lines WHERE invoice_id = $1 ORDER BY position`,
    [id],
  );
  const attempts = await db.query<{
    attempt: number;
    trigger: string;
    status: string;
    amount_minor: number;
    decline_code: string | null;
    attempted_at: Date;
  }>(
    `SELECT attempt, trigger, status, amount_minor, decline_code, attempted_at
       FROM payment_attempts WHERE invoice_id = $1 ORDER BY attempt`,
    [id],
  );
  return {
    row,
    resource: {
      ...invoiceSummaryResource(row),
      lines: {
        object: 'list' as const,
        data: lines.rows.map((line) => ({
          id: line.id,
          kind: line.kind,
          description: line.description,
          quantity: line.quantity,
          unit_amount: line.unit_amount_minor,
          amount: line.amount_minor,
          period: { start: iso(line.period_start), end: iso(line.period_end) },
          price: line.price_id,
          tax: {
            behavior: line.tax_behavior ?? 'exclusive',
            net_amount: line.net_amount_minor ?? line.amount_minor,
            amount: line.tax_minor,
            rate: line.tax_rate_label,
            treatment: line.tax_treatment,
          },
          proration:
            line.proration_numerator === null
              ? null
              : { unused_units: line.proration_numerator, period_units: line.proration_denominator },
        })),
      },
      tax_summary: taxRows.rows.map((tax) => ({
        jurisdiction: tax.jurisdiction,
        tax_name: tax.tax_name,
        rate_percent: trimDecimal(tax.rate_percent),
        rate_kind: tax.rate_kind,
        treatment: tax.treatment,
        taxable_amount: tax.taxable_minor,
        tax_amount: tax.tax_minor,
      })),
      payment_attempts: attempts.rows.map((attempt) => ({
        attempt: attempt.attempt,
        trigger: attempt.trigger,
        status: attempt.status,
        amount: attempt.amount_minor,
        decline_code: attempt.decline_code,
        attempted_at: iso(attempt.attempted_at),
      })),
    },
  };
}
