// Plan features, the grants a customer's live subscriptions give, usage threshold crossings and
// free-to-paid conversions. Every function takes a tenant-scoped transaction (withTenant): row-level
// security keeps each query inside the caller's tenant.

import type { PoolClient } from 'pg';
import { format, dec } from '../domain/pricing/exact';
import {
  conversionOf,
  ENTITLED_STATUSES,
  type Conversion,
  type Enforcement,
  type FeatureGrant,
  type FeatureKind,
} from '../domain/usage/entitlements';
import type { UsageThreshold } from '../domain/usage/thresholds';
import type { SubscriptionMirror } from '../activities/contracts';
import { randomBase62 } from './ids';
import { insertOutboxEvents } from './outbox';

export interface PlanFeatureRow {
  readonly plan_id: string;
  readonly feature: string;
  readonly kind: FeatureKind;
  readonly meter_id: string | null;
  /** numeric comes back as text: exact. */
  readonly limit_value: string | null;
  readonly period: 'billing_period' | null;
  readonly enforcement: Enforcement | null;
  readonly created_at: Date;
  readonly updated_at: Date;
}

export type PlanFeatureInput =
  | { readonly feature: string; readonly kind: 'boolean' }
  | {
      readonly feature: string;
      readonly kind: 'metered';
      readonly meterId: string;
      readonly limit: string;
      readonly period: 'billing_period';
      readonly enforcement: Enforcement;
    };

export type PlanFeatureWrite =
  | { readonly ok: true; readonly row: PlanFeatureRow; readonly created: boolean }
  | { readonly ok: false; readonly code: 'kind_conflict' | 'meter_conflict'; readonly message: string };

/**
 * Creates or replaces one feature of a plan. A key must mean the same on every plan of the tenant
 * (kind, and meter for metered ones) so that grants from several plans merge; the key is locked with
 * an advisory lock for the check, so two plans cannot race into disagreeing definitions.
 */
export async function upsertPlanFeature(
  db: PoolClient,
  tenantId: string,
  planId: string,
  input: PlanFeatureInput,
): Promise<PlanFeatureWrite> {
  await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`plan_feature:${tenantId}:${input.feature}`]);
  const { rows: others } = await db.query<{ plan_id: string; kind: FeatureKind; meter_id: string | null }>(
    'SELECT plan_id, kind, meter_id FROM plan_features WHERE feature = $1 AND plan_id <> $2 LIMIT 1',
    [input.feature, planId],
  );
  const other = others[0];
  const meterId = input.kind === 'metered' ? input.meterId : null;
  if (other !== undefined && other.kind !== input.kind) {
    return {
      ok: false,
      code: 'kind_conflict',
      message: `feature '${input.feature}' is ${other.kind} on plan ${other.plan_id}; a key has one kind across plans`,
    };
  }
  if (other !== undefined && other.meter_id !== meterId) {
    return {
      ok: false,
      code: 'meter_conflict',
      message: `feature '${input.feature}' is metered by ${other.meter_id ?? '(none)'} on plan ${other.plan_id}; a key has one meter across plans`,
    };
  }
  const metered = input.kind === 'metered' ? input : null;
  const { rows } = await db.query<PlanFeatureRow & { inserted: boolean }>(
    `INSERT INTO plan_features (tenant_id, plan_id, feature, kind, meter_id, limit_value, period, enforcement)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, plan_id, feature) DO UPDATE
       SET kind = EXCLUDED.kind, meter_id = EXCLUDED.meter_id, limit_value = EXCLUDED.limit_value,
           period = EXCLUDED.period, enforcement = EXCLUDED.enforcement, updated_at = now()
     RETURNING plan_id, feature, kind, meter_id, limit_value::text AS limit_value, period, enforcement,
               created_at, updated_at, (xmax = 0) AS inserted`,
    [
      tenantId,
      planId,
      input.feature,
      input.kind,
      meterId,
      metered?.limit ?? null,
      metered?.period ?? null,
      metered?.enforcement ?? null,
    ],
  );
  const { inserted, ...row } = rows[0] as PlanFeatureRow & { inserted: boolean };
  return { ok: true, row: normalized(row), created: inserted };
}

function normalized(row: PlanFeatureRow): PlanFeatureRow {
  return row.limit_value === null ? row : { ...row, limit_value: format(dec(row.limit_value)) };
}

const FEATURE_COLUMNS = `plan_id, feature, kind, meter_id, limit_value::text AS limit_value, period, enforcement,
                         created_at, updated_at`;

export async function listPlanFeatures(db: PoolClient, planId: string): Promise<PlanFeatureRow[]> {
  const { rows } = await db.query<PlanFeatureRow>(
    `SELECT ${FEATURE_COLUMNS} FROM plan_features WHERE plan_id = $1 ORDER BY feature`,
    [planId],
  );
  return rows.map(normalized);
}

export async function deletePlanFeature(db: PoolClient, planId: string, feature: string): Promise<boolean> {
  const result = await db.query('DELETE FROM plan_features WHERE plan_id = $1 AND feature = $2', [
    planId,
    feature,
  ]);
  return (result.rowCount ?? 0) > 0;
}

/** A grant plus what the threshold watcher needs to reach the workflow. */
export interface CustomerGrant extends FeatureGrant {
  readonly workflowId: string;
}

/**
 * Every feature the customer's live subscriptions grant, one row per (subscription item, feature):
 * trialing, active or past_due, and not suspended by dunning. One indexed query, read at request time
 * (no cache), so a plan change is visible the moment the activity that persists it commits.
 * `onlyFeature` narrows it to one key (the check endpoint); `onlyMetered` to metered ones.
 */
export async function customerGrants(
  db: PoolClient,
  customerId: string,
  options: { readonly onlyFeature?: string; readonly onlyMetered?: boolean } = {},
): Promise<CustomerGrant[]> {
  const { rows } = await db.query<{
    subscription_id: string;
    workflow_id: string;
    plan_id: string;
    feature: string;
    kind: FeatureKind;
    meter_id: string | null;
    limit_value: string | null;
    enforcement: Enforcement | null;
    period_start: Date | null;
    period_end: Date | null;
  }>(
    `SELECT s.id AS subscription_id, s.workflow_id, f.plan_id, f.feature, f.kind, f.meter_id,
            f.limit_value::text AS limit_value, f.enforcement,
            s.current_period_start AS period_start, s.current_period_end AS period_end
       FROM subscriptions s
       JOIN subscription_items i ON i.tenant_id = s.tenant_id AND i.subscription_id = s.id
       JOIN plan_features f ON f.tenant_id = i.tenant_id AND f.plan_id = i.plan_id
      WHERE s.customer_id = $1 AND s.status = ANY($2::text[]) AND NOT s.access_suspended
        AND ($3::text IS NULL OR f.feature = $3) AND (NOT $4 OR f.kind = 'metered')
      ORDER BY f.feature, s.id, i.position`,
    [customerId, ENTITLED_STATUSES, options.onlyFeature ?? null, options.onlyMetered === true],
  );
  return rows.map((row) => ({
    subscriptionId: row.subscription_id,
    workflowId: row.workflow_id,
    planId: row.plan_id,
    feature: row.feature,
    kind: row.kind,
    meterId: row.meter_id,
    limit: row.limit_value,
    enforcement: row.enforcement,
    periodStart: row.period_start?.toISOString() ?? null,
    periodEnd: row.period_end?.toISOString() ?? null,
  }));
}

/** The event names of the meters behind the tenant's metered features (the watcher's filter). */
export async function meteredEventNames(db: PoolClient): Promise<Set<string>> {
  const { rows } = await db.query<{ event_name: string }>(
    `SELECT DISTINCT m.event_name FROM plan_features f
       JOIN meters m ON m.tenant_id = f.tenant_id AND m.id = f.meter_id
      WHERE f.kind = 'metered'`,
  );
  return new Set(rows.map((row) => row.event_name));
}

// ---------------------------------------------------------------------------------------------------
// Threshold crossings

export interface CrossingRow {
  readonly subscriptionId: string;
  readonly workflowId: string;
  readonly customerId: string;
  readonly feature: string;
  readonly meterId: string;
  readonly threshold: UsageThreshold;
  readonly used: string;
  readonly limit: string;
  readonly periodStart: string;
  readonly periodEnd: string;
  readonly reachedAt: string;
}

/**
 * Records the crossing and its `usage.threshold_reached` outbox event in the caller's transaction,
 * exactly once per (subscription, feature, period, threshold, limit): false when recorded before.
 */
export async function recordCrossing(db: PoolClient, tenantId: string, c: CrossingRow): Promise<boolean> {
  const inserted = await db.query(
    `INSERT INTO usage_threshold_crossings (tenant_id, subscription_id, feature, period_start, period_end,
                                            threshold, customer_id, meter_id, used_value, limit_value, reached_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT DO NOTHING`,
    [
      tenantId,
      c.subscriptionId,
      c.feature,
      c.periodStart,
      c.periodEnd,
      c.threshold,
      c.customerId,
      c.meterId,
      c.used,
      c.limit,
      c.reachedAt,
    ],
  );
  if ((inserted.rowCount ?? 0) === 0) return false;
  await insertOutboxEvents(db, tenantId, [
    {
      type: 'usage.threshold_reached',
      idempotencyKey: `usage_threshold:${c.subscriptionId}:${c.feature}:${c.periodStart}:${c.threshold}:${c.limit}`,
      occurredAt: c.reachedAt,
      subscriptionId: c.subscriptionId,
      customerId: c.customerId,
      emailCustomer: false,
      data: {
        customer: c.customerId,
        subscription: c.subscriptionId,
        feature: c.feature,
        meter: c.meterId,
        threshold: c.threshold,
        used: c.used,
        limit: c.limit,
        period: { start: c.periodStart, end: c.periodEnd },
      },
    },
  ]);
  return true;
}

/** Crossings of the customer the workflow has not been told about yet (a failed or lost signal). */
export async function unsignaledCrossings(db: PoolClient, customerId: string): Promise<CrossingRow[]> {
  const { rows } = await db.query<{
    subscription_id: string;
    workflow_id: string;
    customer_id: string;
    feature: string;
    meter_id: string;
    threshold: UsageThreshold;
    used_value: string;
    limit_value: string;
    period_start: Date;
    period_end: Date;
    reached_at: Date;
  }>(
    `SELECT c.subscription_id, s.workflow_id, c.customer_id, c.feature, c.meter_id, c.threshold,
            c.used_value::text AS used_value, c.limit_value::text AS limit_value, c.period_start,
            c.period_end, c.reached_at
       FROM usage_threshold_crossings c
       JOIN subscriptions s ON s.tenant_id = c.tenant_id AND s.id = c.subscription_id
      WHERE c.customer_id = $1 AND c.signaled_at IS NULL
      ORDER BY c.reached_at, c.threshold
      LIMIT 100`,
    [customerId],
  );
  return rows.map((row) => ({
    subscriptionId: row.subscription_id,
    workflowId: row.workflow_id,
    customerId: row.customer_id,
    feature: row.feature,
    meterId: row.meter_id,
    threshold: row.threshold,
    used: format(dec(row.used_value)),
    limit: format(dec(row.limit_value)),
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    reachedAt: row.reached_at.toISOString(),
  }));
}

export async function markSignaled(
  db: PoolClient,
  c: Pick<CrossingRow, 'subscriptionId' | 'feature' | 'periodStart' | 'threshold' | 'limit'>,
): Promise<void> {
  await db.query(
    `UPDATE usage_threshold_crossings SET signaled_at = now()
      WHERE subscription_id = $1 AND feature = $2 AND period_start = $3 AND threshold = $4
        AND limit_value = $5 AND signaled_at IS NULL`,
    [c.subscriptionId, c.feature, c.periodStart, c.threshold, c.limit],
  );
}

// ---------------------------------------------------------------------------------------------------
// Free-to-paid conversions

/**
 * Called by recordSubscriptionState before it overwrites the row: compares the persisted plan item and
 * status with the mirror and records a conversion (+ `subscription.converted` outbox event) in the same
 * transaction. Locks the subscription row (the UPDATE that follows would anyway). Idempotent: a retried
 * activity sees the already-persisted state (no change, nothing recorded), and the unique keys of
 * plan_conversions make a repeat a no-op.
 */
export async function recordConversionIfAny(
  db: PoolClient,
  mirror: SubscriptionMirror,
): Promise<Conversion | null> {
  const plan = mirror.items.find((item) => item.kind === 'plan');
  if (plan === undefined || plan.price.unitAmountMinor <= 0) return null;
  const { rows } = await db.query<{
    status: string;
    customer_id: string;
    trial_start: Date | null;
    plan_id: string | null;
    price_id: string | null;
    unit_amount_minor: string | null;
  }>(
    `SELECT s.status, s.customer_id, s.trial_start, i.plan_id, i.price_id, i.unit_amount_minor
       FROM subscriptions s
       LEFT JOIN subscription_items i
              ON i.tenant_id = s.tenant_id AND i.subscription_id = s.id AND i.kind = 'plan'
      WHERE s.id = $1
        FOR UPDATE OF s`,
    [mirror.subscriptionId],
  );
  const row = rows[0];
  if (row === undefined || row.plan_id === null || row.price_id === null || row.unit_amount_minor === null) {
    return null;
  }
  const conversion = conversionOf(
    {
      status: row.status,
      planId: row.plan_id,
      priceId: row.price_id,
      unitAmountMinor: Number(row.unit_amount_minor),
    },
    {
      status: mirror.status,
      planId: plan.price.planId,
      priceId: plan.price.priceId,
      unitAmountMinor: plan.price.unitAmountMinor,
    },
    row.trial_start !== null || mirror.trialStart !== null,
  );
  if (conversion === null) return null;
  const id = `conv_${randomBase62(20)}`;
  const { rows: inserted } = await db.query<{ converted_at: Date }>(
    `INSERT INTO plan_conversions (id, tenant_id, customer_id, subscription_id, kind, from_plan_id, from_price_id,
                                   from_unit_amount_minor, to_plan_id, to_price_id, to_unit_amount_minor,
                                   currency, converted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, now())
     ON CONFLICT DO NOTHING
     RETURNING converted_at`,
    [
      id,
      mirror.tenantId,
      row.customer_id,
      mirror.subscriptionId,
      conversion.kind,
      conversion.from.planId,
      conversion.from.priceId,
      conversion.from.unitAmountMinor,
      conversion.to.planId,
      conversion.to.priceId,
      conversion.to.unitAmountMinor,
      plan.price.currency,
    ],
  );
  const convertedAt = inserted[0]?.converted_at;
  if (convertedAt === undefined) return null;
  await insertOutboxEvents(db, mirror.tenantId, [
    {
      type: 'subscription.converted',
      idempotencyKey: `subscription_converted:${id}`,
      occurredAt: convertedAt.toISOString(),
      subscriptionId: mirror.subscriptionId,
      customerId: row.customer_id,
      emailCustomer: false,
      data: {
        conversion: id,
        kind: conversion.kind,
        customer: row.customer_id,
        subscription: mirror.subscriptionId,
        from: {
          plan: conversion.from.planId,
          price: conversion.from.priceId,
          unit_amount: conversion.from.unitAmountMinor,
        },
        to: {
          plan: conversion.to.planId,
          price: conversion.to.priceId,
          unit_amount: conversion.to.unitAmountMinor,
        },
        currency: plan.price.currency,
        converted_at: convertedAt.toISOString(),
      },
    },
  ]);
  return conversion;
}

export interface ConversionCount {
  readonly kind: 'plan_change' | 'trial';
  readonly fromPlanId: string;
  readonly toPlanId: string;
  readonly count: number;
}

/** Conversions in [from, to) per (kind, from plan, to plan), most frequent first. */
export async function conversionCounts(
  db: PoolClient,
  fromIso: string,
  toIso: string,
): Promise<ConversionCount[]> {
  const { rows } = await db.query<{
    kind: 'plan_change' | 'trial';
    from_plan_id: string;
    to_plan_id: string;
    count: string;
  }>(
    `SELECT kind, from_plan_id, to_plan_id, count(*) AS count
       FROM plan_conversions
      WHERE converted_at >= $1 AND converted_at < $2
      GROUP BY kind, from_plan_id, to_plan_id
      ORDER BY count(*) DESC, kind, from_plan_id, to_plan_id`,
    [fromIso, toIso],
  );
  return rows.map((row) => ({
    kind: row.kind,
    fromPlanId: row.from_plan_id,
    toPlanId: row.to_plan_id,
    count: Number(row.count),
  }));
}
