import { Router } from 'express';
import type { Pool } from 'pg';
import { tenantRead } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow } from '../problem';
import { invoiceResource, type InvoiceRow } from '../resources';
import { idOf, ListQuery } from '../schemas';

const ListInvoicesQuery = ListQuery.extend({
  customer: idOf('cus').optional(),
  subscription: idOf('sub').optional(),
});

export function invoicesRouter(pool: Pool): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListInvoicesQuery, req.query, 'query');
      const body = await listPage(db, 'invoices', query, '/v1/invoices', invoiceResource, [
        { column: 'customer_id', value: query.customer },
        { column: 'subscription_id', value: query.subscription },
      ]);
      return { status: 200, body };
    }),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const { rows } = await db.query<InvoiceRow>('SELECT * FROM invoices WHERE id = $1', [req.params.id]);
      const row = rows[0];
      if (!row) throw notFound('invoice', String(req.params.id));
      return { status: 200, body: invoiceResource(row) };
    }),
  );
  return router;
}
