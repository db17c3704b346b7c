import type { Client } from '@temporalio/client';
import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { ApplicationFailure } from '@temporalio/common';
import { createCollectionActivities } from '../../activities/collection';
import type { PaymentDeclinedDetails } from '../../activities/contracts';
import { loadInvoiceDocument } from '../../db/invoice-documents';
import { withTenant } from '../../db/with-tenant';
import type { PaymentGateway } from '../../gateways/payment-gateway';
import {
  PAYMENT_DECLINED_ERROR_TYPE,
  retryPaymentUpdate,
  type PaymentOutcome,
} from '../../workflows/contracts';
import { addDocumentRoutes } from '../document-routes';
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
  readonly gateway: PaymentGateway;
  readonly now?: () => Date;
}

export function invoicesRouter({
  pool,
  temporal,
  gateway,
  now = () => new Date(),
}: InvoiceRouteDeps): Router {
  const collection = createCollectionActivities({ pool, gateway });
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

  // The invoice as a document: HTML for a browser or an email body, PDF to send or archive. Both
  // are rendered from what finalization recorded, so they are the same every time they are asked for.
  addDocumentRoutes(router, pool, 'invoice', loadInvoiceDocument);

  /**
   * Finance's manual retry. While the subscription runs, its workflow makes the attempt (ordered with
   * the workflow's own retries and counted in its state) and answers with the outcome. Once the
   * subscription has ended (e.g. canceled when dunning ran out) the invoice is still owed: the same
   * idempotent collection activity is called directly.
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
      const subscription = await db.query<{ workflow_id: string; status: string }>(
        'SELECT workflow_id, status FROM subscriptions WHERE id = $1',
        [found.row.subscription_id],
      );
      const sub = subscription.rows[0];
      if (sub === undefined) throw notFound('subscription', found.row.subscription_id);
      const outcome =
        sub.status === 'canceled' || sub.status === 'ended'
          ? await collectWithoutWorkflow(auth.tenantId, found.row.id)
          : await executeSubscriptionUpdate(
              temporal,
              req,
              auth.tenantId,
              sub.workflow_id,
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

  /** The next attempt number from the recorded ones: two concurrent clicks share it, hence one gateway key. */
  async function collectWithoutWorkflow(tenantId: string, invoiceId: string): Promise<PaymentOutcome> {
    const attempts = await withTenant(pool, tenantId, (tx) =>
      tx.query<{ next: number }>(
        'SELECT coalesce(max(attempt), 0) + 1 AS next FROM payment_attempts WHERE invoice_id = $1',
        [invoiceId],
      ),
    );
    const attempt = attempts.rows[0]?.next ?? 1;
    try {
      const result = await collection.collectPayment({
        tenantId,
        invoiceId,
        attempt,
        trigger: 'manual',
        attemptedAt: new Date(Math.floor(now().getTime() / 1000) * 1000).toISOString(),
      });
      return result.status === 'paid'
        ? { status: 'paid', invoiceId, amountMinor: result.amountMinor }
        : { status: result.status, invoiceId };
    } catch (error) {
      if (error instanceof ApplicationFailure && error.type === PAYMENT_DECLINED_ERROR_TYPE) {
        const details = error.details?.[0] as PaymentDeclinedDetails | undefined;
        return {
          status: 'declined',
          invoiceId,
          declineCode: details?.declineCode ?? 'card_declined',
          message: details?.message ?? error.message,
        };
      }
      throw error;
    }
  }
  return router;
}
