// Demo only: plays Stripe's part when stripe-mock stands in for Stripe. stripe-mock validates requests
// but never confirms a PaymentIntent, so a demo charge comes back as needing a payment method and the
// invoice stays open. This sends the webhook Stripe would send once the payment succeeds — a
// `payment_intent.succeeded` event signed with the local STRIPE_WEBHOOK_SECRET — to the real endpoint,
// which verifies it and signals the subscription's workflow like any production delivery.
//
// Usage: npm run demo:confirm-payment -- <invoice id>
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';

const apiUrl = process.env.LEDGERLINE_API_URL ?? 'http://127.0.0.1:3000';
const dataDir = path.resolve(process.env.LEDGERLINE_DATA ?? '.data');

async function main(): Promise<void> {
  const invoiceId = process.argv[2];
  if (invoiceId === undefined || !/^inv_[A-Za-z0-9]+$/.test(invoiceId)) {
    throw new Error('usage: npm run demo:confirm-payment -- inv_…');
  }
  const demo = JSON.parse(readFileSync(path.join(dataDir, 'demo-tenant.json'), 'utf8')) as {
    tenantId: string;
    apiKey: string;
  };
  const secret =
    process.env.STRIPE_WEBHOOK_SECRET ??
    readFileSync(path.join(dataDir, 'stripe-webhook-secret'), 'utf8').trim();

  const response = await fetch(`${apiUrl}/v1/invoices/${invoiceId}`, {
    headers: { Authorization: `Bearer ${demo.apiKey}` },
  });
  const invoice = (await response.json()) as {
    subscription?: string;
    amount_remaining?: number;
    currency?: string;
    status?: string;
  };
  if (!response.ok || invoice.subscription === undefined)
    throw new Error(`GET invoice ${invoiceId}: ${JSON.stringify(invoice)}`);
  if (invoice.status !== 'open')
    throw new Error(`invoice ${invoiceId} is ${String(invoice.status)}, nothing to confirm`);

  const paymentIntentId = `pi_demo_${randomBytes(8).toString('hex')}`;
  const payload = JSON.stringify({
    id: `evt_demo_${randomBytes(8).toString('hex')}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type: 'payment_intent.succeeded',
    data: {
      object: {
        id: paymentIntentId,
        object: 'payment_intent',
        amount: invoice.amount_remaining,
        amount_received: invoice.amount_remaining,
        currency: (invoice.currency ?? 'usd').toLowerCase(),
        status: 'succeeded',
        last_payment_error: null,
        metadata: { tenantId: demo.tenantId, subscriptionId: invoice.subscription, invoiceId },
      },
    },
  });
  const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret });
  const delivered = await fetch(`${apiUrl}/v1/webhooks/stripe`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Stripe-Signature': signature },
    body: payload,
  });
  console.log(`POST /v1/webhooks/stripe → ${delivered.status} ${await delivered.text()}`);
  console.log(`Then: curl -s ${apiUrl}/v1/invoices/${invoiceId} -H 'Authorization: Bearer ${demo.apiKey}'`);
}

main().catch((error: unknown) => {
  console.error((error as Error).message);
  process.exit(1);
});
