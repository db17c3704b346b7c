import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import express, { Router } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { withTenant } from '../../db/with-tenant';
import { WebhookSignatureError } from '../../gateways/errors';
import type {
  PaymentFailedEvent,
  PaymentGateway,
  PaymentSucceededEvent,
} from '../../gateways/payment-gateway';
import {
  paymentFailedSignal,
  paymentSucceededSignal,
  type PaymentFailedSignal,
  type PaymentSucceededSignal,
} from '../../workflows/contracts';
import { ProblemError } from '../problem';

export interface WebhookRouteDeps {
  readonly pool: Pool;
  readonly gateway: PaymentGateway;
  readonly temporal: Client;
  readonly logger: Logger;
}

/** How long a delivery may wait for Temporal; Stripe gives up on an endpoint after about 10-20 s. */
const SIGNAL_DEADLINE_MS = 8_000;

const IDS = {
  tenantId: /^ten_[0-9A-Za-z]{1,64}$/,
  subscriptionId: /^sub_[0-9A-Za-z]{1,64}$/,
  invoiceId: /^inv_[0-9A-Za-z]{1,64}$/,
};

type PaymentEvent = PaymentSucceededEvent | PaymentFailedEvent;

interface Route {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly invoiceId: string;
}

/**
 * POST /v1/webhooks/stripe. Mounted before the JSON parser and the API-key check: Stripe signs the raw
 * bytes, and authenticates with that signature instead of a key.
 *
 * Delivery is at least once. The event id is recorded in gateway_webhook_events in the same transaction
 * that signals the workflow, committed only after the signal was accepted: a failed signal rolls the
 * record back and answers 5xx, so Stripe redelivers; a redelivery of a handled event is acknowledged
 * without a second signal. A concurrent duplicate waits on the first one's row lock.
 */
export function stripeWebhookRouter(deps: WebhookRouteDeps): Router {
  const { pool, gateway, temporal, logger } = deps;
  const router = Router();
  router.post('/', express.raw({ type: 'application/json', limit: '1mb' }), async (req, res) => {
    const rawBody: unknown = req.body;
    if (!Buffer.isBuffer(rawBody)) {
      throw new ProblemError('unsupportedMediaType', 'Stripe webhooks are application/json', {
        field: 'Content-Type',
      });
    }
    let event;
    try {
      event = gateway.parseWebhook(rawBody, req.get('stripe-signature'));
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        throw new ProblemError('invalidWebhookSignature', `${error.message} (${error.reason})`, {
          field: error.reason === 'malformed_payload' ? 'body' : 'Stripe-Signature',
        });
      }
      throw error;
    }
    if (event.type === 'other') {
      res.json({ received: true, ignored: true });
      return;
    }
    const route = routeOf(event);
    if (route === undefined) {
      // A payment someone else made on this Stripe account (no Ledgerline metadata): not ours.
      res.json({ received: true, ignored: true });
      return;
    }

    const outcome = await withTenant(pool, route.tenantId, async (db) => {
      const { rows } = await db.query<{ workflow_id: string }>(
        'SELECT workflow_id FROM subscriptions WHERE id = $1',
        [route.subscriptionId],
      );
      const workflowId = rows[0]?.workflow_id;
      if (workflowId === undefined) return 'unknown_subscription' as const;
      const claimed = await db.query(
        `INSERT INTO gateway_webhook_events (tenant_id, provider, event_id, event_type)
         VALUES (current_tenant_id(), $1, $2, $3) ON CONFLICT DO NOTHING`,
        [gateway.provider, event.eventId, event.type],
      );
      if (claimed.rowCount === 0) return 'duplicate' as const;
      try {
        await temporal.withDeadline(Date.now() + SIGNAL_DEADLINE_MS, () =>
          signal(temporal, workflowId, event, route.invoiceId),
        );
        return 'signaled' as const;
      } catch (error) {
        // The subscription's workflow has finished: no one left to tell, and redelivery cannot change it.
        if (error instanceof WorkflowNotFoundError) return 'workflow_not_running' as const;
        logger.error(
          { err: error, eventId: event.eventId, workflowId },
          'could not signal a payment webhook',
        );
        // Rolls the event record back: Stripe redelivers it later.
        throw new ProblemError(
          'unavailable',
          'The subscription could not be reached; deliver the event again',
        );
      }
    });

    switch (outcome) {
      case 'signaled':
        res.json({ received: true });
        return;
      case 'duplicate':
        res.json({ received: true, duplicate: true });
        return;
      case 'unknown_subscription':
      case 'workflow_not_running':
        logger.warn(
          { eventId: event.eventId, ...route, outcome },
          'payment webhook not delivered to a workflow',
        );
        res.json({ received: true, ignored: true, reason: outcome });
        return;
    }
  });
  return router;
}

/** The tenant, subscription and invoice that `charge` stored in the payment's metadata, if all are there. */
function routeOf(event: PaymentEvent): Route | undefined {
  const { tenantId, subscriptionId, invoiceId } = event.metadata;
  if (
    tenantId === undefined ||
    subscriptionId === undefined ||
    invoiceId === undefined ||
    !IDS.tenantId.test(tenantId) ||
    !IDS.subscriptionId.test(subscriptionId) ||
    !IDS.invoiceId.test(invoiceId)
  ) {
    return undefined;
  }
  return { tenantId, subscriptionId, invoiceId };
}

async function signal(
  temporal: Client,
  workflowId: string,
  event: PaymentEvent,
  invoiceId: string,
): Promise<void> {
  const handle = temporal.workflow.getHandle(workflowId);
  if (event.type === 'payment_succeeded') {
    const payload: PaymentSucceededSignal = {
      invoiceId,
      providerPaymentId: event.providerPaymentId,
      amountMinor: event.amountMinor,
      currency: event.currency,
    };
    await handle.signal(paymentSucceededSignal, payload);
  } else {
    const payload: PaymentFailedSignal = {
      invoiceId,
      providerPaymentId: event.providerPaymentId,
      declineCode: event.declineCode,
      message: event.message,
    };
    await handle.signal(paymentFailedSignal, payload);
  }
}
