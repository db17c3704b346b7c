import { z } from 'zod';

/** Stripe-compatible metadata: up to 50 string pairs. */
export const Metadata = z
  .record(z.string().min(1).max(40), z.string().max(500))
  .refine((value) => Object.keys(value).length <= 50, 'at most 50 keys')
  .optional();

export const Currency = z
  .string()
  .regex(/^[A-Za-z]{3}$/, 'must be a three-letter ISO 4217 code')
  .transform((code) => code.toUpperCase());

/** Integer minor units (cents for USD, yen for JPY). Floats and strings are rejected, never rounded. */
export const AmountMinor = z
  .number({ error: 'must be an integer number of minor units' })
  .int('must be an integer number of minor units (e.g. 1999 for 19.99)')
  .min(0)
  .max(Number.MAX_SAFE_INTEGER);

export const idOf = (prefix: string) =>
  z.string().regex(new RegExp(`^${prefix}_[0-9A-Za-z]{1,64}$`), `must be a ${prefix}_… id`);

export const ListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(10),
  starting_after: z.string().max(100).optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

export const BillingInterval = z.enum(['day', 'week', 'month', 'year']);
export type BillingInterval = z.infer<typeof BillingInterval>;

/** Largest interval_count per interval (the calendar and the plans table enforce the same bounds). */
export const MAX_INTERVAL_COUNT: Readonly<Record<BillingInterval, number>> = {
  day: 365,
  week: 52,
  month: 12,
  year: 5,
};

/**
 * A payment method collected by the front end (`pm_1Q…`), or one of Stripe's test tokens in test mode
 * (`pm_card_visa`), hence the underscores.
 */
export const PaymentMethodId = z
  .string()
  .regex(/^pm_[0-9A-Za-z_]{1,250}$/, 'must be a pm_… payment method id');
