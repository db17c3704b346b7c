import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import {
  BillingSettingsError,
  DEFAULT_BILLING_SETTINGS,
  parseBillingSettings,
} from '../../domain/billing-settings';
import type { BillingSettings, DunningPolicy } from '../../domain/billing-types';
import { DunningPolicyError, exponentialRetryOffsets } from '../../domain/dunning';
import { ROUNDING_MODES } from '../../domain/rounding';
import { tenantRead, tenantWrite } from '../handlers';
import { parseOrThrow, ProblemError } from '../problem';

// A tenant's billing settings on the wire: snake_case, dunning in days (fractions allowed as long as
// they are whole hours, which is what the domain stores). POST is a partial update, like Stripe's: what
// the body leaves out keeps its current value (the defaults while the tenant has chosen nothing).

const HOURS_PER_DAY = 24;

/** Days that are a whole number of hours (1.5 = 36 h); anything finer cannot be stored. */
const WholeHourDays = z
  .number()
  .refine(
    (days) => Number.isFinite(days) && isWholeHours(days),
    'must be a whole number of hours (days × 24)',
  );

const DunningBody = z
  .strictObject({
    /** Cumulative days after the first failed attempt, one per retry, strictly increasing. */
    retry_schedule_days: z.array(WholeHourDays).max(100).optional(),
    /** Or a schedule computed from a first delay and a growth factor (see exponentialRetryOffsets). */
    exponential: z
      .strictObject({
        first_retry_after_hours: z.number(),
        backoff_coefficient: z.number(),
        max_retries: z.number(),
      })
      .optional(),
    grace_period_days: WholeHourDays.optional(),
    final_action: z.enum(['cancel', 'mark_unpaid']).optional(),
  })
  .refine((dunning) => dunning.retry_schedule_days === undefined || dunning.exponential === undefined, {
    path: ['exponential'],
    message: 'give either retry_schedule_days or exponential, not both',
  });

const UpdateBillingSettingsBody = z.strictObject({
  proration_granularity: z.enum(['second', 'day']).optional(),
  rounding_mode: z.enum(ROUNDING_MODES).optional(),
  dunning: DunningBody.optional(),
  trial_reminder_days: z.number().optional(),
});
type UpdateBillingSettingsBody = z.infer<typeof UpdateBillingSettingsBody>;

interface SettingsRow {
  proration_granularity: string;
  rounding_mode: string;
  dunning_policy: unknown;
  trial_reminder_days: number;
  updated_at: Date;
}

export function billingSettingsRouter(pool: Pool): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ db }) => {
      const row = await readRow(db, false);
      return {
        status: 200,
        body: billingSettingsResource(row === undefined ? DEFAULT_BILLING_SETTINGS : settingsOf(row), row),
      };
    }),
  );
  router.post(
    '/',
    tenantWrite(pool, async ({ req, db }) => {
      const body = parseOrThrow(UpdateBillingSettingsBody, req.body ?? {});
      // The row is created (with the defaults) and locked before it is read, so two concurrent partial
      // updates apply one after the other instead of one overwriting the other.
      await db.query(
        `INSERT INTO tenant_billing_settings (tenant_id, proration_granularity, rounding_mode, dunning_policy,
                                             trial_reminder_days)
         VALUES (current_tenant_id(), $1, $2, $3, $4) ON CONFLICT (tenant_id) DO NOTHING`,
        settingsParams(DEFAULT_BILLING_SETTINGS),
      );
      const current = await readRow(db, true);
      const next = applyUpdate(current === undefined ? DEFAULT_BILLING_SETTINGS : settingsOf(current), body);
      const { rows } = await db.query<SettingsRow>(
        `UPDATE tenant_billing_settings
            SET proration_granularity = $1, rounding_mode = $2, dunning_policy = $3, trial_reminder_days = $4,
                updated_at = now()
          RETURNING *`,
        settingsParams(next),
      );
      return { status: 200, body: billingSettingsResource(next, rows[0]) };
    }),
  );
  return router;
}

async function readRow(db: PoolClient, forUpdate: boolean): Promise<SettingsRow | undefined> {
  const { rows } = await db.query<SettingsRow>(
    `SELECT * FROM tenant_billing_settings${forUpdate ? ' FOR UPDATE' : ''}`,
  );
  return rows[0];
}

/** A stored row, checked by the same parser as everything else that reads it. */
function settingsOf(row: SettingsRow): BillingSettings {
  return parseBillingSettings({
    prorationGranularity: row.proration_granularity,
    roundingMode: row.rounding_mode,
    dunning: row.dunning_policy,
    trialReminderDays: row.trial_reminder_days,
  });
}

function settingsParams(settings: BillingSettings): unknown[] {
  return [
    settings.prorationGranularity,
    settings.roundingMode,
    JSON.stringify(settings.dunning),
    settings.trialReminderDays,
  ];
}

/** The current settings with the body's changes, validated by the domain as one whole. */
function applyUpdate(current: BillingSettings, body: UpdateBillingSettingsBody): BillingSettings {
  const dunning = body.dunning;
  let retryOffsetsHours = current.dunning.retryOffsetsHours;
  if (dunning?.retry_schedule_days !== undefined) {
    retryOffsetsHours = dunning.retry_schedule_days.map(daysToHours);
  } else if (dunning?.exponential !== undefined) {
    const exponential = dunning.exponential;
    try {
      retryOffsetsHours = exponentialRetryOffsets({
        firstRetryAfterHours: exponential.first_retry_after_hours,
        backoffCoefficient: exponential.backoff_coefficient,
        maxRetries: exponential.max_retries,
      });
    } catch (error) {
      if (error instanceof DunningPolicyError) {
        throw unprocessable(`dunning.exponential.${snakeCase(error.field)}`, messageOf(error));
      }
      throw error;
    }
  }
  const policy: DunningPolicy = {
    retryOffsetsHours,
    gracePeriodHours:
      dunning?.grace_period_days === undefined
        ? current.dunning.gracePeriodHours
        : daysToHours(dunning.grace_period_days),
    finalAction: dunning?.final_action ?? current.dunning.finalAction,
  };
  try {
    return parseBillingSettings({
      prorationGranularity: body.proration_granularity ?? current.prorationGranularity,
      roundingMode: body.rounding_mode ?? current.roundingMode,
      dunning: policy,
      trialReminderDays: body.trial_reminder_days ?? current.trialReminderDays,
    });
  } catch (error) {
    if (error instanceof BillingSettingsError) {
      const field = apiField(error.field, dunning?.exponential !== undefined);
      const inHours = /retry_schedule_days|grace_period_days/.test(field) ? ' (in hours: days × 24)' : '';
      throw unprocessable(field, `${messageOf(error)}${inHours}`);
    }
    throw error;
  }
}

/**
 * The domain's field path (`dunning.retryOffsetsHours[2]`) as the client wrote it
 * (`dunning.retry_schedule_days[2]`). Offsets computed from `exponential` are reported on it.
 */
function apiField(domainField: string, fromExponential: boolean): string {
  if (fromExponential && domainField.startsWith('dunning.retryOffsetsHours')) return 'dunning.exponential';
  return domainField
    .replace('retryOffsetsHours', 'retry_schedule_days')
    .replace('gracePeriodHours', 'grace_period_days')
    .split('.')
    .map(snakeCase)
    .join('.');
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** The domain error's message without its `field: ` prefix (the problem names the field itself). */
function messageOf(error: Error): string {
  return error.message.replace(/^[^:]+: /, '');
}

function unprocessable(field: string, message: string): ProblemError {
  return new ProblemError('unprocessable', `${field}: ${message}`, {
    field,
    errors: [{ field, message }],
  });
}

function isWholeHours(days: number): boolean {
  const hours = days * HOURS_PER_DAY;
  return Math.abs(hours - Math.round(hours)) < 1e-9;
}

function daysToHours(days: number): number {
  return Math.round(days * HOURS_PER_DAY);
}

function hoursToDays(hours: number): number {
  return hours / HOURS_PER_DAY;
}

function billingSettingsResource(settings: BillingSettings, row: SettingsRow | undefined) {
  return {
    object: 'billing_settings' as const,
    proration_granularity: settings.prorationGranularity,
    rounding_mode: settings.roundingMode,
    dunning: {
      retry_schedule_days: settings.dunning.retryOffsetsHours.map(hoursToDays),
      grace_period_days: hoursToDays(settings.dunning.gracePeriodHours),
      final_action: settings.dunning.finalAction,
    },
    trial_reminder_days: settings.trialReminderDays,
    /** null while the tenant uses the defaults. */
    updated_at: row === undefined ? null : row.updated_at.toISOString(),
  };
}
