import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { Router, type Request, type RequestHandler } from 'express';
import type { Pool, PoolClient } from 'pg';
import { DatabaseError } from 'pg';
import { z } from 'zod';
import { newId } from '../../db/ids';
import { withTenant } from '../../db/with-tenant';
import {
  GatewayRequestError,
  GatewayUnavailableError,
  PaymentMethodRejectedError,
} from '../../gateways/errors';
import type { PaymentGateway } from '../../gateways/payment-gateway';
import { paymentMethodUpdatedSignal } from '../../workflows/contracts';
import { authOf, type AuthContext } from '../auth';
import { tenantRead, tenantWrite } from '../handlers';
import {
  claimOrReplay,
  parseIdempotencyKey,
  requestFingerprint,
  storeResponse,
  type StoredResponse,
} from '../idempotency';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import {
  customerResource,
  paymentProfileResource,
  priceOverrideResource,
  type CustomerRow,
  type PaymentProfileRow,
  type PlanRow,
  type PriceOverrideRow,
} from '../resources';
import { CustomerTaxFields, CustomerTaxUpdateFields, customerTaxColumns } from '../customer-tax';
import { AmountMinor, idOf, ListQuery, Metadata, PaymentMethodId } from '../schemas';

export interface CustomerRouteDeps {
  readonly pool: Pool;
  readonly gateway: PaymentGateway;
  readonly temporal: Client;
}

const CreateCustomerBody = z.strictObject({
  email: z.email().max(320).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  /** The tenant's own id for this customer; unique per tenant, usable wherever a customer is referenced. */
  external_id: z.string().min(1).max(200).optional(),
  metadata: Metadata,
  ...CustomerTaxFields,
});

/** Partial update (Stripe's POST /customers/:id): `null` clears a tax field. */
const UpdateCustomerBody = z.strictObject({
  email: z.email().max(320).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  metadata: Metadata,
  ...CustomerTaxUpdateFields,
});

const AttachPaymentMethodBody = z.strictObject({
  payment_method: PaymentMethodId,
  /** Charge this method from now on (renewals, dunning retries). Default true. */
  set_default: z.boolean().default(true),
});

const PriceOverrideBody = z.strictObject({
  plan: idOf('plan'),
  amount: AmountMinor,
});

const UNIQUE_VIOLATION = '23505';
/** Subscriptions in these states have no workflow left to tell about a new payment method. */
const FINISHED_STATUSES = ['canceled', 'ended'];

export function customersRouter(deps: CustomerRouteDeps): Router {
  const { pool } = deps;
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreateCustomerBody, req.body);
      const tax = customerTaxColumns(body);
      try {
        const columns = ['id', 'tenant_id', 'external_id', 'email', 'name', 'metadata', ...tax.columns];
        const { rows } = await db.query<CustomerRow>(
          `INSERT INTO customers (${columns.join(', ')})
           VALUES (${columns.map((_, index) => `$${index + 1}`).join(', ')})
           RETURNING *`,
          [
            newId('customer'),
            auth.tenantId,
            body.external_id ?? null,
            body.email ?? null,
            body.name ?? null,
            body.metadata ?? {},
            ...tax.values,
          ],
        );
        return { status: 201, body: customerResource(rows[0] as CustomerRow) };
      } catch (error) {
        if (error instanceof DatabaseError && error.code === UNIQUE_VIOLATION) {
          throw new ProblemError(
            'conflict',
            `A customer with external_id '${body.external_id}' already exists`,
            {
              field: 'external_id',
            },
          );
        }
        throw error;
      }
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => ({
      status: 200,
      body: await listPage(
        db,
        'customers',
        parseOrThrow(ListQuery, req.query, 'query'),
        '/v1/customers',
        customerResource,
      ),
    })),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const customer = await findCustomer(db, String(req.params.id));
      const profile = await findPaymentProfile(db, customer.id);
      return {
        status: 200,
        body: {
          ...customerResource(customer),
          default_payment_method: profile?.default_payment_method_id ?? null,
          balance: await creditBalances(db, customer.id),
        },
      };
    }),
  );

  router.post(
    '/:id',
    tenantWrite(pool, async ({ req, db }) => {
      const body = parseOrThrow(UpdateCustomerBody, req.body ?? {});
      const customer = await findCustomer(db, String(req.params.id));
      const tax = customerTaxColumns(body);
      const columns = [
        ...(body.email === undefined ? [] : [['email', body.email] as const]),
        ...(body.name === undefined ? [] : [['name', body.name] as const]),
        ...(body.metadata === undefined ? [] : [['metadata', body.metadata] as const]),
        ...tax.columns.map((column, index) => [column, tax.values[index]] as const),
      ];
      if (columns.length === 0) {
        return { status: 200, body: customerResource(customer) };
      }
      // Issued invoices keep the address and tax id they were issued with (snapshots): only invoices
      // finalized after this change see it.
      const { rows } = await db.query<CustomerRow>(
        `UPDATE customers SET ${columns.map(([column], index) => `${column} = $${index + 2}`).join(', ')}
          WHERE id = $1 RETURNING *`,
        [customer.id, ...columns.map(([, value]) => value)],
      );
      return { status: 200, body: customerResource(rows[0] as CustomerRow) };
    }),
  );

  router.post('/:id/payment_methods', attachPaymentMethodHandler(deps));

  router.post(
    '/:id/price_overrides',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(PriceOverrideBody, req.body);
      const customer = await findCustomer(db, String(req.params.id));
      const { rows: plans } = await db.query<PlanRow>('SELECT * FROM plans WHERE id = $1', [body.plan]);
      const plan = plans[0];
      if (!plan) throw new ProblemError('notFound', `No plan with id '${body.plan}'`, { field: 'plan' });
      // One override per (customer, plan): a second POST replaces the amount and keeps the id.
      const { rows } = await db.query<PriceOverrideRow & { inserted: boolean }>(
        `INSERT INTO customer_price_overrides (id, tenant_id, customer_id, plan_id, currency, unit_amount_minor)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, customer_id, plan_id)
           DO UPDATE SET unit_amount_minor = EXCLUDED.unit_amount_minor, currency = EXCLUDED.currency
         RETURNING *, (xmax = 0) AS inserted`,
        [newId('priceOverride'), auth.tenantId, customer.id, plan.id, plan.currency, body.amount],
      );
      const row = rows[0] as PriceOverrideRow & { inserted: boolean };
      return { status: row.inserted ? 201 : 200, body: priceOverrideResource(row) };
    }),
  );
  router.get(
    '/:id/price_overrides',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListQuery, req.query, 'query');
      const customer = await findCustomer(db, String(req.params.id));
      const params: unknown[] = [customer.id, query.limit + 1];
      let after = '';
      if (query.starting_after !== undefined) {
        params.push(query.starting_after);
        after = `AND (created_at, id) < (SELECT created_at, id FROM customer_price_overrides WHERE id = $3)`;
      }
      const { rows } = await db.query<PriceOverrideRow>(
        `SELECT * FROM customer_price_overrides WHERE customer_id = $1 ${after}
          ORDER BY created_at DESC, id DESC LIMIT $2`,
        params,
      );
      return {
        status: 200,
        body: {
          object: 'list',
          url: `/v1/customers/${customer.id}/price_overrides`,
          has_more: rows.length > query.limit,
          data: rows.slice(0, query.limit).map(priceOverrideResource),
        },
      };
    }),
  );
  router.delete(
    '/:id/price_overrides/:overrideId',
    tenantWrite(pool, async ({ req, db }) => {
      const customer = await findCustomer(db, String(req.params.id));
      const overrideId = String(req.params.overrideId);
      const { rows } = await db.query<{ id: string }>(
        'DELETE FROM customer_price_overrides WHERE id = $1 AND customer_id = $2 RETURNING id',
        [overrideId, customer.id],
      );
      if (rows.length === 0) {
        throw new ProblemError('notFound', `No price override with id '${overrideId}' for ${customer.id}`, {
          field: 'overrideId',
        });
      }
      return { status: 200, body: { id: overrideId, object: 'price_override', deleted: true } };
    }),
  );
  return router;
}

async function findCustomer(db: PoolClient, customerId: string): Promise<CustomerRow> {
  const { rows } = await db.query<CustomerRow>('SELECT * FROM customers WHERE id = $1', [customerId]);
  const row = rows[0];
  if (!row) throw notFound('customer', customerId);
  return row;
}

async function findPaymentProfile(
  db: PoolClient,
  customerId: string,
): Promise<PaymentProfileRow | undefined> {
  const { rows } = await db.query<PaymentProfileRow>(
    `SELECT customer_id, provider, provider_customer_id, default_payment_method_id, updated_at
       FROM customer_payment_profiles WHERE customer_id = $1 AND provider = 'stripe'`,
    [customerId],
  );
  return rows[0];
}

/**
 * What the tenant owes the customer, per currency, derived from the journal (customer_credit is
 * credit-normal: Σ credit − Σ debit). Currencies whose balance is zero are left out.
 */
async function creditBalances(
  db: PoolClient,
  customerId: string,
): Promise<Array<{ amount: number; currency: string }>> {
  const { rows } = await db.query<{ currency: string; balance_minor: number }>(
    `SELECT a.currency,
            coalesce(sum(CASE WHEN l.direction = 'credit' THEN l.amount_minor ELSE -l.amount_minor END), 0)::bigint
              AS balance_minor
       FROM ledger_accounts a
       LEFT JOIN journal_lines l ON l.tenant_id = a.tenant_id AND l.account_id = a.id
      WHERE a.code = 'customer_credit' AND a.customer_id = $1
      GROUP BY a.currency
      ORDER BY a.currency`,
    [customerId],
  );
  return rows
    .filter((row) => row.balance_minor !== 0)
    .map((row) => ({ amount: row.balance_minor, currency: row.currency }));
}

// ---------------------------------------------------------------------------------------------------
// POST /v1/customers/:id/payment_methods
//
// The provider calls happen between short transactions, never inside one (a slow Stripe must not hold a
// connection and locks). Every step converges when repeated: the provider calls carry idempotency keys
// derived from the customer (and payment method), the profile insert is ON CONFLICT DO NOTHING, and
// the default is a plain overwrite. The Idempotency-Key is claimed and the response stored in the last
// transaction, after the workflows were told, so a request that failed half-way is simply retried.
// ---------------------------------------------------------------------------------------------------

function attachPaymentMethodHandler(deps: CustomerRouteDeps): RequestHandler {
  const { pool, gateway, temporal } = deps;
  return async (req, res) => {
    const auth = authOf(res);
    requireJsonBody(req);
    const key = parseIdempotencyKey(req.get('idempotency-key'));
    const fingerprint = requestFingerprint(req.method, req.baseUrl + req.path, req.body);
    const customerId = String(req.params.id);

    const replay = key === undefined ? undefined : await peekStoredResponse(pool, auth, key, fingerprint);
    if (replay !== undefined) {
      res.setHeader('Idempotent-Replayed', 'true');
      res.status(replay.status).json(replay.body);
      return;
    }
    const body = parseOrThrow(AttachPaymentMethodBody, req.body);

    const { customer, profile: existing } = await withTenant(pool, auth.tenantId, async (db) => {
      const found = await findCustomer(db, customerId);
      return { customer: found, profile: await findPaymentProfile(db, found.id) };
    });
    const profile = existing ?? (await createPaymentProfile(deps, auth, customer));

    const attached = await callGateway(() =>
      gateway.attachPaymentMethod({
        idempotencyKey: `pm:${customer.id}:${body.payment_method}`,
        providerCustomerId: profile.provider_customer_id,
        paymentMethodId: body.payment_method,
        makeDefault: body.set_default,
      }),
    );

    const { updated, workflowIds } = await withTenant(pool, auth.tenantId, async (db) => {
      const row = body.set_default
        ? await db.query<PaymentProfileRow>(
            `UPDATE customer_payment_profiles SET default_payment_method_id = $2, updated_at = now()
              WHERE customer_id = $1 AND provider = 'stripe'
              RETURNING customer_id, provider, provider_customer_id, default_payment_method_id, updated_at`,
            [customer.id, attached.paymentMethodId],
          )
        : undefined;
      const subscriptions = await db.query<{ workflow_id: string }>(
        'SELECT workflow_id FROM subscriptions WHERE customer_id = $1 AND NOT (status = ANY($2::text[]))',
        [customer.id, FINISHED_STATUSES],
      );
      return {
        updated: row?.rows[0] ?? profile,
        workflowIds: subscriptions.rows.map((s) => s.workflow_id),
      };
    });

    // After the commit, so the collection activity the signal wakes reads the new default.
    if (body.set_default) {
      try {
        await signalPaymentMethodUpdated(temporal, workflowIds, attached.paymentMethodId);
      } catch (error) {
        req.log.error({ err: error, customerId: customer.id }, 'could not signal paymentMethodUpdated');
        throw new ProblemError(
          'unavailable',
          'The payment method is saved, but its subscriptions could not be told; retry the request',
        );
      }
    }

    const response: StoredResponse = {
      status: 200,
      body: { ...paymentProfileResource(updated), payment_method: attached.paymentMethodId },
    };
    const sent =
      key === undefined
        ? { result: response, replayed: false }
        : await withTenant(pool, auth.tenantId, async (db) => {
            // A concurrent request with the same key may have finished first: answer what it answered.
            const previous = await claimOrReplay(db, { key, fingerprint });
            if (previous !== undefined) return { result: previous, replayed: true };
            await storeResponse(db, key, response);
            return { result: response, replayed: false };
          });
    if (sent.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(sent.result.status).json(sent.result.body);
  };
}

function requireJsonBody(req: Request): void {
  const length = req.get('content-length');
  if (!req.is('application/json') && length !== undefined && length !== '0') {
    throw new ProblemError('unsupportedMediaType', 'Send the body as application/json', {
      field: 'Content-Type',
    });
  }
}

/** The stored response for this key, without claiming it (the claim comes with the final write). */
async function peekStoredResponse(
  pool: Pool,
  auth: AuthContext,
  key: string,
  fingerprint: string,
): Promise<StoredResponse | undefined> {
  return withTenant(pool, auth.tenantId, async (db) => {
    const { rows } = await db.query<{
      request_fingerprint: string;
      response_status: number | null;
      response_body: unknown;
    }>(
      'SELECT request_fingerprint, response_status, response_body FROM idempotency_keys WHERE idempotency_key = $1',
      [key],
    );
    const row = rows[0];
    if (!row || row.response_status === null) return undefined;
    if (row.request_fingerprint !== fingerprint) {
      throw new ProblemError(
        'idempotencyKeyReused',
        'This Idempotency-Key was used for a different request; use a new key for a new request',
        { field: 'Idempotency-Key' },
      );
    }
    return { status: row.response_status, body: row.response_body };
  });
}

/**
 * The customer at the provider, created once: the provider key is derived from tenant and customer, so
 * two racing requests get the same provider customer, and the first row inserted wins either way.
 */
async function createPaymentProfile(
  deps: CustomerRouteDeps,
  auth: AuthContext,
  customer: CustomerRow,
): Promise<PaymentProfileRow> {
  const created = await callGateway(() =>
    deps.gateway.createCustomer({
      idempotencyKey: `customer:${auth.tenantId}:${customer.id}`,
      tenantId: auth.tenantId,
      customerId: customer.id,
      ...(customer.email === null ? {} : { email: customer.email }),
      ...(customer.name === null ? {} : { name: customer.name }),
    }),
  );
  return withTenant(deps.pool, auth.tenantId, async (db) => {
    await db.query(
      `INSERT INTO customer_payment_profiles (tenant_id, customer_id, provider, provider_customer_id)
       VALUES ($1, $2, 'stripe', $3)
       ON CONFLICT (tenant_id, customer_id, provider) DO NOTHING`,
      [auth.tenantId, customer.id, created.providerCustomerId],
    );
    const profile = await findPaymentProfile(db, customer.id);
    if (!profile) throw new Error(`payment profile of ${customer.id} vanished after its insert`);
    return profile;
  });
}

/** Provider failures the client can act on become problems; misconfiguration stays a 500 (logged). */
async function callGateway<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof PaymentMethodRejectedError) {
      throw new ProblemError('paymentMethodRejected', error.message, {
        field: 'payment_method',
        decline_code: error.declineCode,
      });
    }
    if (error instanceof GatewayUnavailableError) {
      throw new ProblemError(
        'unavailable',
        'The payment provider did not answer; retry with the same Idempotency-Key',
      );
    }
    if (error instanceof GatewayRequestError && error.context.operation === 'attachPaymentMethod') {
      if (error.reason === 'not_found') {
        throw new ProblemError('notFound', 'The payment provider has no such payment method', {
          field: 'payment_method',
        });
      }
      if (error.reason === 'invalid_request') {
        throw new ProblemError('unprocessable', error.message, { field: 'payment_method' });
      }
    }
    throw error;
  }
}

/** Tells each running subscription to retry an unpaid invoice with the new method. */
async function signalPaymentMethodUpdated(
  temporal: Client,
  workflowIds: readonly string[],
  paymentMethodId: string,
): Promise<void> {
  await Promise.all(
    workflowIds.map(async (workflowId) => {
      try {
        await temporal.workflow.getHandle(workflowId).signal(paymentMethodUpdatedSignal, { paymentMethodId });
      } catch (error) {
        // Completed (or never started) since the row was read: nothing is waiting for the method.
        if (!(error instanceof WorkflowNotFoundError)) throw error;
      }
    }),
  );
}
