import { createActivities } from '../../src/activities';
import type { UsageLinesInput } from '../../src/activities/contracts';
import { PriceCurrencyError, resolvePrice } from '../../src/db/catalog';
import { withTenant } from '../../src/db/with-tenant';
import { expectProblem, type TestTenant } from '../support/api-harness';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription, type SeededSubscription } from '../support/fixtures';
import { createUsageHarness, usageApi, type UsageHarness } from '../support/usage-harness';

// Usage charges billed at period end, as a billing specification: events go in through the real
// ingestion API, charges through POST /v1/plans/:id/charges, and the usage lines come from the
// usageLines activity over the hourly rollups — then issueInvoice records what was billed, which is
// what late events are adjusted against. USD: 1 minor unit = 1 cent.

let h: UsageHarness;
beforeAll(async () => {
  h = await createUsageHarness();
});
afterAll(async () => {
  await h?.close();
});

const activities = () => createActivities({ pool: h.pools.app, gateway: new FakeGateway() });
const SEPTEMBER = { start: '2026-09-01T00:00:00.000Z', end: '2026-10-01T00:00:00.000Z' };
const OCTOBER = { start: '2026-10-01T00:00:00.000Z', end: '2026-11-01T00:00:00.000Z' };
const NOVEMBER = { start: '2026-11-01T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' };

interface Setup {
  readonly tenant: TestTenant;
  readonly api: ReturnType<typeof usageApi>;
  readonly seeded: SeededSubscription;
}

async function setup(name: string): Promise<Setup> {
  const tenant = await h.newTenant(name);
  const seeded = await seedSubscription(h.pools.app, tenant.id, {
    createdAt: SEPTEMBER.start,
    amountMinor: 4900,
    recurrence: { interval: 'month', intervalCount: 1 },
  });
  return { tenant, api: usageApi(h, tenant), seeded };
}

async function addCharge(s: Setup, charge: Record<string, unknown>): Promise<string> {
  const res = await s.api.post(`/v1/plans/${s.seeded.planId}/charges`, charge);
  if (res.status !== 201) throw new Error(`charge: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

let eventSeq = 0;
/** `count` events named `name` spread over hours of `day` (ISO date), each with `properties(i)`. */
async function send(
  s: Setup,
  name: string,
  count: number,
  day: string,
  properties: (i: number) => Record<string, unknown> = () => ({}),
) {
  for (let offset = 0; offset < count; offset += 5_000) {
    const events = Array.from({ length: Math.min(5_000, count - offset) }, (_, j) => {
      const i = offset + j;
      eventSeq += 1;
      return {
        id: `evt-${eventSeq}`,
        customer: s.seeded.customerId,
        event_name: name,
        timestamp: `${day}T${String(i % 24).padStart(2, '0')}:17:00.000Z`,
        properties: properties(i),
      };
    });
    const res = await s.api.sendBatch(events);
    expect(res.status).toBe(200);
    expect(res.body.rejected ?? []).toEqual([]);
  }
}

function usageInput(s: Setup, period: { start: string; end: string }, key: string): UsageLinesInput {
  return {
    tenantId: s.tenant.id,
    subscriptionId: s.seeded.input.subscriptionId,
    customerId: s.seeded.customerId,
    currency: 'USD',
    period,
    items: s.seeded.input.items.map((item) => ({
      itemId: item.itemId,
      priceId: item.price.priceId,
      planId: item.price.planId,
    })),
    idempotencyKey: key,
  };
}

/** usageLines, then the invoice carrying them (with one plan line, as a renewal would). */
async function invoiceUsage(
  s: Setup,
  usagePeriod: { start: string; end: string },
  servicePeriod: typeof OCTOBER,
) {
  const key = `invoice:${s.seeded.input.subscriptionId}:${servicePeriod.start}`;
  const usage = await activities().usageLines(usageInput(s, usagePeriod, key));
  const invoice = await activities().issueInvoice({
    tenantId: s.tenant.id,
    subscriptionId: s.seeded.input.subscriptionId,
    customerId: s.seeded.customerId,
    currency: 'USD',
    billingReason: 'subscription_cycle',
    idempotencyKey: key,
    period: servicePeriod,
    lines: [
      {
        kind: 'subscription',
        description: 'Pro plan',
        quantity: 1,
        unitAmountMinor: 4900,
        amountMinor: 4900,
        periodStart: servicePeriod.start,
        periodEnd: servicePeriod.end,
        priceId: s.seeded.priceId,
        itemId: null,
      },
      ...usage.lines,
    ],
    usageBilled: usage.usageBilled,
    issuedAt: servicePeriod.start,
  });
  return { usage, invoice, key };
}

const described = (lines: ReadonlyArray<{ description: string; amountMinor: number }>) =>
  lines.map((line) => [line.description, line.amountMinor]);

describe('September usage of a plan with one charge per price model', () => {
  let s: Setup;
  let lines: Array<[string, number]>;
  beforeAll(async () => {
    s = await setup('usage price models');
    const calls = await s.api.createMeter({
      name: 'API calls',
      event_name: 'api_call',
      aggregation: 'count',
    });
    const storage = await s.api.createMeter({
      name: 'Storage',
      event_name: 'storage',
      aggregation: 'max',
      value_property: 'gb',
    });
    const seats = await s.api.createMeter({
      name: 'Seats',
      event_name: 'seats',
      aggregation: 'latest',
      value_property: 'count',
    });
    const users = await s.api.createMeter({
      name: 'Active users',
      event_name: 'login',
      aggregation: 'unique_count',
      value_property: 'user',
    });
    const tokens = await s.api.createMeter({
      name: 'Tokens',
      event_name: 'completion',
      aggregation: 'sum',
      value_property: 'tokens',
      group_by: ['model', 'region'],
    });
    const tiers = [
      { up_to: 1000, unit_amount: 10 },
      { up_to: null, unit_amount: 8 },
    ];
    await addCharge(s, {
      meter: calls,
      name: 'Calls (per unit)',
      model: 'per_unit',
      unit_amount_decimal: '0.04',
    });
    await addCharge(s, { meter: calls, name: 'Calls (graduated)', model: 'graduated', tiers });
    await addCharge(s, { meter: calls, name: 'Calls (volume)', model: 'volume', tiers });
    await addCharge(s, {
      meter: calls,
      name: 'Calls (package)',
      model: 'package',
      package_size: 1000,
      package_amount: 500,
    });
    await addCharge(s, {
      meter: storage,
      name: 'Storage',
      model: 'per_unit',
      unit_amount: 100,
      included_quantity: 10,
    });
    await addCharge(s, { meter: storage, name: 'Support', model: 'flat', amount: 2500 });
    await addCharge(s, {
      meter: seats,
      name: 'Seats',
      model: 'per_unit',
      unit_amount: 500,
      minimum_amount: 5000,
    });
    await addCharge(s, { meter: users, name: 'Active users', model: 'per_unit', unit_amount: 200 });
    await addCharge(s, {
      meter: tokens,
      name: 'Tokens',
      model: 'per_unit',
      unit_amount_decimal: '0.1',
      group_by: ['model'],
    });

    await send(s, 'api_call', 1_500, '2026-09-10');
    await send(s, 'storage', 3, '2026-09-11', (i) => ({ gb: ['4', '12.5', '7'][i] }));
    // latest: the count at the latest instant (hour 2 of Sep 30) wins over earlier, larger ones.
    await send(s, 'seats', 3, '2026-09-30', (i) => ({ count: [5, 9, 3][i] }));
    await send(s, 'login', 10, '2026-09-12', (i) => ({ user: ['ann', 'bob', 'cem'][i % 3] }));
    await send(s, 'completion', 4, '2026-09-13', (i) => ({
      tokens: [1500, 500, 300, 200][i],
      model: ['large', 'large', 'small', 'small'][i],
      region: ['eu', 'us', 'eu', 'us'][i],
    }));
    // Outside the period: the hour after it (October) and the hour before it (August) are not billed.
    await send(s, 'api_call', 7, '2026-10-01');
    await send(s, 'api_call', 5, '2026-08-31');

    const key = `invoice:${s.seeded.input.subscriptionId}:${OCTOBER.start}`;
    const usage = await activities().usageLines(usageInput(s, SEPTEMBER, key));
    lines = described(usage.lines) as Array<[string, number]>;
    expect(usage.usagePeriod).toEqual(SEPTEMBER);
  });

  it('per unit below one cent: 1,500 calls × 0.0004 = 0.60', () => {
    expect(lines).toContainEqual(['Calls (per unit): 1500 units × 0.0004', 60]);
  });

  it('graduated and volume differ on the same 1,500 calls: 140.00 vs 120.00', () => {
    // Graduated: the first 1,000 at 0.10 = 100.00, the other 500 at 0.08 = 40.00 → 140.00.
    expect(lines.filter(([d]) => d.startsWith('Calls (graduated)'))).toEqual([
      ['Calls (graduated): 1000 units (0–1000) × 0.1', 10000],
      ['Calls (graduated): 500 units (above 1000) × 0.08', 4000],
    ]);
    // Volume: all 1,500 at the tier 1,500 falls in, 0.08 → 120.00.
    expect(lines.filter(([d]) => d.startsWith('Calls (volume)'))).toEqual([
      ['Calls (volume): 1500 units × 0.08 (volume)', 12000],
    ]);
  });

  it('package: 1,500 calls in packages of 1,000 at 5.00 → 2 started packages = 10.00', () => {
    expect(lines).toContainEqual(['Calls (package): 2 × packages of 1000 units', 1000]);
  });

  it('included quantity with overage: max 12.5 GB, 10 GB included → 2.5 GB × 1.00 = 2.50', () => {
    expect(lines).toContainEqual(['Storage: 2.5 units × 1', 250]);
  });

  it('flat fee: 25.00 for the period', () => {
    expect(lines).toContainEqual(['Support: Flat fee', 2500]);
  });

  it('latest with a minimum commitment: 3 seats × 5.00 = 15.00, topped up to 50.00 (35.00 true-up)', () => {
    expect(lines.filter(([d]) => d.startsWith('Seats'))).toEqual([
      ['Seats: 3 units × 5', 1500],
      ['Seats: minimum commitment 50 USD (true-up)', 3500],
    ]);
  });

  it('unique_count: 10 logins by 3 distinct users × 2.00 = 6.00', () => {
    expect(lines).toContainEqual(['Active users: 3 units × 2', 600]);
  });

  it('group_by: one line per model, summed over regions (large 2,000, small 500 tokens × 0.001)', () => {
    expect(lines.filter(([d]) => d.startsWith('Tokens'))).toEqual([
      ['Tokens (model: large): 2000 units × 0.001', 200],
      ['Tokens (model: small): 500 units × 0.001', 50],
    ]);
  });

  it('the invoice total is the plan plus every usage line, each rounded once', async () => {
    const { invoice } = await invoiceUsage(s, SEPTEMBER, OCTOBER);
    // 49.00 + 0.60 + 140.00 + 120.00 + 10.00 + 2.50 + 25.00 + 15.00 + 35.00 + 6.00 + 2.00 + 0.50
    expect(invoice.subtotalMinor).toBe(
      4900 + 60 + 14000 + 12000 + 1000 + 250 + 2500 + 1500 + 3500 + 600 + 250,
    );
  });
});

describe('late usage for a period already invoiced', () => {
  it('is adjusted once on the next invoice, priced on the graduated tiers, and never again', async () => {
    const s = await setup('late usage');
    const calls = await s.api.createMeter({
      name: 'API calls',
      event_name: 'api_call',
      aggregation: 'count',
    });
    await addCharge(s, {
      meter: calls,
      name: 'Calls',
      model: 'graduated',
      tiers: [
        { up_to: 1000, unit_amount: 10 },
        { up_to: null, unit_amount: 8 },
      ],
    });
    // September: 900 calls → 900 × 0.10 = 90.00 on the October invoice.
    await send(s, 'api_call', 900, '2026-09-20');
    const october = await invoiceUsage(s, SEPTEMBER, OCTOBER);
    expect(described(october.usage.lines)).toEqual([['Calls: 900 units (0–1000) × 0.1', 9000]]);

    // 200 September calls arrive after that invoice, and 50 October calls on time.
    await send(s, 'api_call', 200, '2026-09-30');
    await send(s, 'api_call', 50, '2026-10-05');

    // November invoice: October's 50 calls (5.00), plus September repriced: 1,100 calls =
    // 1,000 × 0.10 + 100 × 0.08 = 108.00, billed 90.00 → +18.00 (not 200 × 0.10 = 20.00).
    const november = await invoiceUsage(s, OCTOBER, NOVEMBER);
    expect(described(november.usage.lines)).toEqual([
      ['Calls: 50 units (0–1000) × 0.1', 500],
      ['Late usage for 2026-09-01 – 2026-10-01: Calls, 900 → 1100 units', 1800],
    ]);
    expect(november.usage.lines[1]).toMatchObject({
      kind: 'adjustment',
      periodStart: SEPTEMBER.start,
      periodEnd: SEPTEMBER.end,
    });

    // Retrying the same invoice sees what the first attempt saw (its own records are ignored) and
    // issueInvoice returns the invoice already issued, recording nothing twice.
    const retry = await activities().usageLines(usageInput(s, OCTOBER, november.key));
    expect(retry.lines).toEqual(november.usage.lines);
    const reissued = await invoiceUsage(s, OCTOBER, NOVEMBER);
    expect(reissued.invoice.created).toBe(false);

    // December invoice: nothing new happened in September or October — no adjustment, ever again.
    const december = await activities().usageLines(
      usageInput(s, NOVEMBER, `invoice:${s.seeded.input.subscriptionId}:2026-12-01T00:00:00.000Z`),
    );
    expect(december.lines).toEqual([]);

    const rows = await withTenant(h.pools.app, s.tenant.id, (db) =>
      db.query<{
        period_start: Date;
        kind: string;
        quantity: string | null;
        amount_minor: string;
        late: boolean;
      }>(
        `SELECT period_start, kind, trim_scale(quantity)::text AS quantity, amount_minor, late
           FROM usage_billed WHERE subscription_id = $1 ORDER BY seq`,
        [s.seeded.input.subscriptionId],
      ),
    );
    expect(
      rows.rows.map((r) => [
        r.period_start.toISOString(),
        r.kind,
        r.quantity,
        Number(r.amount_minor),
        r.late,
      ]),
    ).toEqual([
      [SEPTEMBER.start, 'usage', '900', 9000, false],
      [SEPTEMBER.start, 'commitment', null, 0, false],
      [OCTOBER.start, 'usage', '50', 500, false],
      [OCTOBER.start, 'commitment', null, 0, false],
      [SEPTEMBER.start, 'usage', '1100', 1800, true],
      [SEPTEMBER.start, 'commitment', null, 0, true],
    ]);
    // usage_billed is append-only.
    await expect(
      withTenant(h.pools.app, s.tenant.id, (db) =>
        db.query('UPDATE usage_billed SET amount_minor = 0 WHERE subscription_id = $1', [
          s.seeded.input.subscriptionId,
        ]),
      ),
    ).rejects.toThrow(/append-only|permission denied/);
  });
});

describe('POST /v1/plans/:id/charges', () => {
  let s: Setup;
  let meter: string;
  beforeAll(async () => {
    s = await setup('charges api');
    meter = await s.api.createMeter({
      name: 'Tokens',
      event_name: 'completion',
      aggregation: 'sum',
      value_property: 'tokens',
      group_by: ['model'],
    });
  });

  it('creates a charge in the plan currency and lists it', async () => {
    const res = await s.api.post(`/v1/plans/${s.seeded.planId}/charges`, {
      meter,
      model: 'volume',
      tiers: [
        { up_to: '1000000', unit_amount_decimal: '0.002' },
        { up_to: null, unit_amount_decimal: '0.001', flat_amount: 100 },
      ],
      group_by: ['model'],
      minimum_amount: 1000,
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      object: 'plan_usage_charge',
      plan: s.seeded.planId,
      meter,
      name: 'Tokens',
      currency: 'USD',
      model: 'volume',
      tiers: [
        { up_to: '1000000', unit_amount_decimal: '0.002' },
        { up_to: null, unit_amount_decimal: '0.001', flat_amount: 100 },
      ],
      group_by: ['model'],
      included_quantity: '0',
      minimum_amount: 1000,
    });
    expect(res.body.id).toMatch(/^chg_[0-9A-Za-z]{20}$/);
    const list = await s.api.get(`/v1/plans/${s.seeded.planId}/charges`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toEqual([res.body.id]);
  });

  it('names the offending field: tiers[2].up_to not above the previous tier', async () => {
    const res = await s.api.post(`/v1/plans/${s.seeded.planId}/charges`, {
      meter,
      model: 'graduated',
      tiers: [
        { up_to: 100, unit_amount: 5 },
        { up_to: 200, unit_amount: 4 },
        { up_to: 150, unit_amount: 3 },
        { up_to: null, unit_amount: 2 },
      ],
    });
    expectProblem(res, 400, 'validation-error', 'tiers[2].up_to');
  });

  it('refuses float amounts, two unit prices, unknown models and group_by outside the meter', async () => {
    const url = `/v1/plans/${s.seeded.planId}/charges`;
    expectProblem(
      await s.api.post(url, { meter, model: 'per_unit', unit_amount: 0.04 }),
      400,
      'validation-error',
      'unit_amount',
    );
    expectProblem(
      await s.api.post(url, { meter, model: 'per_unit', unit_amount: 1, unit_amount_decimal: '0.5' }),
      400,
      'validation-error',
      'unit_amount',
    );
    expectProblem(
      await s.api.post(url, { meter, model: 'percentage', rate: 3 }),
      400,
      'validation-error',
      'model',
    );
    expectProblem(
      await s.api.post(url, { meter, model: 'flat', amount: 100, group_by: ['region'] }),
      400,
      'validation-error',
      'group_by[0]',
    );
    expectProblem(
      await s.api.post(`/v1/plans/plan_doesnotexist/charges`, { meter, model: 'flat', amount: 1 }),
      404,
      'not-found',
      'id',
    );
  });
});

describe('unique_count over a period that starts and ends in the middle of a day', () => {
  it('counts each user once across the partial edge days and the whole days between', async () => {
    const s = await setup('unique users mid-day');
    const users = await s.api.createMeter({
      name: 'Active users',
      event_name: 'login',
      aggregation: 'unique_count',
      value_property: 'user',
    });
    await addCharge(s, { meter: users, name: 'Active users', model: 'per_unit', unit_amount: 200 });
    // The usage period is [15 Sep 10:00, 15 Oct 10:00). Whole days: 16 Sep … 14 Oct; the 15ths are
    // partial and read by the hour.
    const logins: Array<[string, string]> = [
      ['2026-09-15T09:30:00.000Z', 'before'], // before the period: not counted
      ['2026-09-15T10:30:00.000Z', 'ada'], // first partial day
      ['2026-09-20T08:00:00.000Z', 'ada'], // a whole day: the same user again
      ['2026-10-01T12:00:00.000Z', 'grace'], // a whole day
      ['2026-10-15T09:59:00.000Z', 'linus'], // last partial day, inside
      ['2026-10-15T10:00:00.000Z', 'after'], // the next period's first hour: not counted
    ];
    const res = await s.api.sendBatch(
      logins.map(([timestamp, user], index) => ({
        id: `mid-day-${index}`,
        customer: s.seeded.customerId,
        event_name: 'login',
        timestamp,
        properties: { user },
      })),
    );
    expect(res.status).toBe(200);
    const usage = await activities().usageLines(
      usageInput(
        s,
        { start: '2026-09-15T10:00:00.000Z', end: '2026-10-15T10:00:00.000Z' },
        `invoice:${s.seeded.input.subscriptionId}:mid-day`,
      ),
    );
    // ada, grace and linus: 3 users × 2.00 = 6.00.
    expect(described(usage.lines)).toEqual([['Active users: 3 units × 2', 600]]);
  });
});

describe('usage charges are priced in the plan’s currency only', () => {
  it('refuses to sell a plan with usage charges to a customer billed in another currency', async () => {
    const s = await setup('charges and currencies');
    const calls = await s.api.createMeter({
      name: 'API calls',
      event_name: 'api_call',
      aggregation: 'count',
    });
    await addCharge(s, { meter: calls, name: 'API calls', model: 'per_unit', unit_amount: 1 });
    await s.api.post('/v1/fx_rates', {
      rates: [
        { base: 'USD', quote: 'EUR', rate: '0.92', effective_at: '2026-01-01T00:00:00Z', source: 'ECB' },
      ],
    });
    const customer = await s.api.post('/v1/customers', { email: 'eur@example.com', billing_currency: 'EUR' });
    expect(customer.status).toBe(201);
    // The plan line could be converted, but its usage could not be billed: refused, never sold half-billed.
    const refused = await withTenant(h.pools.app, s.tenant.id, (db) =>
      resolvePrice(db, { customerId: customer.body.id as string, planId: s.seeded.planId }),
    ).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PriceCurrencyError);
    expect((refused as PriceCurrencyError).message).toMatch(/usage charges priced in USD.*billed in EUR/);
  });

  it('refuses a charge on a plan that a running subscription pays in another currency', async () => {
    const s = await setup('charge after conversion');
    // A subscription that bought the plan converted to EUR (before the plan had any charge).
    await withTenant(h.pools.app, s.tenant.id, (db) =>
      db.query(`UPDATE subscriptions SET currency = 'EUR' WHERE id = $1`, [s.seeded.input.subscriptionId]),
    );
    const calls = await s.api.createMeter({
      name: 'API calls',
      event_name: 'api_call',
      aggregation: 'count',
    });
    const res = await s.api.post(`/v1/plans/${s.seeded.planId}/charges`, {
      meter: calls,
      name: 'API calls',
      model: 'per_unit',
      unit_amount: 1,
    });
    expectProblem(res, 422, 'unprocessable', 'plan');
  });
});
