// Usage charges of a plan: POST /v1/plans/:id/charges, GET /v1/plans/:id/charges. A charge prices one
// meter with one price model; charges are immutable (a new price is a new charge on a new plan).
// Amounts are integer minor units; unit prices below one minor unit are decimal strings of minor
// units (`unit_amount_decimal: "0.04"` = 0.04 cents); quantities are integers or decimal strings.

import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { insertCharge, listPlanCharges, type ChargeRow } from '../../db/usage-charges';
import { format, dec, compare } from '../../domain/pricing/exact';
import { priceModelOf, type ChargePricing, type ChargeTier } from '../../domain/usage/usage-charge';
import { priceUsage } from '../../domain/pricing/price-models';
import { findMeter } from '../../usage/meter-repository';
import { tenantRead, tenantWrite } from '../handlers';
import { notFound, parseOrThrow, ProblemError } from '../problem';

const MAX_MINOR = Number.MAX_SAFE_INTEGER;
const AmountMinor = z.number().int('must be an integer amount in minor units').min(0).max(MAX_MINOR);
/** A decimal string of minor units, at most 12 fractional digits: '0.04', '12'. Never a JSON number. */
const DecimalMinor = z
  .string()
  .regex(/^\d{1,18}(\.\d{1,12})?$/, 'must be a decimal string of minor units, e.g. "0.04"')
  .transform((text) => format(dec(text)));
/** A quantity: a non-negative integer, or a decimal string (at most 18 fractional digits). */
const Quantity = z
  .union([
    z.number().int('must be an integer or a decimal string').min(0).max(MAX_MINOR),
    z.string().regex(/^\d{1,30}(\.\d{1,18})?$/, 'must be a non-negative decimal string, e.g. "2.5"'),
  ])
  .transform((value) => format(dec(String(value))));

/** A unit price: `unit_amount` (integer minor units) or `unit_amount_decimal`, exactly one. */
const unitPriceFields = {
  unit_amount: AmountMinor.optional(),
  unit_amount_decimal: DecimalMinor.optional(),
};
function exactlyOneUnitPrice(
  value: { unit_amount?: number | undefined; unit_amount_decimal?: string | undefined },
  ctx: z.RefinementCtx,
  path: (string | number)[],
): void {
  if ((value.unit_amount === undefined) === (value.unit_amount_decimal === undefined)) {
    ctx.addIssue({
      code: 'custom',
      path: [...path, 'unit_amount'],
      message: 'give exactly one of unit_amount (integer minor units) and unit_amount_decimal',
    });
  }
}

const Tier = z.strictObject({
  /** Inclusive upper bound of the tier; null on the last tier only. */
  up_to: z.union([Quantity, z.null()]),
  ...unitPriceFields,
  flat_amount: AmountMinor.optional(),
});

const Tiers = z
  .array(Tier)
  .min(1)
  .max(50)
  .superRefine((tiers, ctx) => {
    let previous: string | null = null;
    tiers.forEach((tier, index) => {
      exactlyOneUnitPrice(tier, ctx, [index]);
      const last = index === tiers.length - 1;
      if (last && tier.up_to !== null) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'up_to'],
          message: 'the last tier must be unbounded (null)',
        });
      }
      if (!last && tier.up_to === null) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'up_to'],
          message: 'only the last tier may be unbounded',
        });
      }
      if (tier.up_to !== null) {
        if (
          dec(tier.up_to).units === 0n ||
          (previous !== null && compare(dec(tier.up_to), dec(previous)) <= 0)
        ) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'up_to'],
            message: `must be above the previous tier's up_to (${previous ?? '0'})`,
          });
        }
        previous = tier.up_to;
      }
    });
  });

const common = {
  meter: z.string().regex(/^mtr_[0-9A-Za-z]{20}$/, 'must be a meter id (mtr_…)'),
  name: z.string().trim().min(1).max(200).optional(),
  /** Subset of the meter's group_by: one line (and one pricing) per combination. */
  group_by: z
    .array(z.string().min(1).max(200))
    .max(5)
    .refine((names) => new Set(names).size === names.length, 'must not repeat a property')
    .default([]),
  /** Units free each period (per group with group_by), before pricing. */
  included_quantity: Quantity.default('0'),
  /** Minimum commitment per period for the whole charge (a true-up line tops it up). */
  minimum_amount: AmountMinor.optional(),
};

const CreateChargeBody = z.discriminatedUnion('model', [
  z
    .strictObject({ ...common, model: z.literal('per_unit'), ...unitPriceFields })
    .superRefine((value, ctx) => exactlyOneUnitPrice(value, ctx, [])),
  z.strictObject({
    ...common,
    model: z.literal('package'),
    package_size: Quantity.refine((size) => dec(size).units > 0n, 'must be above 0'),
    package_amount: AmountMinor,
  }),
  z.strictObject({ ...common, model: z.literal('graduated'), tiers: Tiers }),
  z.strictObject({ ...common, model: z.literal('volume'), tiers: Tiers }),
  z.strictObject({ ...common, model: z.literal('flat'), amount: AmountMinor }),
]);
type CreateCharge = z.infer<typeof CreateChargeBody>;

const unitDecimal = (value: { unit_amount?: number | undefined; unit_amount_decimal?: string | undefined }) =>
  value.unit_amount_decimal ?? String(value.unit_amount ?? 0);

function pricingOf(body: CreateCharge): ChargePricing {
  switch (body.model) {
    case 'per_unit':
      return { model: 'per_unit', unit_amount_decimal: unitDecimal(body) };
    case 'package':
      return { model: 'package', package_size: body.package_size, package_amount: body.package_amount };
    case 'graduated':
    case 'volume':
      return {
        model: body.model,
        tiers: body.tiers.map((tier): ChargeTier => ({
          up_to: tier.up_to,
          unit_amount_decimal: unitDecimal(tier),
          ...(tier.flat_amount === undefined ? {} : { flat_amount: tier.flat_amount }),
        })),
      };
    case 'flat':
      return { model: 'flat', amount: body.amount };
  }
}

export const chargeResource = (row: ChargeRow) => ({
  id: row.id,
  object: 'plan_usage_charge' as const,
  plan: row.plan_id,
  meter: row.meter_id,
  name: row.name,
  currency: row.currency,
  ...row.pricing,
  group_by: row.group_by,
  included_quantity: row.included_quantity,
  minimum_amount: row.minimum_amount_minor === null ? null : Number(row.minimum_amount_minor),
  created_at: row.created_at.toISOString(),
});

/** Mount at /v1/plans/:planId/charges (before the /plans router). */
export function usageChargesRouter(pool: Pool): Router {
  const router = Router({ mergeParams: true });
  const planIdOf = (params: Record<string, unknown>) => String(params.planId);

  router.post(
    '/',
    tenantWrite(pool, async ({ req, db, auth }) => {
      const planId = planIdOf(req.params);
      const body = parseOrThrow(CreateChargeBody, req.body);
      const plan = await db.query<{ currency: string }>('SELECT currency FROM plans WHERE id = $1', [planId]);
      const currency = plan.rows[0]?.currency;
      if (currency === undefined) throw notFound('plan', planId);
      // A running subscription billed in another currency could not be charged for this usage.
      const converted = await db.query<{ subscription_id: string; currency: string }>(
        `SELECT i.subscription_id, s.currency FROM subscription_items i JOIN subscriptions s ON s.id = i.subscription_id
          WHERE i.plan_id = $1 AND s.currency <> $2 AND s.status NOT IN ('canceled', 'ended') LIMIT 1`,
        [planId, currency],
      );
      const clash = converted.rows[0];
      if (clash !== undefined) {
        throw new ProblemError(
          'unprocessable',
          `plan ${planId} is sold in ${currency}, but subscription ${clash.subscription_id} is billed in ${clash.currency}: its usage could not be charged; add the charge to a plan priced in ${clash.currency}`,
          { field: 'plan' },
        );
      }
      const meter = await findMeter(db, body.meter);
      if (meter === undefined) {
        throw new ProblemError('notFound', `No meter with id '${body.meter}'`, { field: 'meter' });
      }
      const index = body.group_by.findIndex((name) => !meter.group_by.includes(name));
      if (index >= 0) {
        throw new ProblemError(
          'validation',
          `group_by[${index}]: '${body.group_by[index] ?? ''}' is not one of the meter's group_by (${meter.group_by.join(', ') || 'none'})`,
          { field: `group_by[${index}]` },
        );
      }
      const pricing = pricingOf(body);
      // The stored pricing must price: the same code that bills checks it once, here.
      try {
        priceUsage({
          price: priceModelOf(pricing, currency),
          quantity: '1',
          currency,
          roundingMode: 'half_even',
        });
      } catch (error) {
        throw new ProblemError('validation', `model: ${(error as Error).message}`, { field: 'model' });
      }
      const row = await insertCharge(db, auth.tenantId, {
        planId,
        meterId: meter.id,
        name: body.name ?? meter.name,
        currency,
        pricing,
        includedQuantity: body.included_quantity,
        minimumAmountMinor: body.minimum_amount ?? null,
        groupBy: body.group_by,
      });
      return { status: 201, body: chargeResource(row) };
    }),
  );

  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const planId = planIdOf(req.params);
      const plan = await db.query('SELECT 1 FROM plans WHERE id = $1', [planId]);
      if (plan.rowCount === 0) throw notFound('plan', planId);
      const rows = await listPlanCharges(db, planId);
      return {
        status: 200,
        body: {
          object: 'list',
          url: `/v1/plans/${planId}/charges`,
          has_more: false,
          data: rows.map(chargeResource),
        },
      };
    }),
  );
  return router;
}
