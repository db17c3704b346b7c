import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { newId } from '../../db/ids';
import { tenantRead, tenantWrite } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { planResource, productResource, type PlanRow, type ProductRow } from '../resources';
import { AmountMinor, Currency, idOf, ListQuery, Metadata } from '../schemas';

const CreateProductBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(1000).optional(),
  metadata: Metadata,
});

const CreatePlanBody = z.strictObject({
  product: idOf('prod'),
  amount: AmountMinor,
  currency: Currency,
  interval: z.enum(['month', 'year']),
  interval_count: z.number().int().min(1).max(12).default(1),
  nickname: z.string().max(200).optional(),
  metadata: Metadata,
});

export function productsRouter(pool: Pool): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreateProductBody, req.body);
      const { rows } = await db.query<ProductRow>(
        `INSERT INTO products (id, tenant_id, name, description, metadata) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
        [newId('product'), auth.tenantId, body.name, body.description ?? null, body.metadata ?? {}],
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
      const { rows } = await db.query<PlanRow>(
        `INSERT INTO plans (id, tenant_id, product_id, nickname, currency, amount_minor, billing_interval, interval_count, metadata)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [
          newId('plan'),
          auth.tenantId,
          body.product,
          body.nickname ?? null,
          body.currency,
          body.amount,
          body.interval,
          body.interval_count,
          body.metadata ?? {},
        ],
      );
      return { status: 201, body: planResource(rows[0] as PlanRow) };
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => ({
      status: 200,
      body: await listPage(
        db,
        'plans',
        parseOrThrow(ListQuery, req.query, 'query'),
        '/v1/plans',
        planResource,
      ),
    })),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const { rows } = await db.query<PlanRow>('SELECT * FROM plans WHERE id = $1', [req.params.id]);
      const row = rows[0];
      if (!row) throw notFound('plan', String(req.params.id));
      return { status: 200, body: planResource(row) };
    }),
  );
  return router;
}
