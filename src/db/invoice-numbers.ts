import type { PoolClient } from 'pg';

// Gapless, per-tenant document numbers (INV-000001, INV-000002, …; CN-000001 for credit notes).
//
// "Gapless" means every number from 1 to the highest issued belongs to exactly one committed document.
// A SEQUENCE cannot give that (nextval is not rolled back), so the counter is a row in
// invoice_number_sequences, incremented by an UPDATE inside the transaction that issues the document:
// - a rollback undoes the increment, so an aborted finalization never burns a number;
// - the row lock serialises the issuers of one tenant's series until they commit, so no two documents
//   get the same number (and invoices has UNIQUE (tenant_id, number) besides).
// The price is that finalizations of one tenant's series run one at a time from allocation to commit:
// allocate as late as possible in the transaction and do no slow work (no gateway calls) after it.
//
// Requires READ COMMITTED (withTenant's default): under REPEATABLE READ a concurrent allocation fails
// with a serialization error instead of waiting.

export const NUMBER_SERIES = ['invoice', 'credit_note'] as const;
export type NumberSeries = (typeof NUMBER_SERIES)[number];

export const DEFAULT_PREFIXES: Readonly<Record<NumberSeries, string>> = {
  invoice: 'INV-',
  credit_note: 'CN-',
};
export const DEFAULT_PAD_WIDTH = 6;

export interface AllocatedNumber {
  readonly series: NumberSeries;
  /** 1, 2, 3, … per tenant and series. */
  readonly value: number;
  /** The formatted number printed on the document, e.g. 'INV-000042'. */
  readonly number: string;
}

/**
 * Takes the next number of `series` for the transaction's tenant. Call it inside the same withTenant
 * transaction that writes the number onto the document; if that transaction rolls back, so does this.
 */
export async function allocateNumber(
  client: PoolClient,
  tenantId: string,
  series: NumberSeries,
): Promise<AllocatedNumber> {
  assertSeries(series);
  // One statement: creates the series at 1 on first use, otherwise increments; concurrent first uses
  // wait on the primary key, so they too get 1 and 2, never 1 and 1.
  const { rows } = await client.query<{ value: number; prefix: string; pad_width: number }>(
    `INSERT INTO invoice_number_sequences (tenant_id, series, prefix, pad_width, next_value)
     VALUES ($1, $2, $3, $4, 2)
     ON CONFLICT (tenant_id, series) DO UPDATE
       SET next_value = invoice_number_sequences.next_value + 1, updated_at = now()
     RETURNING next_value - 1 AS value, prefix, pad_width`,
    [tenantId, series, DEFAULT_PREFIXES[series], DEFAULT_PAD_WIDTH],
  );
  const row = rows[0];
  if (!row) throw new Error(`number series ${series} of tenant ${tenantId} returned no row`);
  return { series, value: row.value, number: formatDocumentNumber(row.prefix, row.value, row.pad_width) };
}

export interface NumberSeriesSettings {
  readonly series: NumberSeries;
  readonly prefix: string;
  readonly padWidth?: number;
  /**
   * Where a new series starts (a tenant moving from another system continues its numbering).
   * Only for a series that has not issued a number yet; later calls may change the prefix only.
   */
  readonly firstValue?: number;
}

/** Sets a tenant's prefix (and, before the first number, the starting value) for a series. */
export async function configureNumberSeries(
  client: PoolClient,
  tenantId: string,
  settings: NumberSeriesSettings,
): Promise<{ nextValue: number }> {
  assertSeries(settings.series);
  const padWidth = settings.padWidth ?? DEFAULT_PAD_WIDTH;
  const firstValue = settings.firstValue ?? 1;
  if (!Number.isSafeInteger(firstValue) || firstValue < 1) {
    throw new RangeError(`firstValue must be an integer >= 1, got ${firstValue}`);
  }
  const { rows } = await client.query<{ next_value: number; created: boolean }>(
    `INSERT INTO invoice_number_sequences (tenant_id, series, prefix, pad_width, next_value)
     VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (tenant_id, series) DO UPDATE
       SET prefix = EXCLUDED.prefix, pad_width = EXCLUDED.pad_width, updated_at = now()
     RETURNING next_value, (xmax = 0) AS created`,
    [tenantId, settings.series, settings.prefix, padWidth, firstValue],
  );
  const row = rows[0];
  if (!row) throw new Error(`number series ${settings.series} of tenant ${tenantId} returned no row`);
  if (settings.firstValue !== undefined && !row.created && row.next_value !== settings.firstValue) {
    // Thrown inside the caller's transaction, so the prefix change above rolls back with it.
    throw new Error(
      `number series ${settings.series} already continues at ${row.next_value}; its first value cannot change`,
    );
  }
  return { nextValue: row.next_value };
}

/** 'INV-' + 42 (width 6) → 'INV-000042'; values wider than the padding are printed in full. */
export function formatDocumentNumber(prefix: string, value: number, padWidth: number): string {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`document number must be >= 1, got ${value}`);
  return `${prefix}${String(value).padStart(padWidth, '0')}`;
}

function assertSeries(series: string): asserts series is NumberSeries {
  if (!(NUMBER_SERIES as readonly string[]).includes(series)) {
    throw new RangeError(
      `unknown number series ${JSON.stringify(series)}; expected ${NUMBER_SERIES.join(' or ')}`,
    );
  }
}
