// What a plan grants: boolean feature flags and metered allowances (docs/api.md, "Entitlements and
// quotas"). Mounted at /v1/plans/:id/features. Entitlements read these rows at request time, so a
// change applies to every subscription of the plan at once.

import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import {
  deletePlanFeature,
  listPlanFeatures,
  upsertPlanFeature,
  type PlanFeatureRow,
} from '../../db/entitlements';
import { dec, format } from '../../domain/pricing/exact';
import { ENFORCEMENTS } from '../../domain/usage/entitlements';
import { tenantRead, tenantWrite } from '../handlers';
import { notFound, parseOrThrow, ProblemError } from '../problem';

export interface PlanFeatureRouteDeps {
  readonly pool: Pool;
  /** Called after a feature of the tenant changed (the threshold watcher reloads its filter). */
  readonly onChange?: (tenantId: string) => void;
}

export const FeatureKey = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.:-]{0,99}$/,
    'must be 1..100 of a-z 0-9 _ . : - (starting with a letter or digit)',
  );

/** An exact limit: a non-negative integer, or a decimal string ("2.5"); JSON fractions are refused. */
export const DecimalLimit = z
  .union(
    [z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().regex(/^\d{1,30}(\.\d{1,18})?$/)],
    { error: 'must be a non-negative integer or a decimal string like "1000" or "2.5"' },
  )
  .transform((value) => format(dec(String(value))));

const CreateFeatureBody = z.discriminatedUnion(
  'kind',
  [
    z.strictObject({ feature: FeatureKey, kind: z.literal('boolean') }),
    z.strictObject({
      feature: FeatureKey,
      kind: z.literal('metered'),
      /** The meter whose aggregate over the subscription's billing period is limited. */
      meter: z.string().regex(/^mtr_[0-9A-Za-z]{20}$/, 'must be a mtr_… id'),
      limit: DecimalLimit,
      period: z.literal('billing_period').default('billing_period'),
      enforcement: z.enum(ENFORCEMENTS).default('hard'),
    }),
  ],
  { error: "must be 'boolean' or 'metered'" },
);

export const planFeatureResource = (row: PlanFeatureRow) => ({
  object: 'plan_feature' as const,
  plan: row.plan_id,
  feature: row.feature,
  kind: row.kind,
  ...(row.kind === 'metered'
    ? { meter: row.meter_id, limit: row.limit_value, period: row.period, enforcement: row.enforcement }
    : {}),
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

async function requirePlan(db: PoolClient, planId: string): Promise<void> {
  const { rows } = await db.query('SELECT 1 FROM plans WHERE id = $1', [planId]);
  if (rows.length === 0) throw notFound('plan', planId);
}

export function planFeaturesRouter({ pool, onChange }: PlanFeatureRouteDeps): Router {
  const router = Router({ mergeParams: true });
  const planIdOf = (params: unknown): string => String((params as { id?: unknown }).id);

  /** Creates the feature on the plan, or replaces its definition (201 created, 200 replaced). */
  router.post(
    '/',
    tenantWrite(pool, async ({ req, db, auth }) => {
      const body = parseOrThrow(CreateFeatureBody, req.body);
      const planId = planIdOf(req.params);
      await requirePlan(db, planId);
      if (body.kind === 'metered') {
        const { rows } = await db.query('SELECT 1 FROM meters WHERE id = $1', [body.meter]);
        if (rows.length === 0) {
          throw new ProblemError('notFound', `No meter with id '${body.meter}'`, { field: 'meter' });
        }
      }
      const written = await upsertPlanFeature(
        db,
        auth.tenantId,
        planId,
        body.kind === 'boolean'
          ? { feature: body.feature, kind: 'boolean' }
          : {
              feature: body.feature,
              kind: 'metered',
              meterId: body.meter,
              limit: body.limit,
              period: body.period,
              enforcement: body.enforcement,
            },
      );
      if (!written.ok) {
        throw new ProblemError('conflict', written.message, {
          field: written.code === 'kind_conflict' ? 'kind' : 'meter',
        });
      }
      onChange?.(auth.tenantId);
      return { status: written.created ? 201 : 200, body: planFeatureResource(written.row) };
    }),
  );

  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const planId = planIdOf(req.params);
      await requirePlan(db, planId);
      const rows = await listPlanFeatures(db, planId);
      return {
        status: 200,
        body: {
          object: 'list',
          url: `/v1/plans/${planId}/features`,
          has_more: false,
          data: rows.map(planFeatureResource),
        },
      };
    }),
  );

  router.delete(
    '/:feature',
    tenantWrite(pool, async ({ req, db, auth }) => {
      const planId = planIdOf(req.params);
      const feature = String(req.params.feature);
      await requirePlan(db, planId);
      if (!(await deletePlanFeature(db, planId, feature))) {
        throw new ProblemError('notFound', `Plan ${planId} has no feature '${feature}'`, {
          field: 'feature',
        });
      }
      onChange?.(auth.tenantId);
      return { status: 200, body: { object: 'plan_feature', plan: planId, feature, deleted: true } };
    }),
  );
  return router;
}
