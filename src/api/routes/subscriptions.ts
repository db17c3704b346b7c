import type { Client } from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { hasDefaultPaymentMethod, PriceCurrencyError, resolvePrice } from '../../db/catalog';
import { customerCreditBalanceMinor } from '../../db/customer-balance';
import { insertSubscription } from '../../db/subscriptions';
import { newId } from '../../db/ids';
import { withTenant } from '../../db/with-tenant';
import { taxInvoice } from '../../activities/invoice-tax';
import { createUsageBillingActivities } from '../../activities/usage-billing';
import { createTableTaxProvider } from '../../domain/tax/table-tax-provider';
import type { TaxProvider } from '../../domain/tax/types';
import type { InvoiceLineDraft, PriceSnapshot, SubscriptionItem } from '../../domain/billing-types';
import { validateItems } from '../../domain/catalog';
import {
  addAddonUpdate,
  cancelUpdate,
  changePlanUpdate,
  changeQuantityUpdate,
  extendTrialUpdate,
  getStateQuery,
  pauseUpdate,
  removeAddonUpdate,
  resumeUpdate,
  SearchAttributes,
  subscriptionWorkflowId,
  undoCancelUpdate,
  upcomingInvoiceQuery,
  type InvoiceSummary,
  type ItemChangeResult,
  type SubscriptionState,
  type UpcomingInvoice,
} from '../../workflows/contracts';
import type { subscriptionWorkflow } from '../../workflows/subscription';
import { initialSubscriptionInput } from '../../workflows/subscription-state';
import { authOf } from '../auth';
import { tenantRead, tenantWrite, type TenantRequestContext } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { subscriptionById, subscriptionResourceOf, type SubscriptionDbRow } from '../subscription-resources';
import { idOf, ListQuery, Metadata } from '../schemas';
import { executeSubscriptionUpdate } from '../workflow-updates';

export interface SubscriptionRouteDeps {
  readonly pool: Pool;
  readonly temporal: Client;
  readonly taskQueue: string;
  readonly temporalUiUrl: string;
  readonly now?: () => Date;
  /** The provider finalization uses (the built-in tables unless another is plugged in). */
  readonly taxProvider?: TaxProvider;
}

const ItemRequest = z
  .strictObject({
    price: idOf('price').optional(),
    plan: idOf('plan').optional(),
    quantity: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((item) => (item.price === undefined) !== (item.plan === undefined), {
    message: 'give exactly one of price and plan',
    path: ['price'],
  });

const IsoInstant = z.iso.datetime({ offset: false }).transform((value) => new Date(value).toISOString());

const CreateSubscriptionBody = z
  .strictObject({
    customer: idOf('cus'),
    plan: idOf('plan').optional(),
    items: z.array(ItemRequest).min(1).max(20).optional(),
    trial_period_days: z.number().int().min(1).max(730).optional(),
    trial_end: IsoInstant.optional(),
    trial_settings: z
      .strictObject({
        end_behavior: z.strictObject({ missing_payment_method: z.enum(['cancel', 'create_invoice']) }),
      })
      .optional(),
    billing_cycle_anchor_config: z.enum(['anniversary', 'calendar']).optional(),
    metadata: Metadata,
  })
  .refine((body) => (body.plan === undefined) !== (body.items === undefined), {
    message: 'give either plan or items',
    path: ['items'],
  })
  .refine((body) => body.trial_period_days === undefined || body.trial_end === undefined, {
    message: 'give at most one of trial_period_days and trial_end',
    path: ['trial_end'],
  });

const ProrationBehavior = z.enum(['create_prorations', 'always_invoice', 'none']);
const Timing = z.enum(['now', 'period_end']);

const UpdateSubscriptionBody = z.strictObject({
  items: z
    .array(
      z.strictObject({
        id: idOf('si').optional(),
        price: idOf('price').optional(),
        plan: idOf('plan').optional(),
        quantity: z.number().int().min(1).max(1_000_000).optional(),
        deleted: z.literal(true).optional(),
      }),
    )
    .length(1, 'change one item per request')
    .optional(),
  proration_behavior: ProrationBehavior.optional(),
  proration_timing: Timing.optional(),
  cancel_at_period_end: z.boolean().optional(),
  trial_end: IsoInstant.optional(),
});

const CancelBody = z.strictObject({
  at: Timing.optional(),
  prorate: z.boolean().optional(),
  reason: z.string().trim().min(1).max(500).optional(),
});

const PauseBody = z.strictObject({
  behavior: z.enum(['pause_collection', 'pause_service']),
  timing: Timing.optional(),
  resumes_at: IsoInstant.optional(),
});

const ListSubscriptionsQuery = ListQuery.extend({
  customer: idOf('cus').optional(),
  status: z.string().max(20).optional(),
});

/** Runs one workflow update for the current request (see executeSubscriptionUpdate). */
type UpdateCall = <Ret, Args extends [unknown, ...unknown[]] | []>(
  update: UpdateDefinition<Ret, Args>,
  args: Args,
) => Promise<Ret>;
type UpdateBody = z.infer<typeof UpdateSubscriptionBody>;

const QUERY_DEADLINE_MS = 3_000;
const MS_PER_DAY = 86_400_000;

export function subscriptionsRouter(deps: SubscriptionRouteDeps): Router {
  const { pool, temporal, taskQueue } = deps;
  const taxProvider = deps.taxProvider ?? createTableTaxProvider();
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
      const requested = body.items ?? [{ plan: body.plan }];
      const items: SubscriptionItem[] = [];
      for (const [index, item] of requested.entries()) {
        const field =
          body.items === undefined
            ? 'plan'
            : `items[${index}].${item.price === undefined ? 'plan' : 'price'}`;
        const price = await priceOrProblem(
          () => resolvePrice(db, { customerId: body.customer, priceId: item.price, planId: item.plan }),
          field,
        );
        if (price === null)
          throw new ProblemError(
            'notFound',
            `No ${field.endsWith('plan') ? 'plan' : 'price'} '${item.price ?? item.plan}'`,
            { field },
          );
        items.push({
          itemId: newId('subscriptionItem'),
          kind: index === 0 ? 'plan' : 'addon',
          price,
          quantity: ('quantity' in item ? item.quantity : undefined) ?? 1,
        });
      }
      const problem = validateItems(items);
      if (problem !== null) {
        // validateItems names the offending item (`items[1].price is in EUR; …`): report that path.
        const field = /^items\[\d+\](?:\.[A-Za-z]+)?/.exec(problem)?.[0] ?? 'items';
        throw new ProblemError('unprocessable', problem, {
          field: toWireField(field, body.items === undefined),
        });
      }

      const subscriptionId = newId('subscription');
      const workflowId = subscriptionWorkflowId(auth.tenantId, subscriptionId);
      const createdAtMs = Math.floor(now().getTime() / 1000) * 1000;
      const createdAt = new Date(createdAtMs).toISOString();
      const trialEnd =
        body.trial_end ??
        (body.trial_period_days === undefined
          ? null
          : new Date(createdAtMs + body.trial_period_days * MS_PER_DAY).toISOString());
      if (trialEnd !== null && Date.parse(trialEnd) <= createdAtMs) {
        throw new ProblemError('validation', 'trial_end must be in the future', { field: 'trial_end' });
      }
      const input = initialSubscriptionInput({
        tenantId: auth.tenantId,
        subscriptionId,
        customerId: body.customer,
        items,
        createdAt,
        trialEnd,
        trialEndBehavior: body.trial_settings?.end_behavior.missing_payment_method ?? 'create_invoice',
        alignment: body.billing_cycle_anchor_config ?? 'anniversary',
        hasPaymentMethod: await hasDefaultPaymentMethod(db, body.customer),
      });
      const plan = items[0] as SubscriptionItem;
      await insertSubscription(db, input, workflowId, body.metadata ?? {});
      const inserted = await reread(db, subscriptionId);

      // Started inside the transaction: if the commit then fails, the workflow is terminated, so
      // there is never a subscription row without a workflow (nothing would bill it).
      const handle = await temporal.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
        taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        typedSearchAttributes: [
          { key: SearchAttributes.tenantId, value: auth.tenantId },
          { key: SearchAttributes.customerId, value: body.customer },
          { key: SearchAttributes.planId, value: plan.price.planId },
          { key: SearchAttributes.status, value: input.status },
        ],
      });
      onRollback(async () => {
        await handle.terminate('subscription creation rolled back');
      });
      const resource = await subscriptionResourceOf(db, inserted);
      return { status: 201, body: { ...resource, temporal: temporalLink(workflowId) } };
    }),
  );

  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListSubscriptionsQuery, req.query, 'query');
      const body = await listPage(
        db,
        'subscriptions',
        query,
        '/v1/subscriptions',
        (row: SubscriptionDbRow) => ({
          id: row.id,
          object: 'subscription' as const,
          customer: row.customer_id,
          plan: row.plan_id,
          status: row.status,
          currency: row.currency,
          current_period_start: row.current_period_start?.toISOString() ?? null,
          current_period_end: row.current_period_end?.toISOString() ?? null,
          cancel_at_period_end: row.cancel_at_period_end,
          created_at: row.created_at.toISOString(),
          workflow_id: row.workflow_id,
        }),
        [
          { column: 'customer_id', value: query.customer },
          { column: 'status', value: query.status },
        ],
      );
      return { status: 200, body };
    }),
  );

  /** The Postgres row, plus the live state straight from the workflow (null when it cannot answer now). */
  router.get('/:id', async (req, res) => {
    const auth = authOf(res);
    const found = await withTenant(pool, auth.tenantId, (db) => subscriptionById(db, String(req.params.id)));
    if (!found) throw notFound('subscription', String(req.params.id));
    let workflow: SubscriptionState | null = null;
    let workflowError: string | null = null;
    try {
      workflow = await temporal.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
        temporal.workflow.getHandle(found.row.workflow_id).query(getStateQuery),
      );
    } catch (error) {
      workflowError = (error as Error).message;
    }
    res.json({
      ...found.resource,
      temporal: temporalLink(found.row.workflow_id),
      workflow,
      ...(workflowError === null ? {} : { workflow_error: workflowError }),
    });
  });

  router.get('/:id/upcoming_invoice', async (req, res) => {
    const auth = authOf(res);
    const found = await withTenant(pool, auth.tenantId, (db) => subscriptionById(db, String(req.params.id)));
    if (!found) throw notFound('subscription', String(req.params.id));
    const ended = found.row.status === 'canceled' || found.row.status === 'ended';
    let upcoming: UpcomingInvoice | null = null;
    if (!ended) {
      try {
        upcoming = await temporal.withDeadline(Date.now() + QUERY_DEADLINE_MS, () =>
          temporal.workflow.getHandle(found.row.workflow_id).query(upcomingInvoiceQuery),
        );
      } catch (error) {
        throw new ProblemError(
          'unavailable',
          `The subscription's workflow did not answer (${(error as Error).message}); retry`,
          { field: 'id' },
        );
      }
    }
    if (upcoming === null) {
      throw new ProblemError(
        'notFound',
        `Subscription ${found.row.id} has no upcoming invoice (it ends or is paused)`,
        {
          field: 'id',
        },
      );
    }
    // Usage charges billed in arrears: what the rollups hold so far for the periods the renewal will
    // bill (the current period's usage grows until it ends), priced as the renewal will price it.
    const usageLines = await upcomingUsageLines(pool, auth.tenantId, found.row, upcoming);
    const lines = [...upcoming.lines, ...usageLines];
    // Tax is decided as finalization will decide it (same provider, same rules, the renewal's issue
    // date), so the preview is what the customer will be charged, not a pre-tax estimate.
    const { tax, balanceMinor } = await withTenant(pool, auth.tenantId, async (db) => ({
      tax: await taxInvoice(db, taxProvider, {
        customerId: found.row.customer_id,
        currency: upcoming.currency,
        issuedAt: upcoming.issuesAt,
        lines,
      }),
      balanceMinor: await customerCreditBalanceMinor(db, found.row.customer_id, upcoming.currency),
    }));
    const totalMinor = tax.netMinor + tax.taxMinor;
    const creditMinor = Math.min(Math.max(balanceMinor, 0), Math.max(totalMinor, 0));
    res.json({
      object: 'invoice' as const,
      subscription: found.row.id,
      customer: found.row.customer_id,
      currency: upcoming.currency,
      period_start: upcoming.periodStart,
      period_end: upcoming.periodEnd,
      next_payment_attempt: upcoming.issuesAt,
      lines: {
        object: 'list' as const,
        data: lines.map((line, index) => ({
          kind: line.kind,
          description: line.description,
          quantity: line.quantity,
          unit_amount: line.unitAmountMinor,
          amount: line.amountMinor,
          period: { start: line.periodStart, end: line.periodEnd },
          price: line.priceId,
          tax: {
            net_amount: tax.lines[index]?.netAmountMinor ?? line.amountMinor,
            amount: tax.lines[index]?.taxMinor ?? 0,
            rate: tax.lines[index]?.rateLabel ?? null,
            treatment: tax.lines[index]?.treatment ?? null,
          },
        })),
      },
      subtotal: tax.netMinor,
      tax: tax.taxMinor,
      total: totalMinor,
      legal_notes: tax.legalNotes,
      credit_applied: creditMinor,
      amount_due: Math.max(totalMinor, 0) - creditMinor,
    });
  });

  /** Stripe's subscription update: one change per request, applied by a workflow update. */
  router.post(
    '/:id',
    tenantWrite(pool, async (ctx) => {
      const body = parseOrThrow(UpdateSubscriptionBody, ctx.req.body ?? {});
      const changes = [body.items, body.cancel_at_period_end, body.trial_end].filter(
        (change) => change !== undefined,
      );
      if (changes.length !== 1) {
        throw new ProblemError(
          'validation',
          'Send exactly one of items, cancel_at_period_end and trial_end',
          {
            field: 'items',
          },
        );
      }
      if (body.items === undefined) {
        for (const field of ['proration_behavior', 'proration_timing'] as const) {
          if (body[field] !== undefined) {
            throw new ProblemError('validation', `${field} applies only to item changes`, { field });
          }
        }
      }
      const row = await runningSubscription(ctx.db, String(ctx.req.params.id));
      const call: UpdateCall = (update, args) =>
        executeSubscriptionUpdate(temporal, ctx.req, ctx.auth.tenantId, row.workflow_id, update, args);
      let change: Record<string, unknown> = {};
      if (body.cancel_at_period_end === true) {
        const result = await call(cancelUpdate, [{ at: 'period_end' }]);
        change = { cancel_at: result.cancelAt };
      } else if (body.cancel_at_period_end === false) {
        await call(undoCancelUpdate, []);
      } else if (body.trial_end !== undefined) {
        await call(extendTrialUpdate, [{ trialEnd: body.trial_end }]);
      } else if (body.items !== undefined) {
        const result = await applyItemChange(ctx, row, body, call);
        change = itemChangeResponse(result);
      }
      const refreshed = await subscriptionResourceOf(ctx.db, await reread(ctx.db, row.id));
      return { status: 200, body: { ...refreshed, ...change, temporal: temporalLink(row.workflow_id) } };
    }),
  );

  const applyItemChange = async (
    ctx: TenantRequestContext,
    row: SubscriptionDbRow,
    body: UpdateBody,
    call: UpdateCall,
  ): Promise<ItemChangeResult> => {
    const item = (body.items ?? [])[0];
    if (item === undefined)
      throw new ProblemError('validation', 'items needs one change', { field: 'items' });
    try {
      return await itemChange(ctx, row, body, item, call);
    } catch (error) {
      // The workflow names its request's fields (`price`, `quantity`, `itemId`); say them as sent.
      const field = error instanceof ProblemError ? error.extensions.field : undefined;
      const wire: Record<string, string> = {
        price: item.price === undefined && item.plan !== undefined ? 'items[0].plan' : 'items[0].price',
        quantity: 'items[0].quantity',
        item_id: 'items[0].id',
      };
      if (field !== undefined && error instanceof ProblemError && wire[field] !== undefined) {
        throw new ProblemError(error.kind, error.detail, { ...error.extensions, field: wire[field] });
      }
      throw error;
    }
  };

  const itemChange = async (
    ctx: TenantRequestContext,
    row: SubscriptionDbRow,
    body: UpdateBody,
    item: NonNullable<UpdateBody['items']>[number],
    call: UpdateCall,
  ): Promise<ItemChangeResult> => {
    const prorationBehavior = body.proration_behavior;
    const timing = body.proration_timing;
    const options = {
      ...(prorationBehavior === undefined ? {} : { prorationBehavior }),
      ...(timing === undefined ? {} : { timing }),
    };
    const price = async (): Promise<PriceSnapshot> => {
      const resolved = await priceOrProblem(
        () => resolvePrice(ctx.db, { customerId: row.customer_id, priceId: item.price, planId: item.plan }),
        item.price === undefined ? 'items[0].plan' : 'items[0].price',
      );
      if (resolved === null) {
        throw new ProblemError(
          'notFound',
          `No ${item.price === undefined ? 'plan' : 'price'} '${item.price ?? item.plan}'`,
          {
            field: item.price === undefined ? 'items[0].plan' : 'items[0].price',
          },
        );
      }
      return resolved;
    };
    if (item.deleted === true) {
      if (item.id === undefined)
        throw new ProblemError('validation', 'deleted needs the item id', { field: 'items[0].id' });
      for (const field of ['price', 'plan', 'quantity'] as const) {
        if (item[field] !== undefined) {
          throw new ProblemError('validation', 'a deleted item takes only its id', {
            field: `items[0].${field}`,
          });
        }
      }
      return call(removeAddonUpdate, [{ itemId: item.id, ...options }]);
    }
    if (item.id === undefined) {
      if (item.price === undefined && item.plan === undefined) {
        throw new ProblemError('validation', 'a new item needs a price or a plan', {
          field: 'items[0].price',
        });
      }
      if (timing !== undefined) {
        throw new ProblemError('validation', 'an add-on starts now; proration_timing does not apply', {
          field: 'proration_timing',
        });
      }
      return call(addAddonUpdate, [
        {
          itemId: newId('subscriptionItem'),
          price: await price(),
          quantity: item.quantity ?? 1,
          ...(prorationBehavior === undefined ? {} : { prorationBehavior }),
        },
      ]);
    }
    const current = await ctx.db.query<{ kind: string }>(
      'SELECT kind FROM subscription_items WHERE subscription_id = $1 AND id = $2',
      [row.id, item.id],
    );
    if (current.rowCount === 0)
      throw new ProblemError('notFound', `No item '${item.id}' on this subscription`, {
        field: 'items[0].id',
      });
    if (item.price !== undefined || item.plan !== undefined) {
      if (current.rows[0]?.kind !== 'plan') {
        throw new ProblemError(
          'unprocessable',
          'Only the plan item can change price; remove the add-on and add another',
          {
            field: 'items[0].price',
          },
        );
      }
      return call(changePlanUpdate, [
        {
          price: await price(),
          ...(item.quantity === undefined ? {} : { quantity: item.quantity }),
          ...options,
        },
      ]);
    }
    if (item.quantity === undefined)
      throw new ProblemError('validation', 'Nothing to change on this item', { field: 'items[0]' });
    return call(changeQuantityUpdate, [{ itemId: item.id, quantity: item.quantity, ...options }]);
  };

  /** The subscription as the workflow's update left it, with what the update answered. */
  const afterUpdate = async (db: PoolClient, row: SubscriptionDbRow, extra: Record<string, unknown>) => ({
    status: 200,
    body: {
      ...(await subscriptionResourceOf(db, await reread(db, row.id))),
      ...extra,
      temporal: temporalLink(row.workflow_id),
    },
  });

  router.post(
    '/:id/cancel',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CancelBody, req.body ?? {});
      const row = await runningSubscription(db, String(req.params.id));
      const result = await executeSubscriptionUpdate(
        temporal,
        req,
        auth.tenantId,
        row.workflow_id,
        cancelUpdate,
        [
          {
            at: body.at ?? 'now',
            ...(body.prorate === undefined ? {} : { prorate: body.prorate }),
            ...(body.reason === undefined ? {} : { reason: body.reason }),
          },
        ],
      );
      const { creditNote } = result;
      return afterUpdate(db, row, {
        status: result.status,
        cancel_at: result.cancelAt,
        credit_note:
          creditNote === null
            ? null
            : { id: creditNote.creditNoteId, number: creditNote.number, amount: creditNote.amountMinor },
        final_invoice: result.invoice === null ? null : invoiceSummaryResource(result.invoice),
      });
    }),
  );

  router.delete(
    '/:id',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const row = await runningSubscription(db, String(req.params.id));
      const result = await executeSubscriptionUpdate(
        temporal,
        req,
        auth.tenantId,
        row.workflow_id,
        cancelUpdate,
        [{ at: 'now' }],
      );
      return afterUpdate(db, row, { status: result.status });
    }),
  );

  router.post(
    '/:id/pause',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(PauseBody, req.body ?? {});
      const row = await runningSubscription(db, String(req.params.id));
      const state = await executeSubscriptionUpdate(
        temporal,
        req,
        auth.tenantId,
        row.workflow_id,
        pauseUpdate,
        [
          {
            behavior: body.behavior,
            ...(body.timing === undefined ? {} : { timing: body.timing }),
            ...(body.resumes_at === undefined ? {} : { resumesAt: body.resumes_at }),
          },
        ],
      );
      return afterUpdate(db, row, { status: state.status, pause: stateToPause(state) });
    }),
  );

  router.post(
    '/:id/resume',
    tenantWrite(pool, async ({ req, auth, db }) => {
      parseOrThrow(z.strictObject({}), req.body ?? {});
      const row = await runningSubscription(db, String(req.params.id));
      const state = await executeSubscriptionUpdate(
        temporal,
        req,
        auth.tenantId,
        row.workflow_id,
        resumeUpdate,
        [{}],
      );
      return afterUpdate(db, row, { status: state.status, pause: stateToPause(state) });
    }),
  );

  return router;
}

async function runningSubscription(db: PoolClient, id: string): Promise<SubscriptionDbRow> {
  const { rows } = await db.query<SubscriptionDbRow>('SELECT * FROM subscriptions WHERE id = $1', [id]);
  const row = rows[0];
  if (!row) throw notFound('subscription', id);
  if (row.status === 'canceled' || row.status === 'ended') {
    throw new ProblemError('conflict', `Subscription ${row.id} is already ${row.status}`, { field: 'id' });
  }
  return row;
}

/** The row as the workflow's mirror left it; this transaction started before the update, so read anew. */
async function reread(db: PoolClient, id: string): Promise<SubscriptionDbRow> {
  const { rows } = await db.query<SubscriptionDbRow>('SELECT * FROM subscriptions WHERE id = $1', [id]);
  const row = rows[0];
  if (!row) throw notFound('subscription', id);
  return row;
}

/** A path from validateItems as the client wrote it: the shorthand `{plan}` is the plan item itself. */
function toWireField(field: string, shorthand: boolean): string {
  if (shorthand && field.startsWith('items[0]')) return 'plan';
  return field.replace(/\.(unitAmountMinor|itemId)$/, '');
}

function stateToPause(state: SubscriptionState) {
  return state.pause === null
    ? null
    : {
        behavior: state.pause.behavior,
        effective_at: state.pause.effectiveAt,
        resumes_at: state.pause.resumesAt,
        in_effect: state.pause.inEffect,
      };
}

function itemChangeResponse(result: ItemChangeResult) {
  return {
    pending_update: result.scheduled ? { effective_at: result.effectiveAt } : null,
    proration: {
      lines: result.prorationLines.map((line) => ({
        description: line.description,
        quantity: line.quantity,
        amount: line.amountMinor,
        period: { start: line.periodStart, end: line.periodEnd },
      })),
      net_amount: result.prorationNetMinor,
    },
    latest_invoice: result.invoice === null ? null : invoiceSummaryResource(result.invoice),
    payment: result.payment,
  };
}

function invoiceSummaryResource(invoice: InvoiceSummary) {
  return {
    id: invoice.invoiceId,
    number: invoice.number,
    total: invoice.totalMinor,
    amount_due: invoice.amountDueMinor,
    status: invoice.status,
  };
}

/** A price the customer cannot be billed in (no amount in their currency, no FX rate) is a 422. */
async function priceOrProblem(
  resolve: () => Promise<PriceSnapshot | null>,
  field: string,
): Promise<PriceSnapshot | null> {
  try {
    return await resolve();
  } catch (error) {
    if (error instanceof PriceCurrencyError) {
      throw new ProblemError('unprocessable', `${error.message}; ${error.hint}`, {
        field,
      });
    }
    throw error;
  }
}

/** The usage lines the next renewal will carry, as of now (the same activity the workflow calls). */
async function upcomingUsageLines(
  pool: Pool,
  tenantId: string,
  row: SubscriptionDbRow,
  upcoming: UpcomingInvoice,
): Promise<InvoiceLineDraft[]> {
  const dues = upcoming.usageDue ?? [];
  if (dues.length === 0) return [];
  const usage = createUsageBillingActivities({ pool });
  const lines: InvoiceLineDraft[] = [];
  for (const [index, due] of dues.entries()) {
    const result = await usage.usageLines({
      tenantId,
      subscriptionId: row.id,
      customerId: row.customer_id,
      currency: upcoming.currency,
      period: due.period,
      items: due.items,
      idempotencyKey: `invoice:${row.id}:${upcoming.periodStart}`,
      ...(index === 0 ? {} : { lookbackPeriods: 0 }),
    });
    lines.push(...result.lines);
  }
  return lines;
}
