// Stripe-like proration of a mid-period change: credit the unused time of what the customer had, charge
// the remaining time of what they move to.
//
// Time is counted in whole units of the chosen granularity, and both amounts come from exact rational
// arithmetic (bigint) rounded exactly once each, so the only error is the one visible rounding step.

import { type BillingPeriod, parseInstantMs } from './calendar';
import { assertRoundingMode, divideRounded, type RoundingMode } from './rounding';

export type ProrationGranularity = 'second' | 'day';

export interface ProrationInput {
  /** The current period [start, end). */
  readonly period: BillingPeriod;
  /** Instant of the change, start <= changeAt <= end. */
  readonly changeAt: string;
  /** Full-period price of what the customer had (already × quantity), integer >= 0. */
  readonly oldAmountMinor: number;
  /** Full-period price of what they move to, integer >= 0. */
  readonly newAmountMinor: number;
  /**
   * How time is counted. Both granularities use one rule: a unit that has begun is used by the old plan.
   * - 'day': unused days = whole days left from the start of the first UTC day after changeAt to the period
   *   end (a change at exactly 00:00 leaves that day unused); period days = ceil(periodSeconds / 86400).
   *   Days are counted back from the period end, so for periods ending at 00:00 UTC they are UTC days; for
   *   anniversary periods ending at another time of day they are 24-hour slices ending at that time.
   * - 'second': the same with seconds.
   */
  readonly granularity: ProrationGranularity;
  /** Default 'half_even'. Applied to the signed amounts, so 'ceiling' always favours the merchant. */
  readonly roundingMode?: RoundingMode;
}

export interface ProrationResult {
  /** Remaining time / period time in the granularity's unit (not reduced, e.g. 20/30 days). */
  readonly unusedFraction: { readonly numerator: number; readonly denominator: number };
  /** NEGATIVE or zero: credit for the unused time of the old price. */
  readonly creditMinor: number;
  /** POSITIVE or zero: charge for the remaining time at the new price. */
  readonly chargeMinor: number;
  /** creditMinor + chargeMinor. */
  readonly netMinor: number;
}

const DEFAULT_ROUNDING_MODE: RoundingMode = 'half_even';

const UNIT_MS: Readonly<Record<ProrationGranularity, number>> = { second: 1_000, day: 86_400_000 };

export function prorate(input: ProrationInput): ProrationResult {
  const startMs = parseInstantMs(input.period.start);
  const endMs = parseInstantMs(input.period.end);
  const changeAtMs = parseInstantMs(input.changeAt);
  if (!(startMs < endMs)) {
    throw new RangeError(
      `prorate: period must have start < end, got [${input.period.start}, ${input.period.end})`,
    );
  }
  if (changeAtMs < startMs || changeAtMs > endMs) {
    throw new RangeError(
      `prorate: changeAt ${input.changeAt} is outside the period [${input.period.start}, ${input.period.end}]`,
    );
  }
  assertAmount(input.oldAmountMinor, 'oldAmountMinor');
  assertAmount(input.newAmountMinor, 'newAmountMinor');
  assertGranularity(input.granularity);
  const roundingMode = input.roundingMode ?? DEFAULT_ROUNDING_MODE;
  assertRoundingMode(roundingMode);

  const unitMs = UNIT_MS[input.granularity];
  // A begun unit counts as a whole one in the period's length (ceil) and as used in the remainder (floor),
  // so 0 <= unused <= period, a change at the end leaves nothing, and a change at the start of a period
  // that is a whole number of units (every period except a mid-day calendar stub) leaves everything.
  const periodUnits = Math.ceil((endMs - startMs) / unitMs);
  const unusedUnits = Math.floor((endMs - changeAtMs) / unitMs);
  if (!(periodUnits > 0 && unusedUnits >= 0 && unusedUnits <= periodUnits)) {
    throw new Error(`prorate: unused ${unusedUnits} of ${periodUnits} units is impossible`);
  }

  // Rounded as signed amounts: the credit is -(old × unused / period), so the mode's direction
  // ('ceiling' = toward +infinity) means the same thing for the credit as for the charge.
  const unused = BigInt(unusedUnits);
  const period = BigInt(periodUnits);
  const creditMinor = Number(divideRounded(-BigInt(input.oldAmountMinor) * unused, period, roundingMode));
  const chargeMinor = Number(divideRounded(BigInt(input.newAmountMinor) * unused, period, roundingMode));
  const netMinor = creditMinor + chargeMinor;

  // Postconditions: a proration never credits more than was paid nor charges more than the new price.
  if (!(creditMinor <= 0 && -creditMinor <= input.oldAmountMinor)) {
    throw new Error(`prorate: credit ${creditMinor} outside [-${input.oldAmountMinor}, 0]`);
  }
  if (!(chargeMinor >= 0 && chargeMinor <= input.newAmountMinor)) {
    throw new Error(`prorate: charge ${chargeMinor} outside [0, ${input.newAmountMinor}]`);
  }
  if (!Number.isSafeInteger(netMinor)) throw new Error(`prorate: net ${netMinor} is not a safe integer`);

  return {
    unusedFraction: { numerator: unusedUnits, denominator: periodUnits },
    creditMinor,
    chargeMinor,
    netMinor,
  };
}

function assertAmount(amountMinor: number, name: string): void {
  if (!Number.isSafeInteger(amountMinor) || amountMinor < 0) {
    throw new RangeError(
      `prorate: ${name} must be a safe integer >= 0 (minor units), got ${String(amountMinor)}`,
    );
  }
}

function assertGranularity(granularity: ProrationGranularity): void {
  if (granularity !== 'second' && granularity !== 'day') {
    throw new RangeError(
      `prorate: granularity must be 'second' or 'day', got ${JSON.stringify(granularity)}`,
    );
  }
}
