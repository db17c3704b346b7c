import {
  allowancesOf,
  conversionOf,
  mergeEntitlements,
  quotaStatus,
  secondsUntil,
  usageWindow,
  type FeatureGrant,
} from '../../../src/domain/usage/entitlements';

const period = { periodStart: '2026-05-01T10:37:00.000Z', periodEnd: '2026-06-01T10:37:00.000Z' };
const bool = (subscriptionId: string, feature: string, planId = 'plan_a'): FeatureGrant => ({
  subscriptionId,
  planId,
  feature,
  kind: 'boolean',
  meterId: null,
  limit: null,
  enforcement: null,
  ...period,
});
const metered = (
  subscriptionId: string,
  limit: string,
  overrides: Partial<FeatureGrant> = {},
): FeatureGrant => ({
  subscriptionId,
  planId: 'plan_a',
  feature: 'api_calls',
  kind: 'metered',
  meterId: 'mtr_1',
  limit,
  enforcement: 'hard',
  ...period,
  ...overrides,
});

describe('mergeEntitlements', () => {
  it('ORs booleans across subscriptions and lists the granting subscriptions once each', () => {
    const merged = mergeEntitlements([
      bool('sub_b', 'sso'),
      bool('sub_a', 'sso'),
      bool('sub_a', 'sso', 'plan_x'),
    ]);
    expect(merged).toEqual([{ feature: 'sso', kind: 'boolean', subscriptionIds: ['sub_a', 'sub_b'] }]);
  });

  it('sums a plan and its add-ons inside one subscription, exactly (decimals), soft winning over hard', () => {
    const [allowance] = allowancesOf([
      metered('sub_a', '1000.5'),
      metered('sub_a', '0.25', { planId: 'plan_addon', enforcement: 'soft' }),
    ]);
    expect(allowance).toMatchObject({ limit: '1000.75', enforcement: 'soft', subscriptionId: 'sub_a' });
  });

  it('takes the most generous subscription across subscriptions, never a sum of different periods', () => {
    const merged = mergeEntitlements([
      metered('sub_a', '100'),
      metered('sub_b', '250', {
        periodStart: '2026-05-15T00:00:00.000Z',
        periodEnd: '2026-06-15T00:00:00.000Z',
      }),
    ]);
    expect(merged).toEqual([
      expect.objectContaining({
        kind: 'metered',
        subscriptionId: 'sub_b',
        limit: '250',
        periodEnd: '2026-06-15T00:00:00.000Z',
      }),
    ]);
  });

  it('breaks a tie on the limit by the earlier reset, then the subscription id', () => {
    const later = { periodStart: '2026-05-20T00:00:00.000Z', periodEnd: '2026-06-20T00:00:00.000Z' };
    expect(mergeEntitlements([metered('sub_a', '10', later), metered('sub_b', '10')])[0]).toMatchObject({
      subscriptionId: 'sub_b',
    });
    expect(mergeEntitlements([metered('sub_b', '10'), metered('sub_a', '10.0')])[0]).toMatchObject({
      subscriptionId: 'sub_a',
      limit: '10',
    });
  });

  it('sorts by feature and skips metered grants of a subscription without a period', () => {
    const merged = mergeEntitlements([
      bool('sub_a', 'zeta'),
      metered('sub_a', '5', { periodStart: null, periodEnd: null }),
      bool('sub_a', 'alpha'),
    ]);
    expect(merged.map((e) => e.feature)).toEqual(['alpha', 'zeta']);
  });

  it('refuses one feature metered by two meters in one subscription (a data error, not a merge)', () => {
    expect(() => allowancesOf([metered('sub_a', '1'), metered('sub_a', '1', { meterId: 'mtr_2' })])).toThrow(
      /metered by mtr_1 and mtr_2/,
    );
  });
});

describe('quotaStatus', () => {
  it('reports used, remaining and exhaustion exactly', () => {
    expect(quotaStatus({ limit: '100', enforcement: 'hard' }, '79.5')).toEqual({
      used: '79.5',
      remaining: '20.5',
      exhausted: false,
      allowed: true,
      overLimit: false,
    });
    expect(quotaStatus({ limit: '100', enforcement: 'hard' }, null)).toMatchObject({
      used: '0',
      remaining: '100',
    });
  });

  it('a hard limit refuses at the limit, a soft one only reports it', () => {
    expect(quotaStatus({ limit: '100', enforcement: 'hard' }, '100')).toMatchObject({
      allowed: false,
      exhausted: true,
      remaining: '0',
    });
    expect(quotaStatus({ limit: '100', enforcement: 'soft' }, '130')).toMatchObject({
      allowed: true,
      overLimit: true,
      remaining: '0',
    });
  });

  it('with a quantity: allowed while used + quantity fits', () => {
    expect(quotaStatus({ limit: '100', enforcement: 'hard' }, '98', '2').allowed).toBe(true);
    expect(quotaStatus({ limit: '100', enforcement: 'hard' }, '98', '2.01').allowed).toBe(false);
  });
});

describe('usageWindow and secondsUntil', () => {
  it('floors both bounds to the hour and stops after the hour following now', () => {
    const now = Date.parse('2026-05-03T12:10:00.000Z');
    expect(usageWindow(period.periodStart, period.periodEnd, now)).toEqual({
      fromMs: Date.parse('2026-05-01T10:00:00.000Z'),
      toMs: Date.parse('2026-05-03T14:00:00.000Z'),
    });
    const late = Date.parse('2026-06-01T10:30:00.000Z');
    expect(usageWindow(period.periodStart, period.periodEnd, late).toMs).toBe(
      Date.parse('2026-06-01T10:00:00.000Z'),
    );
  });

  it('Retry-After is whole seconds until the reset, at least 1', () => {
    expect(secondsUntil('2026-06-01T00:00:00.000Z', Date.parse('2026-05-31T23:59:58.200Z'))).toBe(2);
    expect(secondsUntil('2026-06-01T00:00:00.000Z', Date.parse('2026-06-01T00:00:05.000Z'))).toBe(1);
  });
});

describe('conversionOf', () => {
  const free = { status: 'active', planId: 'plan_free', priceId: 'price_free', unitAmountMinor: 0 };
  const paid = { status: 'active', planId: 'plan_pro', priceId: 'price_pro', unitAmountMinor: 2900 };

  it('free → paid plan change converts; paid → paid and paid → free do not', () => {
    expect(conversionOf(free, paid, false)).toEqual({
      kind: 'plan_change',
      from: { planId: 'plan_free', priceId: 'price_free', unitAmountMinor: 0 },
      to: { planId: 'plan_pro', priceId: 'price_pro', unitAmountMinor: 2900 },
    });
    expect(conversionOf(paid, { ...paid, priceId: 'price_pro2', unitAmountMinor: 3900 }, false)).toBeNull();
    expect(conversionOf(paid, free, false)).toBeNull();
    expect(conversionOf(free, { ...paid, status: 'canceled' }, false)).toBeNull();
  });

  it('a trial becoming active on a paid price converts; the same state again does not', () => {
    const trialing = { ...paid, status: 'trialing' };
    expect(conversionOf(trialing, paid, true)).toMatchObject({ kind: 'trial' });
    expect(conversionOf(paid, paid, true)).toBeNull();
    expect(conversionOf(trialing, { ...trialing }, true)).toBeNull();
    expect(conversionOf(null, paid, true)).toBeNull();
  });
});
