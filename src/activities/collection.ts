import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { newId } from '../db/ids';
import { postJournalEntry } from '../db/ledger';
import { insertOutboxEvents } from '../db/outbox';
import { withTenant } from '../db/with-tenant';
import { paymentCapturedEntry } from '../domain/ledger';
import { GatewayRequestError, PaymentMethodRejectedError } from '../gateways/errors';
import type { ChargeResult, PaymentGateway } from '../gateways/payment-gateway';
import {
  PAYMENT_DECLINED_ERROR_TYPE,
  type CollectPaymentInput,
  type CollectPaymentResult,
  type PaymentDeclinedDetails,
  type RecordGatewayFailureInput,
  type RecordGatewayPaymentInput,
  type RecordGatewayPaymentResult,
} from './contracts';

interface CollectableInvoice {
  id: string;
  status: string;
  number: string | null;
  currency: string;
  customer_id: string;
  subscription_id: string;
  amount_due_minor: number;
  amount_paid_minor: number;
}

type Prepared =
  | { kind: 'paid'; amountMinor: number }
  | { kind: 'declined'; details: PaymentDeclinedDetails }
  | {
      kind: 'charge';
      invoice: CollectableInvoice;
      remainingMinor: number;
      providerCustomerId: string;
      paymentMethodId: string;
    };

export function createCollectionActivities({
  pool,
  gateway,
}: {
  readonly pool: Pool;
  readonly gateway: PaymentGateway;
}) {
  return {
    /**
     * One collection attempt. The attempt row is written before the gateway is called and the gateway
     * key is `charge:{invoiceId}:{attempt}`, so a retry after a crash or timeout replays the provider's
     * first answer instead of charging again. A decline is recorded, then thrown as a non-retryable
     * ApplicationFailure (PaymentDeclined) that the workflow turns into dunning.
     */
    async collectPayment(input: CollectPaymentInput): Promise<CollectPaymentResult> {
      const idempotencyKey = `charge:${input.invoiceId}:${input.attempt}`;
      const prepared = await withTenant(pool, input.tenantId, (db) =>
        prepareAttempt(db, input, idempotencyKey),
      );
      if (prepared.kind === 'paid') {
        return {
          status: 'paid',
          invoiceId: input.invoiceId,
          amountMinor: prepared.amountMinor,
          providerPaymentId: null,
        };
      }
      if (prepared.kind === 'declined') throw declinedFailure(prepared.details);

      const { invoice, remainingMinor } = prepared;
      let result: ChargeResult;
      try {
        result = await whileHeartbeating(
          gateway.charge({
            idempotencyKey,
            providerCustomerId: prepared.providerCustomerId,
            paymentMethodId: prepared.paymentMethodId,
            amountMinor: remainingMinor,
            currency: invoice.currency,
            description: `Invoice ${invoice.number ?? invoice.id}`,
            metadata: {
              tenantId: input.tenantId,
              subscriptionId: invoice.subscription_id,
              invoiceId: invoice.id,
            },
          }),
        );
      } catch (error) {
        // Outages (GatewayUnavailableError) propagate and are retried with the same key.
        if (error instanceof GatewayRequestError || error instanceof PaymentMethodRejectedError) {
          const details = await recordDecline(pool, input, {
            declineCode:
              error instanceof PaymentMethodRejectedError
                ? 'payment_method_rejected'
                : 'gateway_request_error',
            message: error.message,
            adviceCode: null,
            providerPaymentId: null,
          });
          throw declinedFailure(details);
        }
        throw error;
      }

      if (result.status === 'succeeded') {
        await withTenant(pool, input.tenantId, (db) =>
          recordCapture(db, input.tenantId, invoice, {
            providerPaymentId: result.providerPaymentId,
            amountMinor: result.amountMinor,
            occurredAt: input.attemptedAt,
            attempt: input.attempt,
          }),
        );
        return {
          status: 'paid',
          invoiceId: invoice.id,
          amountMinor: result.amountMinor,
          providerPaymentId: result.providerPaymentId,
        };
      }
      if (result.status === 'processing' || result.status === 'requires_action') {
        await withTenant(pool, input.tenantId, async (db) => {
          await db.query(
            `UPDATE payment_attempts SET status = $3, provider_payment_id = $4, updated_at = now()
              WHERE invoice_id = $1 AND attempt = $2`,
            [invoice.id, input.attempt, result.status, result.providerPaymentId],
          );
          if (result.status === 'requires_action') {
            await insertOutboxEvents(db, input.tenantId, [
              {
                type: 'invoice.payment_action_required',
                idempotencyKey: `invoice.payment_action_required:${invoice.id}:${input.attempt}`,
                occurredAt: input.attemptedAt,
                data: { invoice: invoice.id, attempt: input.attempt },
                emailCustomer: true,
                subscriptionId: invoice.subscription_id,
                customerId: invoice.customer_id,
              },
            ]);
          }
        });
        return { status: result.status, invoiceId: invoice.id, providerPaymentId: result.providerPaymentId };
      }
      const details = await recordDecline(pool, input, {
        declineCode: result.declineCode,
        message: result.message,
        adviceCode: result.adviceCode ?? null,
        providerPaymentId: result.providerPaymentId ?? null,
      });
      throw declinedFailure(details);
    },

    /** A payment the provider reports as succeeded (webhook): idempotent on the provider's payment id. */
    async recordGatewayPayment(input: RecordGatewayPaymentInput): Promise<RecordGatewayPaymentResult> {
      return withTenant(pool, input.tenantId, async (db) => {
        const invoice = await lockInvoice(db, input.invoiceId);
        if (invoice.status === 'open') {
          const remainingMinor = invoice.amount_due_minor - invoice.amount_paid_minor;
          if (input.amountMinor !== remainingMinor || input.currency !== invoice.currency) {
            throw ApplicationFailure.create({
              type: 'PaymentAmountMismatch',
              nonRetryable: true,
              message: `payment ${input.providerPaymentId} of ${input.amountMinor} ${input.currency} does not settle invoice ${invoice.id} (${remainingMinor} ${invoice.currency} due)`,
            });
          }
          await recordCapture(db, input.tenantId, invoice, {
            providerPaymentId: input.providerPaymentId,
            amountMinor: input.amountMinor,
            occurredAt: input.occurredAt,
            attempt: null,
          });
          return { invoiceId: invoice.id, status: 'paid', amountDueMinor: invoice.amount_due_minor };
        }
        return {
          invoiceId: invoice.id,
          status: invoice.status as RecordGatewayPaymentResult['status'],
          amountDueMinor: invoice.amount_due_minor,
        };
      });
    },

    /** An asynchronous failure the provider reports (webhook) for an attempt that was processing. */
    async recordGatewayFailure(input: RecordGatewayFailureInput): Promise<void> {
      await withTenant(pool, input.tenantId, async (db) => {
        const invoice = await lockInvoice(db, input.invoiceId);
        const updated = await db.query<{ attempt: number }>(
          `UPDATE payment_attempts SET status = 'declined', decline_code = $3, decline_message = $4, updated_at = now()
            WHERE invoice_id = $1 AND provider_payment_id = $2 AND status <> 'declined'
        RETURNING attempt`,
          [invoice.id, input.providerPaymentId, input.declineCode, input.message],
        );
        if (updated.rowCount === 0) return;
        await insertOutboxEvents(db, input.tenantId, [
          {
            type: 'invoice.payment_failed',
            idempotencyKey: `invoice.payment_failed:${invoice.id}:${input.providerPaymentId}`,
            occurredAt: input.occurredAt,
            data: { invoice: invoice.id, decline_code: input.declineCode, message: input.message },
            emailCustomer: true,
            subscriptionId: invoice.subscription_id,
            customerId: invoice.customer_id,
          },
        ]);
      });
    },
  };
}

async function lockInvoice(db: PoolClient, invoiceId: string): Promise<CollectableInvoice> {
  const { rows } = await db.query<CollectableInvoice>(
    `SELECT id, status, number, currency, customer_id, subscription_id, amount_due_minor, amount_paid_minor
       FROM invoices WHERE id = $1 FOR UPDATE`,
    [invoiceId],
  );
  const invoice = rows[0];
  if (!invoice) throw new Error(`invoice ${invoiceId} not found`);
  return invoice;
}

async function prepareAttempt(
  db: PoolClient,
  input: CollectPaymentInput,
  idempotencyKey: string,
): Promise<Prepared> {
  const invoice = await lockInvoice(db, input.invoiceId);
  if (invoice.status === 'paid') return { kind: 'paid', amountMinor: 0 };
  if (invoice.status !== 'open') {
    throw ApplicationFailure.create({
      type: 'InvoiceNotCollectible',
      nonRetryable: true,
      message: `invoice ${invoice.id} is ${invoice.status}; only open invoices are collected`,
    });
  }
  // A retried activity whose first run already recorded a decline reports the same decline.
  const previous = await db.query<{
    status: string;
    decline_code: string | null;
    decline_message: string | null;
    provider_payment_id: string | null;
  }>(
    'SELECT status, decline_code, decline_message, provider_payment_id FROM payment_attempts WHERE invoice_id = $1 AND attempt = $2',
    [invoice.id, input.attempt],
  );
  const earlier = previous.rows[0];
  if (earlier?.status === 'declined') {
    return {
      kind: 'declined',
      details: {
        invoiceId: invoice.id,
        attempt: input.attempt,
        declineCode: earlier.decline_code ?? 'card_declined',
        message: earlier.decline_message ?? 'declined',
        adviceCode: null,
        providerPaymentId: earlier.provider_payment_id,
      },
    };
  }
  const remainingMinor = invoice.amount_due_minor - invoice.amount_paid_minor;
  const profile = await db.query<{ provider_customer_id: string; default_payment_method_id: string | null }>(
    `SELECT provider_customer_id, default_payment_method_id FROM customer_payment_profiles
      WHERE customer_id = $1 AND provider = 'stripe'`,
    [invoice.customer_id],
  );
  const paymentProfile = profile.rows[0];
  await db.query(
    `INSERT INTO payment_attempts (id, tenant_id, invoice_id, attempt, idempotency_key, trigger, status, amount_minor,
                                   currency, attempted_at)
     VALUES ($1, current_tenant_id(), $2, $3, $4, $5, 'pending', $6, $7, $8)
     ON CONFLICT (tenant_id, invoice_id, attempt) DO NOTHING`,
    [
      newId('paymentAttempt'),
      invoice.id,
      input.attempt,
      idempotencyKey,
      input.trigger,
      remainingMinor,
      invoice.currency,
      input.attemptedAt,
    ],
  );
  await db.query('UPDATE invoices SET attempt_count = greatest(attempt_count, $2) WHERE id = $1', [
    invoice.id,
    input.attempt,
  ]);
  if (paymentProfile === undefined || paymentProfile.default_payment_method_id === null) {
    const details = await markDeclined(db, invoice, input, {
      declineCode: 'no_payment_method',
      message: 'The customer has no payment method on file',
      adviceCode: null,
      providerPaymentId: null,
    });
    return { kind: 'declined', details };
  }
  return {
    kind: 'charge',
    invoice,
    remainingMinor,
    providerCustomerId: paymentProfile.provider_customer_id,
    paymentMethodId: paymentProfile.default_payment_method_id,
  };
}

type DeclineFacts = Pick<
  PaymentDeclinedDetails,
  'declineCode' | 'message' | 'adviceCode' | 'providerPaymentId'
>;

async function recordDecline(
  pool: Pool,
  input: CollectPaymentInput,
  facts: DeclineFacts,
): Promise<PaymentDeclinedDetails> {
  return withTenant(pool, input.tenantId, async (db) =>
    markDeclined(db, await lockInvoice(db, input.invoiceId), input, facts),
  );
}

async function markDeclined(
  db: PoolClient,
  invoice: CollectableInvoice,
  input: CollectPaymentInput,
  facts: DeclineFacts,
): Promise<PaymentDeclinedDetails> {
  await db.query(
    `UPDATE payment_attempts SET status = 'declined', decline_code = $3, decline_message = $4, provider_payment_id = $5,
                                 updated_at = now()
      WHERE invoice_id = $1 AND attempt = $2`,
    [invoice.id, input.attempt, facts.declineCode, facts.message, facts.providerPaymentId],
  );
  await insertOutboxEvents(db, await tenantOf(db), [
    {
      type: 'invoice.payment_failed',
      idempotencyKey: `invoice.payment_failed:${invoice.id}:${input.attempt}`,
      occurredAt: input.attemptedAt,
      data: {
        invoice: invoice.id,
        attempt: input.attempt,
        trigger: input.trigger,
        decline_code: facts.declineCode,
        message: facts.message,
        amount_due: invoice.amount_due_minor - invoice.amount_paid_minor,
        currency: invoice.currency,
      },
      emailCustomer: true,
      subscriptionId: invoice.subscription_id,
      customerId: invoice.customer_id,
    },
  ]);
  return { invoiceId: invoice.id, attempt: input.attempt, ...facts };
}

async function tenantOf(db: PoolClient): Promise<string> {
  const { rows } = await db.query<{ tenant_id: string }>('SELECT current_tenant_id() AS tenant_id');
  const tenantId = rows[0]?.tenant_id;
  if (tenantId === undefined) throw new Error('no tenant in this transaction');
  return tenantId;
}

/** Invoice paid, payment in the ledger (cash / receivable), attempt marked, outbox — one transaction. */
async function recordCapture(
  db: PoolClient,
  tenantId: string,
  invoice: CollectableInvoice,
  payment: { providerPaymentId: string; amountMinor: number; occurredAt: string; attempt: number | null },
): Promise<void> {
  const paid = await db.query(
    `UPDATE invoices SET status = 'paid', amount_paid_minor = amount_paid_minor + $2, paid_at = $3
      WHERE id = $1 AND status = 'open'`,
    [invoice.id, payment.amountMinor, payment.occurredAt],
  );
  await postJournalEntry(
    db,
    tenantId,
    paymentCapturedEntry({
      paymentId: payment.providerPaymentId,
      customerId: invoice.customer_id,
      currency: invoice.currency,
      occurredAt: payment.occurredAt,
      amountMinor: payment.amountMinor,
    }),
  );
  await db.query(
    `UPDATE payment_attempts SET status = 'succeeded', provider_payment_id = $2, updated_at = now()
      WHERE invoice_id = $1 AND (attempt = $3 OR provider_payment_id = $2)`,
    [invoice.id, payment.providerPaymentId, payment.attempt],
  );
  if (paid.rowCount === 1) {
    await insertOutboxEvents(db, tenantId, [
      {
        type: 'invoice.paid',
        idempotencyKey: `invoice.paid:${invoice.id}`,
        occurredAt: payment.occurredAt,
        data: {
          invoice: invoice.id,
          amount_paid: payment.amountMinor,
          currency: invoice.currency,
          payment: payment.providerPaymentId,
        },
        emailCustomer: true,
        subscriptionId: invoice.subscription_id,
        customerId: invoice.customer_id,
      },
    ]);
  }
}

function declinedFailure(details: PaymentDeclinedDetails): ApplicationFailure {
  return ApplicationFailure.create({
    type: PAYMENT_DECLINED_ERROR_TYPE,
    nonRetryable: true,
    message: `payment for invoice ${details.invoiceId} (attempt ${details.attempt}) declined: ${details.declineCode} — ${details.message}`,
    details: [details],
  });
}

const HEARTBEAT_INTERVAL_MS = 5_000;

/**
 * Heartbeats while a gateway call is in flight, so a worker that dies mid-charge is noticed after the
 * heartbeat timeout (seconds) instead of the start-to-close timeout (minutes), and gives up the wait
 * when the worker shuts down. The retry reuses the idempotency key, so the provider replays its answer.
 * Outside an activity (direct calls in tests) it just awaits the work.
 */
async function whileHeartbeating<T>(work: Promise<T>): Promise<T> {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return work;
  }
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    return await Promise.race([work, context.cancelled]);
  } finally {
    clearInterval(timer);
  }
}
