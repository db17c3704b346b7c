// Dunning policy: when a failed payment is retried, when access is suspended, and what happens when the
// retries are used up. Time is a parameter; offsets are whole hours after the first failure.

import type { DunningFinalAction, DunningPolicy } from './billing-types';
import { formatInstant, parseInstantMs } from './calendar';

export const DEFAULT_DUNNING_POLICY: DunningPolicy = {
  // 1, 3, 5 and 7 days after the first failure.
  retryOffsetsHours: [24, 72, 120, 168],
  gracePeriodHours: 168,
  finalAction: 'cancel',
};

export const MAX_RETRIES = 20;
export const MAX_OFFSET_HOURS = 8760;
const MS_PER_HOUR = 3_600_000;
const FINAL_ACTIONS: readonly DunningFinalAction[] = ['cancel', 'mark_unpaid'];

/** A policy that cannot be used; `field` is a dotted path like `retryOffsetsHours[2]`. */
export class DunningPolicyError extends Error {
  override readonly name = 'DunningPolicyError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

export function parseDunningPolicy(value: unknown): DunningPolicy {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DunningPolicyError('dunning', 'must be an object');
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!['retryOffsetsHours', 'gracePeriodHours', 'finalAction'].includes(key)) {
      throw new DunningPolicyError(key, 'is not a dunning setting');
    }
  }
  const offsets = record.retryOffsetsHours;
  if (!Array.isArray(offsets)) throw new DunningPolicyError('retryOffsetsHours', 'must be an array of hours');
  if (offsets.length > MAX_RETRIES) {
    throw new DunningPolicyError(
      'retryOffsetsHours',
      `at most ${MAX_RETRIES} retries, got ${offsets.length}`,
    );
  }
  let previous = 0;
  offsets.forEach((offset: unknown, index) => {
    const field = `retryOffsetsHours[${index}]`;
    if (!Number.isInteger(offset) || (offset as number) < 1 || (offset as number) > MAX_OFFSET_HOURS) {
      throw new DunningPolicyError(field, `must be an integer 1..${MAX_OFFSET_HOURS}, got ${String(offset)}`);
    }
    if ((offset as number) <= previous) {
      throw new DunningPolicyError(field, `must be later than the previous retry (${previous} h)`);
    }
    previous = offset as number;
  });
  const grace = record.gracePeriodHours;
  if (!Number.isInteger(grace) || (grace as number) < 0 || (grace as number) > MAX_OFFSET_HOURS) {
    throw new DunningPolicyError(
      'gracePeriodHours',
      `must be an integer 0..${MAX_OFFSET_HOURS}, got ${String(grace)}`,
    );
  }
  const finalAction = record.finalAction;
  if (!FINAL_ACTIONS.includes(finalAction as DunningFinalAction)) {
    throw new DunningPolicyError('finalAction', `must be one of ${FINAL_ACTIONS.join(', ')}`);
  }
  return {
    retryOffsetsHours: offsets as number[],
    gracePeriodHours: grace as number,
    finalAction: finalAction as DunningFinalAction,
  };
}

/**
 * Retry offsets for an exponential schedule: delay_i = round(first × coefficient^i) hours, offsets are
 * their running sums (24 h, ×2, 4 retries → 24, 72, 168, 360).
 */
export function exponentialRetryOffsets(options: {
  readonly firstRetryAfterHours: number;
  readonly backoffCoefficient: number;
  readonly maxRetries: number;
}): number[] {
  const { firstRetryAfterHours: first, backoffCoefficient: coefficient, maxRetries } = options;
  if (!Number.isInteger(first) || first < 1 || first > MAX_OFFSET_HOURS) {
    throw new DunningPolicyError('firstRetryAfterHours', `must be an integer 1..${MAX_OFFSET_HOURS}`);
  }
  if (
    typeof coefficient !== 'number' ||
    !Number.isFinite(coefficient) ||
    coefficient < 1 ||
    coefficient > 10
  ) {
    throw new DunningPolicyError('backoffCoefficient', 'must be a number 1..10');
  }
  if (!Number.isInteger(maxRetries) || maxRetries < 0 || maxRetries > MAX_RETRIES) {
    throw new DunningPolicyError('maxRetries', `must be an integer 0..${MAX_RETRIES}`);
  }
  const offsets: number[] = [];
  let total = 0;
  for (let i = 0; i < maxRetries; i += 1) {
    total += Math.max(1, Math.round(first * coefficient ** i));
    if (total > MAX_OFFSET_HOURS) {
      throw new DunningPolicyError('maxRetries', `retry ${i + 1} would be after ${MAX_OFFSET_HOURS} hours`);
    }
    offsets.push(total);
  }
  return offsets;
}

/** The automatic attempt plus the retries. */
export function maxAttempts(policy: DunningPolicy): number {
  return 1 + policy.retryOffsetsHours.length;
}

/** When to try again after `attemptsMade` failed attempts (>= 1), or null when the retries are used up. */
export function nextRetryAt(
  policy: DunningPolicy,
  firstFailureAt: string,
  attemptsMade: number,
): string | null {
  if (!Number.isInteger(attemptsMade) || attemptsMade < 1) {
    throw new RangeError(`attemptsMade must be an integer >= 1, got ${String(attemptsMade)}`);
  }
  const offset = policy.retryOffsetsHours[attemptsMade - 1];
  if (offset === undefined) return null;
  return formatInstant(parseInstantMs(firstFailureAt) + offset * MS_PER_HOUR);
}

export function graceEndsAt(policy: DunningPolicy, firstFailureAt: string): string {
  return formatInstant(parseInstantMs(firstFailureAt) + policy.gracePeriodHours * MS_PER_HOUR);
}
