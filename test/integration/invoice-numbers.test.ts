import type { Pool } from 'pg';
import { newId } from '../../src/db/ids';
import {
  allocateNumber,
  configureNumberSeries,
  formatDocumentNumber,
  type NumberSeries,
} from '../../src/db/invoice-numbers';
import { postJournalEntry } from '../../src/db/ledger';
import { withTenant } from '../../src/db/with-tenant';
import { periodOf } from '../../src/domain/calendar';
import { invoiceFinalizedEntry } from '../../src/domain/ledger';
import { createTestTenant, migratedAppPool } from '../support/db';
import { seedSubscription } from '../support/fixtures';
import { expectLedgerBalanced } from '../support/ledger-assertions';

let pools: { app: Pool; owner: Pool };

beforeAll(async () => {
  pools = await migratedAppPool();
});

afterAll(async () => {
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A tenant with one monthly subscription and `count` draft invoices (one per period, not yet numbered). */
async function tenantWithDraftInvoices(count: number): Promise<{ tenantId: string; invoiceIds: string[] }> {
  const { tenant } = await createTestTenant(pools.app, 'Numbering tenant');
  const { input } = await seedSubscription(pools.app, tenant.id, {
    createdAt: '2020-01-15T00:00:00.000Z',
    amountMinor: 1_000,
    recurrence: { interval: 'month', intervalCount: 1 },
  });
  const schedule = input.schedule;
  if (schedule === null) throw new Error('a subscription without a trial has a schedule');
  const invoiceIds: string[] = [];
  await withTenant(pools.app, tenant.id, async (db) => {
    for (let index = 0; index < count; index += 1) {
      const period = periodOf(schedule, index);
      const invoiceId = newId('invoice');
      await db.query(
        `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency, period_start, period_end,
                               subtotal_minor, total_minor, amount_due_minor, billing_reason, idempotency_key, issued_at)
         VALUES ($1, $2, $3, $4, 'draft', 'USD', $5, $6, 1000, 1000, 1000, 'subscription_cycle', $7, $5)`,
        [
          invoiceId,
          tenant.id,
          input.customerId,
          input.subscriptionId,
          period.start,
          period.end,
          `invoice:${input.subscriptionId}:${period.start}`,
        ],
      );
      invoiceIds.push(invoiceId);
    }
  });
  return { tenantId: tenant.id, invoiceIds };
}

/**
 * The pattern an invoice-finalization activity follows (kept here as the executable reference): one
 * withTenant transaction locks the draft, posts its journal entry, allocates the number last and writes
 * it onto the invoice. Either all of it commits or none of it does.
 */
async function finalizeInvoice(
  pool: Pool,
  tenantId: string,
  invoiceId: string,
  options: { finalizedAt: string; holdLockMs?: number; failAfterAllocation?: boolean },
): Promise<{ number: string; created: boolean }> {
  return withTenant(pool, tenantId, async (db) => {
    // 1. Lock the invoice: concurrent finalizations of the same invoice queue here.
    const { rows } = await db.query<{
      customer_id: string;
      currency: string;
      status: string;
      subtotal_minor: number;
      total_minor: number;
      number: string | null;
    }>(
      `SELECT customer_id, currency, status, subtotal_minor, total_minor, number
         FROM invoices WHERE id = $1 FOR UPDATE`,
      [invoiceId],
    );
    const invoice = rows[0];
    if (!invoice) throw new Error(`invoice ${invoiceId} not found`);
    // 2. Idempotent: a retry after a commit whose reply was lost returns the number already issued.
    if (invoice.number !== null) return { number: invoice.number, created: false };
    if (invoice.status !== 'draft') throw new Error(`invoice ${invoiceId} is ${invoice.status}, not draft`);
    // 3. The journal entry, in this same transaction.
    const entry = invoiceFinalizedEntry({
      invoiceId,
      customerId: invoice.customer_id,
      currency: invoice.currency,
      subtotalMinor: invoice.subtotal_minor,
      taxMinor: invoice.total_minor - invoice.subtotal_minor,
      totalMinor: invoice.total_minor,
      occurredAt: options.finalizedAt,
    });
    if (entry) await postJournalEntry(db, tenantId, entry);
    // 4. The number, as late as possible: from here to COMMIT this tenant's other finalizations wait.
    const allocated = await allocateNumber(db, tenantId, 'invoice');
    await db.query(`UPDATE invoices SET status = 'open', number = $2, finalized_at = $3 WHERE id = $1`, [
      invoiceId,
      allocated.number,
      options.finalizedAt,
    ]);
    if (options.holdLockMs !== undefined) await sleep(options.holdLockMs);
    if (options.failAfterAllocation === true)
      throw new Error(`finalization of ${invoiceId} aborted on purpose`);
    return { number: allocated.number, created: true };
  });
}

async function issuedNumbers(tenantId: string): Promise<string[]> {
  return withTenant(pools.app, tenantId, async (db) => {
    const { rows } = await db.query<{ number: string }>(
      'SELECT number FROM invoices WHERE number IS NOT NULL ORDER BY number',
    );
    return rows.map((row) => row.number);
  });
}

const expectedNumbers = (from: number, to: number, prefix = 'INV-') =>
  Array.from({ length: to - from + 1 }, (_, i) => formatDocumentNumber(prefix, from + i, 6));

async function allocate(tenantId: string, series: NumberSeries): Promise<string> {
  return withTenant(pools.app, tenantId, async (db) => (await allocateNumber(db, tenantId, series)).number);
}

describe('gapless invoice numbering', () => {
  it('50 concurrent finalizations, some rolled back on purpose, issue exactly 1..N with no gap or duplicate', async () => {
    const { tenantId, invoiceIds } = await tenantWithDraftInvoices(50);
    const aborted = new Set(invoiceIds.filter((_, index) => index % 6 === 1)); // 9 of 50
    const finalizedAt = '2024-05-01T00:00:00.000Z';

    const outcomes = await Promise.allSettled(
      invoiceIds.map((invoiceId, index) =>
        finalizeInvoice(pools.app, tenantId, invoiceId, {
          finalizedAt,
          // Hold the counter's row lock a little, so waiters pile up behind both commits and rollbacks.
          holdLockMs: index % 3,
          failAfterAllocation: aborted.has(invoiceId),
        }),
      ),
    );
    const committed = outcomes.flatMap((outcome) =>
      outcome.status === 'fulfilled' ? [outcome.value.number] : [],
    );
    const failures = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [(outcome.reason as Error).message] : [],
    );
    expect(failures).toHaveLength(aborted.size);
    expect(failures.every((message) => message.includes('aborted on purpose'))).toBe(true);

    const n = 50 - aborted.size;
    expect([...committed].sort()).toEqual(expectedNumbers(1, n));
    expect(await issuedNumbers(tenantId)).toEqual(expectedNumbers(1, n));

    // The aborted ones are still drafts with no number and no journal entry; finalizing them now continues the run.
    const drafts = await withTenant(pools.app, tenantId, async (db) => {
      const invoices = await db.query<{ id: string }>(
        "SELECT id FROM invoices WHERE status = 'draft' ORDER BY id",
      );
      const entries = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_entries');
      return { ids: invoices.rows.map((row) => row.id), entries: entries.rows[0]?.n };
    });
    expect(drafts).toEqual({ ids: [...aborted].sort(), entries: n });
    for (const invoiceId of drafts.ids)
      await finalizeInvoice(pools.app, tenantId, invoiceId, { finalizedAt });
    expect(await issuedNumbers(tenantId)).toEqual(expectedNumbers(1, 50));

    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toEqual({
      entries: 50,
      lines: 100, // no tax: receivable and revenue only
      turnoverMinorByCurrency: { USD: 50 * 1_000 },
    });
  });

  it('a rolled-back allocation burns nothing, and a retried finalization keeps its number', async () => {
    const { tenantId, invoiceIds } = await tenantWithDraftInvoices(2);
    const [first = '', second = ''] = invoiceIds;
    const finalizedAt = '2024-05-01T00:00:00.000Z';
    await expect(
      finalizeInvoice(pools.app, tenantId, first, { finalizedAt, failAfterAllocation: true }),
    ).rejects.toThrow('aborted on purpose');
    await expect(finalizeInvoice(pools.app, tenantId, second, { finalizedAt })).resolves.toEqual({
      number: 'INV-000001',
      created: true,
    });
    await expect(finalizeInvoice(pools.app, tenantId, second, { finalizedAt })).resolves.toEqual({
      number: 'INV-000001',
      created: false,
    });
    await expect(finalizeInvoice(pools.app, tenantId, first, { finalizedAt })).resolves.toEqual({
      number: 'INV-000002',
      created: true,
    });
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toMatchObject({ entries: 2 });
  });

  it('gives concurrent finalizations of the same invoice one number and one journal entry', async () => {
    const { tenantId, invoiceIds } = await tenantWithDraftInvoices(1);
    const invoiceId = invoiceIds[0] ?? '';
    const results = await Promise.all(
      Array.from({ length: 5 }, () =>
        finalizeInvoice(pools.app, tenantId, invoiceId, {
          finalizedAt: '2024-05-01T00:00:00.000Z',
          holdLockMs: 2,
        }),
      ),
    );
    expect(results.filter((result) => result.created)).toEqual([{ number: 'INV-000001', created: true }]);
    expect(new Set(results.map((result) => result.number))).toEqual(new Set(['INV-000001']));
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toMatchObject({ entries: 1, lines: 2 });
  });

  it('numbers each series separately: credit notes have their own run', async () => {
    const { tenant } = await createTestTenant(pools.app, 'Series');
    const sequence: [NumberSeries, string][] = [
      ['invoice', 'INV-000001'],
      ['invoice', 'INV-000002'],
      ['credit_note', 'CN-000001'],
      ['invoice', 'INV-000003'],
      ['credit_note', 'CN-000002'],
    ];
    for (const [series, expected] of sequence) expect(await allocate(tenant.id, series)).toBe(expected);
  });

  it('numbers each tenant separately, also when they finalize at the same time', async () => {
    const tenants = await Promise.all([createTestTenant(pools.app, 'A'), createTestTenant(pools.app, 'B')]);
    const allocations = await Promise.all(
      tenants.flatMap(({ tenant }) =>
        Array.from({ length: 10 }, async () => [tenant.id, await allocate(tenant.id, 'invoice')] as const),
      ),
    );
    for (const { tenant } of tenants) {
      const mine = allocations.filter(([id]) => id === tenant.id).map(([, number]) => number);
      expect(mine.sort()).toEqual(expectedNumbers(1, 10));
    }
  });

  it('lets a tenant choose its prefix and, before the first number, where numbering starts', async () => {
    const { tenant } = await createTestTenant(pools.app, 'Prefix');
    const configure = (settings: Parameters<typeof configureNumberSeries>[2]) =>
      withTenant(pools.app, tenant.id, (db) => configureNumberSeries(db, tenant.id, settings));
    await expect(
      configure({ series: 'invoice', prefix: 'ACME-2024-', padWidth: 4, firstValue: 731 }),
    ).resolves.toEqual({
      nextValue: 731,
    });
    expect(await allocate(tenant.id, 'invoice')).toBe('ACME-2024-0731');
    await expect(configure({ series: 'invoice', prefix: 'ACME-', firstValue: 1 })).rejects.toThrow(
      /already continues at 732; its first value cannot change/,
    );
    expect(await allocate(tenant.id, 'invoice')).toBe('ACME-2024-0732'); // the refused change rolled back
    await configure({ series: 'invoice', prefix: 'AC-' });
    expect(await allocate(tenant.id, 'invoice')).toBe('AC-000733');
    await expect(configure({ series: 'invoice', prefix: 'bad prefix!' })).rejects.toThrow(/prefix_check/);
  });

  it('keeps each tenant’s counter private (row-level security)', async () => {
    const a = await createTestTenant(pools.app, 'A');
    const b = await createTestTenant(pools.app, 'B');
    await allocate(a.tenant.id, 'invoice');
    await allocate(a.tenant.id, 'invoice');
    const seenByB = await withTenant(pools.app, b.tenant.id, async (db) => {
      const { rows } = await db.query('SELECT * FROM invoice_number_sequences');
      const bumped = await db.query('UPDATE invoice_number_sequences SET next_value = next_value + 1');
      return { rows, bumped: bumped.rowCount };
    });
    expect(seenByB).toEqual({ rows: [], bumped: 0 });
    expect(await allocate(a.tenant.id, 'invoice')).toBe('INV-000003');
    await expect(
      withTenant(pools.app, b.tenant.id, (db) => allocateNumber(db, a.tenant.id, 'invoice')),
    ).rejects.toThrow(/row-level security/);
  });
});

describe('invoice number columns', () => {
  it('refuses a duplicate number, a changed number, and a number on a draft', async () => {
    const { tenantId, invoiceIds } = await tenantWithDraftInvoices(3);
    const [first = '', second = '', third = ''] = invoiceIds;
    const finalizedAt = '2024-05-01T00:00:00.000Z';
    const { number } = await finalizeInvoice(pools.app, tenantId, first, { finalizedAt });
    const sql = (text: string, params: unknown[]) =>
      withTenant(pools.app, tenantId, (db) => db.query(text, params));

    await expect(
      sql(`UPDATE invoices SET status = 'open', number = $2, finalized_at = now() WHERE id = $1`, [
        second,
        number,
      ]),
    ).rejects.toThrow(/invoices_tenant_number_unique/);
    await expect(sql(`UPDATE invoices SET number = 'INV-999999' WHERE id = $1`, [first])).rejects.toThrow(
      // Whichever guard fires first: the numbering trigger or the finalized-invoice trigger.
      /already has number INV-000001 .*issued numbers never change|is finalized \(INV-000001\)/,
    );
    await expect(sql(`UPDATE invoices SET finalized_at = now() WHERE id = $1`, [first])).rejects.toThrow(
      /issued numbers never change|is finalized \(INV-000001\)/,
    );
    await expect(
      sql(`UPDATE invoices SET number = 'X-1', finalized_at = now() WHERE id = $1`, [third]),
    ).rejects.toThrow(/invoices_draft_has_no_number/);
    await expect(
      sql(`UPDATE invoices SET status = 'open', number = 'X-1' WHERE id = $1`, [third]),
    ).rejects.toThrow(/invoices_number_with_finalized_at/);
    // Status may still move on (open → paid) while the number stays.
    await sql(`UPDATE invoices SET status = 'paid', amount_paid_minor = amount_due_minor WHERE id = $1`, [
      first,
    ]);
    expect(await issuedNumbers(tenantId)).toEqual(['INV-000001']);
    await expectLedgerBalanced(pools.app, tenantId);
  });
});
