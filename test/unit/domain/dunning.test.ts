import {
  DEFAULT_DUNNING_POLICY,
  DunningPolicyError,
  exponentialRetryOffsets,
  graceEndsAt,
  maxAttempts,
  nextRetryAt,
  parseDunningPolicy,
} from '../../../src/domain/dunning';
import {
  BillingSettingsError,
  DEFAULT_BILLING_SETTINGS,
  parseBillingSettings,
} from '../../../src/domain/billing-settings';

describe('the default dunning policy: retries 1, 3, 5 and 7 days after the first failure', () => {
  const firstFailure = '2025-06-01T00:00:00.000Z';

  it('schedules each retry from the first failure, then gives up', () => {
    expect(maxAttempts(DEFAULT_DUNNING_POLICY)).toBe(5);
    expect([1, 2, 3, 4, 5].map((made) => nextRetryAt(DEFAULT_DUNNING_POLICY, firstFailure, made))).toEqual([
      '2025-06-02T00:00:00.000Z',
      '2025-06-04T00:00:00.000Z',
      '2025-06-06T00:00:00.000Z',
      '2025-06-08T00:00:00.000Z',
      null,
    ]);
  });

  it('keeps access for 7 days of grace', () => {
    expect(graceEndsAt(DEFAULT_DUNNING_POLICY, firstFailure)).toBe('2025-06-08T00:00:00.000Z');
  });
});

describe('exponential schedules', () => {
  it('doubles the delay each time: 24 h, then 48, 96, 192 → offsets 24, 72, 168, 360', () => {
    expect(
      exponentialRetryOffsets({ firstRetryAfterHours: 24, backoffCoefficient: 2, maxRetries: 4 }),
    ).toEqual([24, 72, 168, 360]);
  });

  it('refuses schedules beyond a year, naming the field', () => {
    expect(() =>
      exponentialRetryOffsets({ firstRetryAfterHours: 24, backoffCoefficient: 10, maxRetries: 6 }),
    ).toThrow(expect.objectContaining({ field: 'maxRetries' }));
  });
});

describe('policy validation names the field', () => {
  const valid = { retryOffsetsHours: [24, 72], gracePeriodHours: 48, finalAction: 'mark_unpaid' };
  it.each([
    [{ ...valid, retryOffsetsHours: [24, 24] }, 'retryOffsetsHours[1]'],
    [{ ...valid, retryOffsetsHours: [0] }, 'retryOffsetsHours[0]'],
    [{ ...valid, retryOffsetsHours: 'daily' }, 'retryOffsetsHours'],
    [{ ...valid, gracePeriodHours: -1 }, 'gracePeriodHours'],
    [{ ...valid, finalAction: 'delete' }, 'finalAction'],
    [{ ...valid, surprise: true }, 'surprise'],
  ])('%j → %s', (input, field) => {
    expect(() => parseDunningPolicy(input)).toThrow(DunningPolicyError);
    expect(() => parseDunningPolicy(input)).toThrow(expect.objectContaining({ field }));
  });

  it('accepts a valid policy unchanged', () => {
    expect(parseDunningPolicy(valid)).toEqual(valid);
  });
});

describe('billing settings', () => {
  it('round-trips the defaults', () => {
    expect(parseBillingSettings(DEFAULT_BILLING_SETTINGS)).toEqual(DEFAULT_BILLING_SETTINGS);
  });

  it('names nested dunning fields', () => {
    const bad = {
      ...DEFAULT_BILLING_SETTINGS,
      dunning: { ...DEFAULT_BILLING_SETTINGS.dunning, retryOffsetsHours: [5, 1] },
    };
    expect(() => parseBillingSettings(bad)).toThrow(BillingSettingsError);
    expect(() => parseBillingSettings(bad)).toThrow(
      expect.objectContaining({ field: 'dunning.retryOffsetsHours[1]' }),
    );
    expect(() => parseBillingSettings({ ...DEFAULT_BILLING_SETTINGS, roundingMode: 'nearest' })).toThrow(
      expect.objectContaining({ field: 'roundingMode' }),
    );
  });
});
