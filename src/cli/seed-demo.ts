import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm start` seeds a demo tenant through the real HTTP API: a tenant and API key (via the admin
 * endpoint), then a product, a monthly plan, a customer and its card (Stripe's test token
 * pm_card_visa, through stripe-mock unless .env names a Stripe key). Every POST carries an Idempotency-Key,
 * so running it again creates nothing new. The key is kept in .data/demo-tenant.json (git-ignored)
 * because the API shows a secret only once.
 */
interface DemoState {
  tenantId: string;
  apiKey: string;
}

const apiUrl = process.env.LEDGERLINE_API_URL ?? 'http://127.0.0.1:3000';
const uiUrl = process.env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233';
const adminToken = process.env.ADMIN_TOKEN ?? '';
const statePath = path.resolve(process.env.LEDGERLINE_DATA ?? '.data', 'demo-tenant.json');

async function call(method: string, url: string, token: string, body?: unknown, idempotencyKey?: string) {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    'content-type': 'application/json',
  };
  if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
  const response = await fetch(`${apiUrl}${url}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, json };
}

async function ensureTenant(): Promise<DemoState> {
  if (existsSync(statePath)) {
    const saved = JSON.parse(readFileSync(statePath, 'utf8')) as DemoState;
    const probe = await call('GET', '/v1/customers?limit=1', saved.apiKey);
    if (probe.status === 200) return saved;
    console.log('    saved demo API key no longer works (fresh database?); creating a new demo tenant');
  }
  const created = await call('POST', '/v1/admin/tenants', adminToken, {
    name: 'Demo SaaS Inc.',
    mode: 'test',
  });
  if (created.status !== 201)
    throw new Error(`creating the demo tenant failed: ${JSON.stringify(created.json)}`);
  const apiKey = (created.json.api_key as { secret: string }).secret;
  const state: DemoState = { tenantId: String(created.json.id), apiKey };
  mkdirSync(path.dirname(statePath), { recursive: true });
  writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
  return state;
}

async function createOnce(apiKey: string, url: string, key: string, body: unknown): Promise<string> {
  const result = await call('POST', url, apiKey, body, key);
  if (result.status !== 201) throw new Error(`POST ${url} failed: ${JSON.stringify(result.json)}`);
  return String(result.json.id);
}

/** The demo customer's card; a failure is reported, not fatal (subscriptions then go past_due). */
async function attachCard(apiKey: string, customerId: string): Promise<string> {
  const result = await call(
    'POST',
    `/v1/customers/${customerId}/payment_methods`,
    apiKey,
    { payment_method: 'pm_card_visa' },
    'demo-seed-payment-method',
  );
  if (result.status === 200) return `${String(result.json.default_payment_method)} (default)`;
  const reason = typeof result.json.detail === 'string' ? result.json.detail : `HTTP ${result.status}`;
  return `none: attaching pm_card_visa failed (${reason})`;
}

/** The demo seller: a New York company with sales-tax nexus in NY and TX (PUT is idempotent). */
async function ensureTaxProfile(apiKey: string): Promise<void> {
  const result = await call('PUT', '/v1/tax_profile', apiKey, {
    legal_name: 'Demo SaaS Inc.',
    address: {
      line1: '350 Fifth Avenue',
      city: 'New York',
      postal_code: '10118',
      state: 'NY',
      country: 'US',
    },
    email: 'billing@demo-saas.example',
    tax_ids: [{ type: 'us_ein', value: '12-3456789' }],
    registrations: { us_nexus_states: ['NY', 'TX'] },
    reporting_currency: 'USD',
    invoice_footer: 'Demo SaaS Inc. · Thank you for your business.',
  });
  if (result.status !== 200) throw new Error(`PUT /v1/tax_profile failed: ${JSON.stringify(result.json)}`);
}

async function main(): Promise<void> {
  const { tenantId, apiKey } = await ensureTenant();
  await ensureTaxProfile(apiKey);
  const productId = await createOnce(apiKey, '/v1/products', 'demo-seed-product', {
    name: 'Ledgerline Demo Pro',
    description: 'The demo tenant’s flagship plan',
  });
  const planId = await createOnce(apiKey, '/v1/plans', 'demo-seed-plan-monthly', {
    product: productId,
    amount: 4900,
    currency: 'USD',
    interval: 'month',
    nickname: 'Pro monthly',
  });
  const customerId = await createOnce(apiKey, '/v1/customers', 'demo-seed-customer', {
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    external_id: 'demo-customer-1',
    legal_name: 'Analytical Engines LLC',
    address: { line1: '1 Main Street', city: 'Brooklyn', postal_code: '11201', state: 'NY', country: 'US' },
  });
  const card = await attachCard(apiKey, customerId);
  const stripe = process.env.STRIPE_API_BASE ?? 'https://api.stripe.com';
  const lines = [
    '',
    '  Ledgerline is running.',
    `    API           ${apiUrl}   (health: ${apiUrl}/readyz)`,
    `    Temporal UI   ${uiUrl}`,
    `    Demo tenant   ${tenantId}`,
    `    API key       ${apiKey}`,
    `    Plan          ${planId}  (USD 49.00 / month)`,
    `    Customer      ${customerId}  (Brooklyn, NY: SaaS is taxed at the 4 % state rate)`,
    `    Card          ${card}`,
    `    Stripe        ${stripe}   (webhooks: POST ${apiUrl}/v1/webhooks/stripe, signed with STRIPE_WEBHOOK_SECRET)`,
    '',
    '  Create a subscription (it appears in the Temporal UI as subscription:<tenant>:<subscription>):',
    '',
    `    curl -s -X POST ${apiUrl}/v1/subscriptions \\`,
    `      -H 'Authorization: Bearer ${apiKey}' \\`,
    `      -H 'Content-Type: application/json' \\`,
    `      -d '{"customer":"${customerId}","plan":"${planId}"}'`,
    '',
    `  Then: curl -s ${apiUrl}/v1/subscriptions/<id> -H 'Authorization: Bearer ${apiKey}'`,
    `  The invoice as a PDF: curl -s ${apiUrl}/v1/invoices/<invoice id>/pdf -H 'Authorization: Bearer ${apiKey}' -o invoice.pdf`,
    ...(stripe.includes('127.0.0.1')
      ? [
          '  stripe-mock never confirms a payment: the first invoice stays open and the subscription starts',
          "  dunning (see its workflow's timeline). Play Stripe's part with a signed payment_intent.succeeded:",
          `    npm run demo:confirm-payment -- <invoice id from ${apiUrl}/v1/invoices>`,
        ]
      : []),
    `  Dunning and proration: curl -s ${apiUrl}/v1/billing_settings -H 'Authorization: Bearer ${apiKey}'`,
    `  Operators: ${uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`TenantId="${tenantId}"`)}`,
    '',
    '  Press Ctrl-C to stop everything npm start started.',
    '',
  ];
  console.log(lines.join('\n'));
}

main().catch((error: unknown) => {
  console.error(`ERROR: seeding the demo tenant failed: ${(error as Error).message}`);
  process.exit(1);
});
