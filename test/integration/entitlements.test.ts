import { withTenant } from '../../src/db/with-tenant';
import { getStateQuery, subscriptionWorkflowId } from '../../src/workflows/contracts';
import {
  apiAs,
  createApiHarness,
  createTenant,
  eventually,
  expectProblem,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';

// Freemium and quotas through the HTTP API on the Temporal dev server (real time): plan features,
// entitlements read at request time, the quota check (429 + Retry-After), usage thresholds at 80 % and
// 100 % (outbox + workflow signal, exactly once), free-to-paid conversions. Events are ingested on
// ingest threads, as in the API server, so the accepted customers reach the threshold watcher across
// threads.

let harness: ApiHarness;
beforeAll(async () => {
  harness = await createApiHarness(`entitlements-${Date.now()}`, { ingestThreads: true });
  await harness.startWorker();
});
afterAll(async () => {
  await harness?.close();
});

let seq = 0;
const uid = (prefix: string) => `${prefix}-${Date.now()}-${(seq += 1)}`;

interface Setup {
  tenant: TestTenant;
  api: ReturnType<typeof apiAs>;
  customerId: string;
  externalId: string;
  meterId: string;
  freePlan: string;
  proPlan: string;
}

/** A tenant with an `api_call` count meter, Free (0, 100 calls hard, basic_reports) and Pro (2900, 1000 calls, +sso). */
async function setup(name: string): Promise<Setup> {
  const tenant = await createTenant(harness, name);
  const api = apiAs(harness, tenant);
  const externalId = uid('user');
  const customer = await api.post('/v1/customers', { email: 'ada@example.com', external_id: externalId });
  expect(customer.status).toBe(201);
  const card = await api.post(`/v1/customers/${customer.body.id as string}/payment_methods`, {
    payment_method: 'pm_card_visa',
  });
  expect(card.status).toBe(200);
  const meter = await api.post('/v1/meters', {
    name: 'API calls',
    event_name: 'api_call',
    aggregation: 'count',
  });
  expect(meter.status).toBe(201);
  const plan = async (productName: string, amount: number) => {
    const product = await api.post('/v1/products', { name: productName });
    const created = await api.post('/v1/plans', {
      product: product.body.id,
      amount,
      currency: 'usd',
      interval: 'month',
    });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };
  const freePlan = await plan('Free', 0);
  const proPlan = await plan('Pro', 2900);
  const feature = async (planId: string, body: Record<string, unknown>) => {
    const res = await api.post(`/v1/plans/${planId}/features`, body);
    expect(res.status).toBe(201);
    return res;
  };
  await feature(freePlan, { feature: 'basic_reports', kind: 'boolean' });
  await feature(freePlan, { feature: 'api_calls', kind: 'metered', meter: meter.body.id, limit: 100 });
  await feature(proPlan, { feature: 'basic_reports', kind: 'boolean' });
  await feature(proPlan, { feature: 'sso', kind: 'boolean' });
  await feature(proPlan, {
    feature: 'api_calls',
    kind: 'metered',
    meter: meter.body.id,
    limit: '1000',
    enforcement: 'hard',
  });
  return {
    tenant,
    api,
    customerId: customer.body.id as string,
    externalId,
    meterId: meter.body.id as string,
    freePlan,
    proPlan,
  };
}

async function subscribe(s: Setup, planId: string) {
  const created = await s.api.post('/v1/subscriptions', {
    customer: s.customerId,
    items: [{ plan: planId }],
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  await eventually(async () =>
    expect((await s.api.get(`/v1/subscriptions/${id}`)).body.status).toBe('active'),
  );
  return created.body as { id: string; current_period_end: string; items: { data: Array<{ id: string }> } };
}

/** `count` api_call events for the customer (by external id), ids given so a test can resend them. */
async function ingest(s: Setup, ids: string[]) {
  const res = await s.api.post('/v1/events/batch', {
    events: ids.map((id) => ({ id, customer: s.externalId, event_name: 'api_call' })),
  });
  expect(res.status).toBe(200);
  return res.body as { accepted_count: number; duplicate_count: number };
}

const idsOf = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

async function outboxOf(s: Setup, type: string) {
  return withTenant(harness.pools.app, s.tenant.id, async (db) => {
    const { rows } = await db.query<{ payload: { data: Record<string, unknown> }; idempotency_key: string }>(
      'SELECT payload, idempotency_key FROM outbox_events WHERE event_type = $1 ORDER BY created_at, id',
      [type],
    );
    return rows.map((row) => row.payload.data);
  });
}

const check = (s: Setup, feature: string, extra = '') =>
  s.api.get(`/v1/entitlements/check?customer=${encodeURIComponent(s.externalId)}&feature=${feature}${extra}`);

/** Long enough for the watcher's debounced pass (200 ms) to have run on what was just ingested. */
const afterAPass = () => new Promise((resolve) => setTimeout(resolve, 1_200));

describe('entitlements', () => {
  it('lists the features of the active subscription with quota figures, and checks boolean flags', async () => {
    const s = await setup('Entitlements list Co');
    const before = await s.api.get(`/v1/entitlements?customer=${s.customerId}`);
    expect(before.status).toBe(200);
    expect(before.body.data).toEqual([]);

    const sub = await subscribe(s, s.freePlan);
    await ingest(s, idsOf(uid('list'), 3));
    const listed = await s.api.get(`/v1/entitlements?customer=${encodeURIComponent(s.externalId)}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ object: 'list', customer: s.customerId });
    expect(listed.body.data).toEqual([
      {
        object: 'entitlement',
        feature: 'api_calls',
        kind: 'metered',
        meter: s.meterId,
        limit: '100',
        used: '3',
        remaining: '97',
        enforcement: 'hard',
        period: { start: expect.any(String), end: sub.current_period_end },
        resets_at: sub.current_period_end,
        subscription: sub.id,
        exhausted: false,
      },
      { object: 'entitlement', feature: 'basic_reports', kind: 'boolean', subscriptions: [sub.id] },
    ]);

    const granted = await check(s, 'basic_reports');
    expect(granted.status).toBe(200);
    expect(granted.body).toEqual({
      object: 'entitlement_check',
      customer: s.customerId,
      feature: 'basic_reports',
      allowed: true,
      kind: 'boolean',
    });
    const notGranted = await check(s, 'sso');
    expect(notGranted.status).toBe(200);
    expect(notGranted.body).toMatchObject({ allowed: false, reason: 'not_granted' });

    // A canceled subscription grants nothing.
    const canceled = await s.api.delete(`/v1/subscriptions/${sub.id}`);
    expect(canceled.status).toBe(200);
    await eventually(async () =>
      expect((await s.api.get(`/v1/entitlements?customer=${s.customerId}`)).body.data).toEqual([]),
    );
    expect((await check(s, 'basic_reports')).body).toMatchObject({ allowed: false });
  });

  it('announces 80 % and 100 % once each (outbox + workflow signal), refuses past a hard limit with 429, and an upgrade lifts it at once', async () => {
    const s = await setup('Quota Co');
    const sub = await subscribe(s, s.freePlan);
    const handle = harness.env.client.workflow.getHandle(subscriptionWorkflowId(s.tenant.id, sub.id));

    // 79 % → nothing.
    const first = idsOf(uid('q1'), 79);
    expect((await ingest(s, first)).accepted_count).toBe(79);
    await afterAPass();
    expect(await outboxOf(s, 'usage.threshold_reached')).toEqual([]);
    expect((await check(s, 'api_calls')).body).toMatchObject({ allowed: true, used: '79', remaining: '21' });

    // 85 % → one 80 % event and the signal in the workflow's state.
    await ingest(s, idsOf(uid('q2'), 6));
    const period = { start: expect.any(String), end: sub.current_period_end };
    await eventually(async () =>
      expect(await outboxOf(s, 'usage.threshold_reached')).toEqual([
        {
          customer: s.customerId,
          subscription: sub.id,
          feature: 'api_calls',
          meter: s.meterId,
          threshold: 80,
          used: '85',
          limit: '100',
          period,
        },
      ]),
    );
    await eventually(async () =>
      expect((await handle.query(getStateQuery)).usageThresholds).toEqual([
        expect.objectContaining({ feature: 'api_calls', threshold: 80, used: '85', limit: '100' }),
      ]),
    );

    // 100 % → the 100 % event, and the hard limit refuses: 429 + Retry-After until the period resets.
    const third = idsOf(uid('q3'), 15);
    await ingest(s, third);
    const refused = await check(s, 'api_calls');
    expectProblem(refused, 429, 'quota-exceeded', 'feature');
    const retryAfter = Number(refused.headers['retry-after']);
    const untilReset = (Date.parse(sub.current_period_end) - Date.now()) / 1000;
    expect(retryAfter).toBeGreaterThan(untilReset - 5);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(untilReset) + 1);
    expect(refused.body).toMatchObject({
      limit: '100',
      used: '100',
      remaining: '0',
      resets_at: sub.current_period_end,
    });
    await eventually(async () =>
      expect((await outboxOf(s, 'usage.threshold_reached')).map((e) => e.threshold)).toEqual([80, 100]),
    );
    await eventually(async () =>
      expect((await handle.query(getStateQuery)).usageThresholds?.map((c) => c.threshold)).toEqual([80, 100]),
    );

    // Resent events are duplicates (not counted), and more usage announces nothing twice.
    expect(await ingest(s, [...first.slice(0, 10), ...third])).toMatchObject({
      accepted_count: 0,
      duplicate_count: 25,
    });
    await ingest(s, idsOf(uid('q4'), 5));
    await afterAPass();
    expect((await outboxOf(s, 'usage.threshold_reached')).map((e) => e.threshold)).toEqual([80, 100]);
    const crossings = await withTenant(harness.pools.app, s.tenant.id, (db) =>
      db.query('SELECT threshold, signaled_at FROM usage_threshold_crossings ORDER BY threshold'),
    );
    expect(crossings.rows.map((r: { threshold: number }) => r.threshold)).toEqual([80, 100]);
    expect(crossings.rows.every((r: { signaled_at: Date | null }) => r.signaled_at !== null)).toBe(true);
    expect((await check(s, 'api_calls', '&quantity=1')).status).toBe(429);

    // Upgrade through the API (workflow update → activity persists the items): allowed at once.
    const upgraded = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: sub.items.data[0]?.id, plan: s.proPlan }],
    });
    expect(upgraded.status).toBe(200);
    expect(upgraded.body.plan).toBe(s.proPlan);
    const allowed = await check(s, 'api_calls');
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ allowed: true, limit: '1000', used: '105', remaining: '895' });
    expect((await check(s, 'sso')).body).toMatchObject({ allowed: true });

    // The free → paid move is recorded once, with its outbox event and in the report.
    const conversions = await withTenant(harness.pools.app, s.tenant.id, (db) =>
      db.query(
        'SELECT kind, from_plan_id, to_plan_id, from_unit_amount_minor, to_unit_amount_minor FROM plan_conversions',
      ),
    );
    expect(conversions.rows).toEqual([
      {
        kind: 'plan_change',
        from_plan_id: s.freePlan,
        to_plan_id: s.proPlan,
        from_unit_amount_minor: 0,
        to_unit_amount_minor: 2900,
      },
    ]);
    expect(await outboxOf(s, 'subscription.converted')).toEqual([
      expect.objectContaining({ kind: 'plan_change', subscription: sub.id, customer: s.customerId }),
    ]);
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 3_600_000).toISOString();
    const report = await s.api.get(`/v1/reports/conversions?from=${from}&to=${to}`);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      object: 'conversion_report',
      total: 1,
      data: [{ kind: 'plan_change', from_plan: s.freePlan, to_plan: s.proPlan, count: 1 }],
    });
    // A later change (quantity) persists again: still one conversion.
    const quantity = await s.api.post(`/v1/subscriptions/${sub.id}`, {
      items: [{ id: sub.items.data[0]?.id, quantity: 2 }],
    });
    expect(quantity.status).toBe(200);
    const again = await s.api.get(`/v1/reports/conversions?from=${from}&to=${to}`);
    expect(again.body.total).toBe(1);
  });

  it('a soft limit allows past the limit and says so', async () => {
    const s = await setup('Soft Co');
    const res = await s.api.post(`/v1/plans/${s.freePlan}/features`, {
      feature: 'api_calls',
      kind: 'metered',
      meter: s.meterId,
      limit: '2',
      enforcement: 'soft',
    });
    expect(res.status).toBe(200); // replaced
    await subscribe(s, s.freePlan);
    await ingest(s, idsOf(uid('soft'), 3));
    const checked = await check(s, 'api_calls');
    expect(checked.status).toBe(200);
    expect(checked.body).toMatchObject({
      allowed: true,
      over_limit: true,
      used: '3',
      remaining: '0',
      limit: '2',
    });
  });

  it('records a trial ending into a paid period as a conversion', async () => {
    const s = await setup('Trial Co');
    const trialEnd = new Date(Math.ceil((Date.now() + 4_000) / 1000) * 1000).toISOString();
    const created = await s.api.post('/v1/subscriptions', {
      customer: s.customerId,
      items: [{ plan: s.proPlan }],
      trial_end: trialEnd,
    });
    expect(created.status).toBe(201);
    const conversions = async () =>
      (
        await withTenant(harness.pools.app, s.tenant.id, (db) =>
          db.query<{ kind: string; to_plan_id: string }>('SELECT kind, to_plan_id FROM plan_conversions'),
        )
      ).rows;
    expect(await conversions()).toEqual([]);
    await eventually(
      async () => expect(await conversions()).toEqual([{ kind: 'trial', to_plan_id: s.proPlan }]),
      30_000,
    );
  });

  it('keeps tenants apart', async () => {
    const a = await setup('Isolation A');
    await subscribe(a, a.freePlan);
    await ingest(a, idsOf(uid('iso'), 90));
    await eventually(async () => expect(await outboxOf(a, 'usage.threshold_reached')).toHaveLength(1));
    const other = await createTenant(harness, 'Isolation B');
    const b = apiAs(harness, other);

    expectProblem(await b.get(`/v1/entitlements?customer=${a.customerId}`), 404, 'not-found', 'customer');
    expectProblem(
      await b.get(`/v1/entitlements/check?customer=${a.externalId}&feature=api_calls`),
      404,
      'not-found',
      'customer',
    );
    expectProblem(await b.get(`/v1/plans/${a.freePlan}/features`), 404, 'not-found', 'id');
    expectProblem(
      await b.post(`/v1/plans/${a.freePlan}/features`, { feature: 'x', kind: 'boolean' }),
      404,
      'not-found',
      'id',
    );
    const counts = await withTenant(harness.pools.app, other.id, (db) =>
      db.query<{ features: number; crossings: number; conversions: number }>(
        `SELECT (SELECT count(*) FROM plan_features) AS features,
                (SELECT count(*) FROM usage_threshold_crossings) AS crossings,
                (SELECT count(*) FROM plan_conversions) AS conversions`,
      ),
    );
    expect(counts.rows[0]).toEqual({ features: 0, crossings: 0, conversions: 0 });
    const own = await withTenant(harness.pools.app, a.tenant.id, (db) =>
      db.query<{ n: string }>('SELECT count(*) AS n FROM usage_threshold_crossings'),
    );
    expect(Number(own.rows[0]?.n)).toBe(1);
    const report = await b.get(
      `/v1/reports/conversions?from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`,
    );
    expect(report.body).toMatchObject({ total: 0, data: [] });
  });

  it('rejects bad input naming the field', async () => {
    const s = await setup('Bad input Co');
    expectProblem(await s.api.get('/v1/entitlements'), 400, 'validation-error', 'customer');
    expectProblem(
      await s.api.get(`/v1/entitlements?customer=${s.customerId}&x=1`),
      400,
      'validation-error',
      'x',
    );
    expectProblem(
      await s.api.get(`/v1/entitlements/check?customer=${s.customerId}`),
      400,
      'validation-error',
      'feature',
    );
    expectProblem(
      await s.api.get(`/v1/entitlements/check?customer=${s.customerId}&feature=Bad%20Key`),
      400,
      'validation-error',
      'feature',
    );
    expectProblem(
      await s.api.get(`/v1/entitlements/check?customer=${s.customerId}&feature=api_calls&quantity=-1`),
      400,
      'validation-error',
      'quantity',
    );
    expectProblem(
      await s.api.get('/v1/entitlements/check?customer=cus_nobody&feature=api_calls'),
      404,
      'not-found',
      'customer',
    );

    const features = `/v1/plans/${s.freePlan}/features`;
    expectProblem(
      await s.api.post(features, { feature: 'x', kind: 'tiered' }),
      400,
      'validation-error',
      'kind',
    );
    expectProblem(
      await s.api.post(features, { feature: 'x', kind: 'metered', limit: 5 }),
      400,
      'validation-error',
      'meter',
    );
    expectProblem(
      await s.api.post(features, { feature: 'x', kind: 'metered', meter: s.meterId, limit: 2.5 }),
      400,
      'validation-error',
      'limit',
    );
    expectProblem(
      await s.api.post(features, {
        feature: 'x',
        kind: 'metered',
        meter: s.meterId,
        limit: 5,
        enforcement: 'strict',
      }),
      400,
      'validation-error',
      'enforcement',
    );
    expectProblem(
      await s.api.post(features, { feature: 'x', kind: 'boolean', limit: 5 }),
      400,
      'validation-error',
      'limit',
    );
    expectProblem(
      await s.api.post(features, {
        feature: 'x',
        kind: 'metered',
        meter: 'mtr_00000000000000000000',
        limit: 5,
      }),
      404,
      'not-found',
      'meter',
    );
    // A key means one thing across the tenant's plans.
    expectProblem(
      await s.api.post(features, { feature: 'sso', kind: 'metered', meter: s.meterId, limit: 1 }),
      409,
      'conflict',
      'kind',
    );
    expectProblem(
      await s.api.post('/v1/plans/plan_nope/features', { feature: 'x', kind: 'boolean' }),
      404,
      'not-found',
      'id',
    );

    expectProblem(
      await s.api.get('/v1/reports/conversions?from=2026-01-01T00:00:00Z'),
      400,
      'validation-error',
      'to',
    );
    expectProblem(
      await s.api.get('/v1/reports/conversions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'),
      400,
      'validation-error',
      'to',
    );
    expectProblem(
      await s.api.get('/v1/reports/conversions?from=yesterday&to=2026-01-01T00:00:00Z'),
      400,
      'validation-error',
      'from',
    );

    const listed = await s.api.get(features);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((f: { feature: string }) => f.feature)).toEqual([
      'api_calls',
      'basic_reports',
    ]);
    expect(listed.body.data[0]).toMatchObject({
      kind: 'metered',
      limit: '100',
      period: 'billing_period',
      enforcement: 'hard',
    });
    const removed = await s.api.delete(`${features}/basic_reports`);
    expect(removed.status).toBe(200);
    expectProblem(await s.api.delete(`${features}/basic_reports`), 404, 'not-found', 'feature');
  });
});
