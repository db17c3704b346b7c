import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { newId } from '../../db/ids';
import { isBillableCurrency } from '../../domain/money';
import { TAX_BEHAVIORS, TAX_CATEGORIES } from '../../domain/tax/types';
import { tenantRead, tenantWrite } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import {
  planResource,
  priceResource,
  productResource,
  type PlanRow,
  type PlanWithPriceRow,
  type PriceRow,
  type ProductRow,
} from '../resources';
import {
  AmountMinor,
  BillingInterval,
  Currency,
  idOf,
  ListQuery,
  MAX_INTERVAL_COUNT,
  Metadata,
} from '../schemas';

/** Shared by a plan's first price and its later versions. */
const PriceTaxFields = {
  /** `inclusive`: the amount already contains the tax (B2C pricing in the EU); default `exclusive`. */
  tax_behavior: z.enum(TAX_BEHAVIORS).default('exclusive'),
  /** The same price in other currencies (a price book): `{"EUR": 4500, "JPY": 7000}`, minor units. */
  currency_options: z
    .record(z.string().regex(/^[A-Z]{3}$/, 'keys must be upper-case ISO 4217 codes'), AmountMinor)
    .refine((options) => Object.keys(options).length <= 50, 'at most 50 currencies')
    .default({}),
};

const CreateProductBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(1000).optional(),
  /** What the product is for tax purposes; decides the rate (an e-book is reduced in most of the EU). */
  tax_category: z.enum(TAX_CATEGORIES).default('saas'),
  metadata: Metadata,
});

const CreatePlanBody = z
  .strictObject({
    product: idOf('prod'),
    amount: AmountMinor,
    currency: Currency,
    interval: BillingInterval,
    interval_count: z.number().int().min(1).max(MAX_INTERVAL_COUNT.day).default(1),
    nickname: z.string().max(200).optional(),
    metadata: Metadata,
    ...PriceTaxFields,
  })
  .superRefine((plan, ctx) => {
    const max = MAX_INTERVAL_COUNT[plan.interval];
    if (plan.interval_count > max) {
      ctx.addIssue({
        code: 'custom',
        path: ['interval_count'],
        message: `must be at most ${max} when interval is '${plan.interval}'`,
      });
    }
  });

/** A new version of the plan's price. Currency and interval are the plan's and cannot change here. */
const CreatePriceBody = z.strictObject({
  amount: AmountMinor,
  currency: Currency.optional(),
  ...PriceTaxFields,
});

export function productsRouter(pool: Pool): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreateProductBody, req.body);
      const { rows } = await db.query<ProductRow>(
        `INSERT INTO products (id, tenant_id, name, description, metadata, tax_category)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          newId('product'),
          auth.tenantId,
          body.name,
          body.description ?? null,
          body.metadata ?? {},
          body.tax_category,
        ],
      );
      return { status: 201, body: productResource(rows[0] as ProductRow) };
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => ({
      status: 200,
      body: await listPage(
        db,
        'products',
        parseOrThrow(ListQuery, req.query, 'query'),
        '/v1/products',
        productResource,
      ),
    })),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const { rows } = await db.query<ProductRow>('SELECT * FROM products WHERE id = $1', [req.params.id]);
      const row = rows[0];
      if (!row) throw notFound('product', String(req.params.id));
      return { status: 200, body: productResource(row) };
    }),
  );
  return router;
}

const PLAN_WITH_PRICE = `SELECT plans.*, prices.version AS current_price_version
  FROM plans LEFT JOIN prices ON prices.tenant_id = plans.tenant_id AND prices.id = plans.current_price_id`;

/** Adds `current_price_version` to plan rows read without the join (one query for a whole page). */
async function withPriceVersions(db: PoolClient, plans: readonly PlanRow[]): Promise<PlanWithPriceRow[]> {
  const priceIds = plans.flatMap((plan) => (plan.current_price_id === null ? [] : [plan.current_price_id]));
  const { rows } = await db.query<{ id: string; version: number }>(
    'SELECT id, version FROM prices WHERE id = ANY($1::text[])',
    [priceIds],
  );
  const versions = new Map(rows.map((row) => [row.id, row.version]));
  return plans.map((plan) => ({
    ...plan,
    current_price_version:
      plan.current_price_id === null ? null : (versions.get(plan.current_price_id) ?? null),
  }));
}

export async function findPlan(db: PoolClient, planId: string): Promise<PlanWithPriceRow | undefined> {
  const { rows } = await db.query<PlanWithPriceRow>(`${PLAN_WITH_PRICE} WHERE plans.id = $1`, [planId]);
  return rows[0];
}

export function plansRouter(pool: Pool): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreatePlanBody, req.body);
      const product = await db.query('SELECT 1 FROM products WHERE id = $1', [body.product]);
      if (product.rowCount === 0) {
        throw new ProblemError('notFound', `No product with id '${body.product}'`, { field: 'product' });
      }
      const planId = newId('plan');
      const priceId = newId('price');
      // plans.current_price_id is checked at commit (deferred), so the plan can name its first price
      // before the price (which references the plan) exists.
      const { rows } = await db.query<PlanRow>(
        `INSERT INTO plans (id, tenant_id, product_id, nickname, currency, amount_minor, billing_interval,
                            interval_count, metadata, current_price_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
        [
          planId,
          auth.tenantId,
          body.product,
          body.nickname ?? null,
          body.currency,
          body.amount,
          body.interval,
          body.interval_count,
          body.metadata ?? {},
          priceId,
        ],
      );
      await db.query(
        `INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval,
                             interval_count, tax_behavior)
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8)`,
        [
          priceId,
          auth.tenantId,
          planId,
          body.currency,
          body.amount,
          body.interval,
          body.interval_count,
          body.tax_behavior,
        ],
      );
      await insertCurrencyOptions(db, auth.tenantId, priceId, body.currency, body.currency_options);
      return { status: 201, body: planResource({ ...(rows[0] as PlanRow), current_price_version: 1 }) };
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const page = await listPage(
        db,
        'plans',
        parseOrThrow(ListQuery, req.query, 'query'),
        '/v1/plans',
        (row: PlanRow) => row,
      );
      return {
        status: 200,
        body: { ...page, data: (await withPriceVersions(db, page.data)).map(planResource) },
      };
    }),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const row = await findPlan(db, String(req.params.id));
      if (!row) throw notFound('plan', String(req.params.id));
      return { status: 200, body: planResource(row) };
    }),
  );

  /**
   * A new price version: the plan sells it from now on; subscriptions keep the version they pinned.
   * The plan row is locked, so concurrent requests get consecutive versions.
   */
  router.post(
    '/:id/prices',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreatePriceBody, req.body);
      const planId = String(req.params.id);
      const { rows: plans } = await db.query<PlanRow>('SELECT * FROM plans WHERE id = $1 FOR UPDATE', [
        planId,
      ]);
      const plan = plans[0];
      if (!plan) throw notFound('plan', planId);
      if (body.currency !== undefined && body.currency !== plan.currency) {
        throw new ProblemError(
          'unprocessable',
          `Plan ${plan.id} is priced in ${plan.currency}; a new version cannot change the currency to ${body.currency} (create a new plan instead)`,
          { field: 'currency' },
        );
      }
      const { rows: next } = await db.query<{ version: number }>(
        'SELECT coalesce(max(version), 0) + 1 AS version FROM prices WHERE plan_id = $1',
        [plan.id],
      );
      const version = next[0]?.version ?? 1;
      const { rows: prices } = await db.query<PriceRow>(
        `INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval,
                             interval_count, tax_behavior)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          newId('price'),
          auth.tenantId,
          plan.id,
          version,
          plan.currency,
          body.amount,
          plan.billing_interval,
          plan.interval_count,
          body.tax_behavior,
        ],
      );
      const price = prices[0] as PriceRow;
      await insertCurrencyOptions(db, auth.tenantId, price.id, plan.currency, body.currency_options);
      await db.query('UPDATE plans SET amount_minor = $2, current_price_id = $3 WHERE id = $1', [
        plan.id,
        price.unit_amount_minor,
        price.id,
      ]);
      return { status: 201, body: priceResource(price, price.id, body.currency_options) };
    }),
  );

  router.get(
    '/:id/prices',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListQuery, req.query, 'query');
      const planId = String(req.params.id);
      const plan = await findPlan(db, planId);
      if (!plan) throw notFound('plan', planId);
      const params: unknown[] = [plan.id, query.limit + 1];
      let after = '';
      if (query.starting_after !== undefined) {
        params.push(query.starting_after);
        after = 'AND version < (SELECT version FROM prices WHERE id = $3 AND plan_id = $1)';
      }
      const { rows } = await db.query<PriceRow>(
        `SELECT * FROM prices WHERE plan_id = $1 ${after} ORDER BY version DESC LIMIT $2`,
        params,
      );
      return {
        status: 200,
        body: {
          object: 'list',
          url: `/v1/plans/${plan.id}/prices`,
          has_more: rows.length > query.limit,
          data: await withCurrencyOptions(db, rows.slice(0, query.limit), plan.current_price_id),
        },
      };
    }),
  );
  return router;
}

async function insertCurrencyOptions(
  db: PoolClient,
  tenantId: string,
  priceId: string,
  priceCurrency: string,
  options: Record<string, number>,
): Promise<void> {
  const entries = Object.entries(options);
  for (const [currency] of entries) {
    if (currency === priceCurrency) {
      throw new ProblemError('validation', `${currency} is the price's own currency; give it as amount`, {
        field: `currency_options.${currency}`,
      });
    }
    if (!isBillableCurrency(currency)) {
      throw new ProblemError('validation', `${currency} is not an ISO 4217 currency`, {
        field: `currency_options.${currency}`,
      });
    }
  }
  if (entries.length === 0) return;
  await db.query(
    `INSERT INTO price_currency_options (tenant_id, price_id, currency, unit_amount_minor)
     SELECT $1, $2, o.currency, o.amount FROM unnest($3::text[], $4::bigint[]) AS o (currency, amount)`,
    [tenantId, priceId, entries.map(([currency]) => currency), entries.map(([, amount]) => amount)],
  );
}

async function withCurrencyOptions(
  db: PoolClient,
  prices: readonly PriceRow[],
  currentPriceId: string | null,
) {
  const { rows } = await db.query<{ price_id: string; currency: string; unit_amount_minor: number }>(
    'SELECT price_id, currency, unit_amount_minor FROM price_currency_options WHERE price_id = ANY($1::text[])',
    [prices.map((price) => price.id)],
  );
  return prices.map((price) =>
    priceResource(
      price,
      currentPriceId,
      Object.fromEntries(
        rows.filter((row) => row.price_id === price.id).map((row) => [row.currency, row.unit_amount_minor]),
      ),
    ),
  );
}
