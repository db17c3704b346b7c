// A tenant's billing settings, validated wherever they enter (API, database row) and defaulted when the
// tenant has chosen nothing.

import type { BillingSettings } from './billing-types';
import { DEFAULT_DUNNING_POLICY, DunningPolicyError, parseDunningPolicy } from './dunning';
import { ROUNDING_MODES, type RoundingMode } from './rounding';

export const DEFAULT_BILLING_SETTINGS: BillingSettings = {
  prorationGranularity: 'second',
  roundingMode: 'half_even',
  dunning: DEFAULT_DUNNING_POLICY,
  trialReminderDays: 3,
};

export class BillingSettingsError extends Error {
  override readonly name = 'BillingSettingsError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const KEYS = ['prorationGranularity', 'roundingMode', 'dunning', 'trialReminderDays'];

export function parseBillingSettings(value: unknown): BillingSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BillingSettingsError('settings', 'must be an object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key)) throw new BillingSettingsError(key, 'is not a billing setting');
  }
  const granularity = record.prorationGranularity;
  if (granularity !== 'second' && granularity !== 'day') {
    throw new BillingSettingsError('prorationGranularity', "must be 'second' or 'day'");
  }
  const roundingMode = record.roundingMode;
  if (!(ROUNDING_MODES as readonly unknown[]).includes(roundingMode)) {
    throw new BillingSettingsError('roundingMode', `must be one of ${ROUNDING_MODES.join(', ')}`);
  }
  const reminder = record.trialReminderDays;
  if (!Number.isInteger(reminder) || (reminder as number) < 0 || (reminder as number) > 30) {
    throw new BillingSettingsError('trialReminderDays', 'must be an integer 0..30');
  }
  let dunning;
  try {
    dunning = parseDunningPolicy(record.dunning);
  } catch (error) {
    if (error instanceof DunningPolicyError) {
      throw new BillingSettingsError(
        error.field === 'dunning' ? 'dunning' : `dunning.${error.field}`,
        error.message.replace(/^[^:]+: /, ''),
      );
    }
    throw error;
  }
  return {
    prorationGranularity: granularity,
    roundingMode: roundingMode as RoundingMode,
    dunning,
    trialReminderDays: reminder as number,
  };
}
