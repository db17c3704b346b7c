import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { retryPaymentUpdate } from '../../workflows/contracts';
import { tenantRead, tenantWrite } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { idOf, ListQuery } from '../schemas';
import { invoiceById, invoiceSummaryResource, type InvoiceDbRow } from '../subscription-resources';
import { executeSubscriptionUpdate } from '../workflow-updates';

const ListInvoicesQuery = ListQuery.extend({
  customer: idOf('cus').optional(),
  subscription: idOf('sub').optional(),
  status: z.enum(['draft', 'open', 'paid', 'void', 'uncollectible']).optional(),
});

export interface InvoiceRouteDeps {
  readonly pool: Pool;
  readonly temporal: Client;
}

export function invoicesRouter({ pool, temporal }: InvoiceRouteDeps): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListInvoicesQuery, req.query, 'query');
      const body = await listPage(
        db,
        'invoices',
        query,
        '/v1/invoices',
        (row: InvoiceDbRow) => invoiceSummaryResource(row),
        [
          { column: 'customer_id', value: query.customer },
          { column: 'subscription_id', value: query.subscription },
          { column: 'status', value: query.status },
        ],
      );
      return { status: 200, body };
    }),
  );

  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const found = await invoiceById(db, String(req.params.id));
      if (!found) throw notFound('invoice', String(req.params.id));
      return { status: 200, body: found.resource };
    }),
  );

  /**
   * Finance's manual retry. The subscription's workflow makes the attempt (so it is ordered with the
   * workflow's own retries and counted in its state) and answers with the outcome.
   */
  router.post(
    '/:id/pay',
    tenantWrite(pool, async ({ req, auth, db }) => {
      parseOrThrow(z.strictObject({}), req.body ?? {});
      const found = await invoiceById(db, String(req.params.id));
      if (!found) throw notFound('invoice', String(req.params.id));
      if (found.row.status !== 'open') {
        throw new ProblemError(
          'conflict',
          `Invoice ${found.row.id} is ${found.row.status}; only open invoices can be paid`,
          {
            field: 'id',
          },
        );
      }
      const subscription = await db.query<{ workflow_id: string }>(
        'SELECT workflow_id FROM subscriptions WHERE id = $1',
        [found.row.subscription_id],
      );
      const workflowId = subscription.rows[0]?.workflow_id;
      if (workflowId === undefined) throw notFound('subscription', found.row.subscription_id);
      const outcome = await executeSubscriptionUpdate(
        temporal,
        req,
        auth.tenantId,
        workflowId,
        retryPaymentUpdate,
        [{ invoiceId: found.row.id }],
      );
      if (outcome.status === 'declined') {
        throw new ProblemError('paymentDeclined', outcome.message, {
          field: 'payment_method',
          decline_code: outcome.declineCode,
        });
      }
      const refreshed = await invoiceById(db, found.row.id);
      return {
        status: outcome.status === 'paid' ? 200 : 202,
        body: { ...refreshed?.resource, payment: outcome },
      };
    }),
  );
  return router;
}
