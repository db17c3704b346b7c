import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/client';
import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { newId } from '../../db/ids';
import { withTenant } from '../../db/with-tenant';
import { createSchedule, periodOf } from '../../domain/calendar';
import {
  cancelSignal,
  getStateQuery,
  SearchAttributes,
  subscriptionWorkflowId,
  type PlanSnapshot,
  type SubscriptionState,
  type SubscriptionWorkflowInput,
} from '../../workflows/contracts';
import type { subscriptionWorkflow } from '../../workflows/subscription';
import { authOf } from '../auth';
import { tenantRead, tenantWrite } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { subscriptionResource, type PlanRow, type SubscriptionRow } from '../resources';
import { idOf, ListQuery, Metadata } from '../schemas';

export interface SubscriptionRouteDeps {
  readonly pool: Pool;
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly temporalUiUrl: string;
  readonly now?: () => Date;
}

const CreateSubscriptionBody = z.strictObject({
  customer: idOf('cus'),
  plan: idOf('plan'),
  metadata: Metadata,
});

const CancelBody = z.strictObject({
  reason: z.string().trim().min(1).max(500).optional(),
});

const ListSubscriptionsQuery = ListQuery.extend({
  customer: idOf('cus').optional(),
  status: z.string().max(20).optional(),
});

const QUERY_DEADLINE_MS = 3_000;

export function subscriptionsRouter(deps: SubscriptionRouteDeps): Router {
  const { pool, temporal, taskQueue } = deps;
  const now = deps.now ?? (() => new Date());
  const router = Router();
  const temporalLink = (workflowId: string) => ({
    workflow_id: workflowId,
    ui_url: `${deps.temporalUiUrl}/namespaces/${temporal.options.namespace}/workflows/${encodeURIComponent(workflowId)}`,
  });

  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db, onRollback }) => {
      const body = parseOrThrow(CreateSubscriptionBody, req.body);
      const customer = await db.query('SELECT 1 FROM customers WHERE id = $1', [body.customer]);
      if (customer.rowCount === 0) {
        throw new ProblemError('notFound', `No customer with id '${body.customer}'`, { field: 'customer' });
      }
      const planRows = await db.query<PlanRow & { product_name: string }>(
        `SELECT plans.*, products.name AS product_name FROM plans JOIN products ON products.id = plans.product_id
          WHERE plans.id = $1`,
        [body.plan],
      );
      const plan = planRows.rows[0];
      if (!plan) throw new ProblemError('notFound', `No plan with id '${body.plan}'`, { field: 'plan' });

      const subscriptionId = newId('subscription');
      const workflowId = subscriptionWorkflowId(auth.tenantId, subscriptionId);
      const startedAt = now().toISOString();
      const schedule = createSchedule(
        startedAt,
        { interval: plan.billing_interval, intervalCount: plan.interval_count },
        'anniversary',
      );
      const firstPeriod = periodOf(schedule, 0);
      const snapshot: PlanSnapshot = {
        planId: plan.id,
        productName: plan.product_name,
        currency: plan.currency,
        amountMinor: plan.amount_minor,
        interval: plan.billing_interval,
        intervalCount: plan.interval_count,
      };
      const { rows } = await db.query<SubscriptionRow>(
        `INSERT INTO subscriptions (id, tenant_id, customer_id, plan_id, status, workflow_id, billing_anchor,
                                    current_period_start, current_period_end, metadata)
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9) RETURNING *`,
        [
          subscriptionId,
          auth.tenantId,
          body.customer,
          plan.id,
          workflowId,
          schedule.anchor,
          firstPeriod.start,
          firstPeriod.end,
          body.metadata ?? {},
        ],
      );

      // Started inside the transaction: if the commit then fails, the workflow is terminated, so
      // there is never a subscription row without a workflow (nothing would bill it).
      const input: SubscriptionWorkflowInput = {
        tenantId: auth.tenantId,
        subscriptionId,
        customerId: body.customer,
        plan: snapshot,
        schedule,
        periodIndex: 0,
        invoicesIssued: 0,
      };
      const handle = await temporal.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SearchAttributes.tenantId, value: auth.tenantId },
          { key: SearchAttributes.customerId, value: body.customer },
          { key: SearchAttributes.planId, value: plan.id },
          { key: SearchAttributes.status, value: 'active' },
        ],
      });
      onRollback(async () => {
        await handle.terminate('subscription creation rolled back');
      });
      return {
        status: 201,
        body: { ...subscriptionResource(rows[0] as SubscriptionRow), temporal: temporalLink(workflowId) },
      };
    }),
  );

  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListSubscriptionsQuery, req.query, 'query');
      const body = await listPage(db, 'subscriptions', query, '/v1/subscriptions', subscriptionResource, [
        { column: 'customer_id', value: query.customer },
        { column: 'status', value: query.status },
      ]);
      return { status: 200, body };
    }),
  );

  /** The Postgres row, plus the live state straight from the workflow (null when it cannot answer now). */
  router.get('/:id', async (req, res) => {
    const auth = authOf(res);
    const row = await withTenant(pool, auth.tenantId, async (db) => {
      const { rows } = await db.query<SubscriptionRow>('SELECT * FROM subscriptions WHERE id = $1', [
        req.params.id,
      ]);
      return rows[0];
    });
    if (!row) throw notFound('subscription', String(req.params.id));
    let workflow: SubscriptionState | null = null;
    let workflowError: string | null = null;
    try {
      workflow = await temporal.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        temporal.workflow.getHandle(row.workflow_id).query(getStateQuery),
      );
    } catch (error) {
      workflowError = (error as Error).message;
    }
    res.json({
      ...subscriptionResource(row),
      temporal: temporalLink(row.workflow_id),
      workflow,
      ...(workflowError === null ? {} : { workflow_error: workflowError }),
    });
  });

  router.post(
    '/:id/cancel',
    tenantWrite(pool, async ({ req, db }) => {
      const body = parseOrThrow(CancelBody, req.body ?? {});
      const { rows } = await db.query<SubscriptionRow>('SELECT * FROM subscriptions WHERE id = $1', [
        req.params.id,
      ]);
      const row = rows[0];
      if (!row) throw notFound('subscription', String(req.params.id));
      if (row.status === 'canceled' || row.status === 'ended') {
        throw new ProblemError('conflict', `Subscription ${row.id} is already ${row.status}`, {
          field: 'id',
        });
      }
      try {
        await temporal.workflow
          .getHandle(row.workflow_id)
          .signal(cancelSignal, body.reason === undefined ? {} : { reason: body.reason });
      } catch (error) {
        if (error instanceof WorkflowNotFoundError) {
          throw new ProblemError('conflict', `Subscription ${row.id} is no longer running`, { field: 'id' });
        }
        throw error;
      }
      return {
        status: 202,
        body: {
          ...subscriptionResource(row),
          cancel_requested: true,
          temporal: temporalLink(row.workflow_id),
        },
      };
    }),
  );
  return router;
}
