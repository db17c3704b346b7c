import { createActivities } from '../../src/activities';
import {
  apiAs,
  createApiHarness,
  createTenant,
  expectProblem,
  type ApiHarness,
  type TestTenant,
} from '../support/api-harness';

// GET/POST /v1/billing_settings: defaults, partial updates, the two ways to give a retry schedule, and
// the domain's validation reported on the field the client wrote.

let harness: ApiHarness;

beforeAll(async () => {
  harness = await createApiHarness(`api-billing-settings-${Date.now()}`);
});

afterAll(async () => {
  await harness?.close();
});

const DEFAULTS = {
  object: 'billing_settings',
  proration_granularity: 'second',
  rounding_mode: 'half_even',
  dunning: { retry_schedule_days: [1, 3, 5, 7], grace_period_days: 7, final_action: 'cancel' },
  trial_reminder_days: 3,
  updated_at: null,
};

async function freshTenant(): Promise<TestTenant> {
  return createTenant(harness, `Settings ${Math.random()}`);
}

describe('billing settings', () => {
  it('shows the defaults while the tenant has chosen nothing', async () => {
    const res = await apiAs(harness, await freshTenant()).get('/v1/billing_settings');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(DEFAULTS);
  });

  it('stores a full update and the workflow’s activity reads it in the domain’s units', async () => {
    const tenant = await freshTenant();
    const res = await apiAs(harness, tenant).post('/v1/billing_settings', {
      proration_granularity: 'day',
      rounding_mode: 'half_up',
      dunning: { retry_schedule_days: [1, 2.5, 6], grace_period_days: 3, final_action: 'mark_unpaid' },
      trial_reminder_days: 7,
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      object: 'billing_settings',
      proration_granularity: 'day',
      rounding_mode: 'half_up',
      dunning: { retry_schedule_days: [1, 2.5, 6], grace_period_days: 3, final_action: 'mark_unpaid' },
      trial_reminder_days: 7,
      updated_at: expect.any(String),
    });
    expect((await apiAs(harness, tenant).get('/v1/billing_settings')).body).toEqual(res.body);

    const activities = createActivities({ pool: harness.pools.app, gateway: harness.gateway });
    await expect(activities.getBillingSettings({ tenantId: tenant.id })).resolves.toEqual({
      prorationGranularity: 'day',
      roundingMode: 'half_up',
      dunning: { retryOffsetsHours: [24, 60, 144], gracePeriodHours: 72, finalAction: 'mark_unpaid' },
      trialReminderDays: 7,
    });
  });

  it('applies a partial update on top of the current settings', async () => {
    const tenant = await freshTenant();
    const api = apiAs(harness, tenant);
    await api.post('/v1/billing_settings', { rounding_mode: 'down' });
    const res = await api.post('/v1/billing_settings', { dunning: { final_action: 'mark_unpaid' } });
    expect(res.body).toMatchObject({
      rounding_mode: 'down',
      proration_granularity: 'second',
      dunning: { retry_schedule_days: [1, 3, 5, 7], grace_period_days: 7, final_action: 'mark_unpaid' },
    });
  });

  it('computes an exponential schedule (24 h ×2, 4 retries → days 1, 3, 7, 15)', async () => {
    const res = await apiAs(harness, await freshTenant()).post('/v1/billing_settings', {
      dunning: { exponential: { first_retry_after_hours: 24, backoff_coefficient: 2, max_retries: 4 } },
    });
    expect(res.status).toBe(200);
    expect(res.body.dunning.retry_schedule_days).toEqual([1, 3, 7, 15]);
  });

  it('accepts an empty schedule (no retries: the final action follows the first failure)', async () => {
    const res = await apiAs(harness, await freshTenant()).post('/v1/billing_settings', {
      dunning: { retry_schedule_days: [], grace_period_days: 0 },
    });
    expect(res.status).toBe(200);
    expect(res.body.dunning).toEqual({
      retry_schedule_days: [],
      grace_period_days: 0,
      final_action: 'cancel',
    });
  });

  it.each([
    [
      'a schedule that goes back in time',
      { dunning: { retry_schedule_days: [1, 3, 2] } },
      'dunning.retry_schedule_days[2]',
    ],
    [
      'a retry after more than a year',
      { dunning: { retry_schedule_days: [400] } },
      'dunning.retry_schedule_days[0]',
    ],
    [
      'more than 20 retries',
      { dunning: { retry_schedule_days: Array.from({ length: 21 }, (_, i) => i + 1) } },
      'dunning.retry_schedule_days',
    ],
    ['a grace period beyond a year', { dunning: { grace_period_days: 366 } }, 'dunning.grace_period_days'],
    ['a trial reminder of 31 days', { trial_reminder_days: 31 }, 'trial_reminder_days'],
    ['a fractional trial reminder', { trial_reminder_days: 1.5 }, 'trial_reminder_days'],
    [
      'a backoff coefficient below 1',
      { dunning: { exponential: { first_retry_after_hours: 24, backoff_coefficient: 0.5, max_retries: 3 } } },
      'dunning.exponential.backoff_coefficient',
    ],
    [
      'an exponential schedule that runs past a year',
      { dunning: { exponential: { first_retry_after_hours: 2000, backoff_coefficient: 3, max_retries: 5 } } },
      'dunning.exponential.max_retries',
    ],
  ])('refuses %s with 422 naming the field', async (_label, body, field) => {
    const tenant = await freshTenant();
    const res = await apiAs(harness, tenant).post('/v1/billing_settings', body);
    expectProblem(res, 422, 'unprocessable', field);
    expect(res.body.errors).toEqual([{ field, message: expect.any(String) }]);
    expect((await apiAs(harness, tenant).get('/v1/billing_settings')).body).toEqual(DEFAULTS);
  });

  it.each([
    ['an unknown rounding mode', { rounding_mode: 'banker' }, 'rounding_mode'],
    ['an unknown granularity', { proration_granularity: 'hour' }, 'proration_granularity'],
    [
      'a day that is not whole hours',
      { dunning: { retry_schedule_days: [1, 1.01] } },
      'dunning.retry_schedule_days[1]',
    ],
    [
      'a string in the schedule',
      { dunning: { retry_schedule_days: [1, '3'] } },
      'dunning.retry_schedule_days[1]',
    ],
    [
      'both kinds of schedule',
      {
        dunning: {
          retry_schedule_days: [1],
          exponential: { first_retry_after_hours: 24, backoff_coefficient: 2, max_retries: 1 },
        },
      },
      'dunning.exponential',
    ],
    ['an unknown dunning field', { dunning: { retries: 3 } }, 'dunning.retries'],
    ['an unknown final action', { dunning: { final_action: 'delete' } }, 'dunning.final_action'],
    ['an unknown top-level field', { currency: 'USD' }, 'currency'],
  ])('refuses %s with 400 naming the field', async (_label, body, field) => {
    const res = await apiAs(harness, await freshTenant()).post('/v1/billing_settings', body);
    expectProblem(res, 400, 'validation-error', field);
  });

  it('replays a POST with the same Idempotency-Key and refuses the key for another body', async () => {
    const api = apiAs(harness, await freshTenant());
    const first = await api.post('/v1/billing_settings', { trial_reminder_days: 5 }, 'settings-1');
    const again = await api.post('/v1/billing_settings', { trial_reminder_days: 5 }, 'settings-1');
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    expectProblem(
      await api.post('/v1/billing_settings', { trial_reminder_days: 6 }, 'settings-1'),
      422,
      'idempotency-key-reused',
      'Idempotency-Key',
    );
  });

  it('keeps each tenant’s settings to itself', async () => {
    const [a, b] = await Promise.all([freshTenant(), freshTenant()]);
    await apiAs(harness, a).post('/v1/billing_settings', { rounding_mode: 'floor' });
    expect((await apiAs(harness, b).get('/v1/billing_settings')).body).toEqual(DEFAULTS);
    expect((await apiAs(harness, a).get('/v1/billing_settings')).body.rounding_mode).toBe('floor');
  });

  it('serializes concurrent partial updates (neither overwrites the other)', async () => {
    const api = apiAs(harness, await freshTenant());
    await Promise.all([
      api.post('/v1/billing_settings', { rounding_mode: 'ceiling' }),
      api.post('/v1/billing_settings', { trial_reminder_days: 10 }),
      api.post('/v1/billing_settings', { dunning: { grace_period_days: 2 } }),
    ]);
    const res = await api.get('/v1/billing_settings');
    expect(res.body).toMatchObject({
      rounding_mode: 'ceiling',
      trial_reminder_days: 10,
      dunning: { grace_period_days: 2 },
    });
  });

  it('needs an API key', async () => {
    const res = await apiAs(harness, { id: 'ten_x', key: 'sk_test_nope' }).get('/v1/billing_settings');
    expectProblem(res, 401, 'unauthorized', 'Authorization');
  });
});
