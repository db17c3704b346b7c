import type { Pool, PoolClient } from 'pg';
import { newId } from '../../src/db/ids';
import {
  accountBalances,
  draftOf,
  findJournalEntry,
  JournalIdempotencyConflictError,
  postJournalEntry,
  trialBalance,
} from '../../src/db/ledger';
import { withTenant } from '../../src/db/with-tenant';
import {
  creditAppliedEntry,
  creditGrantedEntry,
  invoiceFinalizedEntry,
  type JournalEntryDraft,
  LedgerInvariantError,
  paymentCapturedEntry,
  refundEntry,
  reversalEntry,
} from '../../src/domain/ledger';
import { createTestTenant, migratedAppPool } from '../support/db';
import { expectLedgerBalanced } from '../support/ledger-assertions';

let pools: { app: Pool; owner: Pool };

beforeAll(async () => {
  pools = await migratedAppPool();
});

afterAll(async () => {
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

const at = '2024-03-01T12:00:00.000Z';

async function tenantWithCustomers(count = 1): Promise<{ tenantId: string; customers: string[] }> {
  const { tenant } = await createTestTenant(pools.app, 'Ledger tenant');
  const customers = Array.from({ length: count }, () => newId('customer'));
  await withTenant(pools.app, tenant.id, async (db) => {
    for (const id of customers) {
      await db.query('INSERT INTO customers (id, tenant_id) VALUES ($1, $2)', [id, tenant.id]);
    }
  });
  return { tenantId: tenant.id, customers };
}

function invoiceEntry(
  customerId: string,
  invoiceId = newId('invoice'),
  subtotalMinor = 10_000,
  taxMinor = 2_000,
) {
  const entry = invoiceFinalizedEntry({
    invoiceId,
    customerId,
    currency: 'USD',
    subtotalMinor,
    taxMinor,
    totalMinor: subtotalMinor + taxMinor,
    occurredAt: at,
  });
  if (!entry) throw new Error('expected an entry');
  return entry;
}

async function counts(tenantId: string): Promise<{ entries: number; lines: number; accounts: number }> {
  return withTenant(pools.app, tenantId, async (db) => {
    const { rows } = await db.query<{ entries: number; lines: number; accounts: number }>(
      `SELECT (SELECT count(*)::int FROM journal_entries) AS entries,
              (SELECT count(*)::int FROM journal_lines) AS lines,
              (SELECT count(*)::int FROM ledger_accounts) AS accounts`,
    );
    return rows[0] ?? { entries: -1, lines: -1, accounts: -1 };
  });
}

/** Raw journal rows, bypassing postJournalEntry and its app-side check entirely. */
async function rawEntry(
  db: PoolClient,
  tenantId: string,
  options: { lineCount: number; currency?: string },
): Promise<string> {
  const id = `je_${newId('invoice').slice(4)}`;
  await db.query(
    `INSERT INTO journal_entries (id, tenant_id, idempotency_key, draft_sha256, source_type, source_id, currency,
                                  occurred_at, description, line_count)
     VALUES ($1, $2, $3, repeat('0', 64), 'test', 'raw', $4, now(), 'raw entry', $5)`,
    [id, tenantId, `raw:${id}`, options.currency ?? 'USD', options.lineCount],
  );
  return id;
}

async function rawAccount(db: PoolClient, tenantId: string, code: string, currency = 'USD'): Promise<string> {
  const id = `lac_${newId('invoice').slice(4)}`;
  await db.query('INSERT INTO ledger_accounts (id, tenant_id, code, currency) VALUES ($1, $2, $3, $4)', [
    id,
    tenantId,
    code,
    currency,
  ]);
  return id;
}

async function rawLine(
  db: PoolClient,
  tenantId: string,
  line: {
    entryId: string;
    lineNo: number;
    accountId: string;
    direction: string;
    amountMinor: number;
    currency?: string;
  },
): Promise<void> {
  await db.query(
    `INSERT INTO journal_lines (tenant_id, entry_id, line_no, account_id, direction, amount_minor, currency)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      tenantId,
      line.entryId,
      line.lineNo,
      line.accountId,
      line.direction,
      line.amountMinor,
      line.currency ?? 'USD',
    ],
  );
}

describe('postJournalEntry', () => {
  it('writes the entry in the caller’s transaction and derives balances from its lines', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const customerId = customers[0] ?? '';
    const entry = invoiceEntry(customerId, 'inv_story1');

    const posted = await withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry));
    expect(posted).toEqual({ entryId: expect.stringMatching(/^je_[0-9A-Za-z]{20}$/), created: true });

    const { balances, trial, found } = await withTenant(pools.app, tenantId, async (db) => ({
      balances: await accountBalances(db),
      trial: await trialBalance(db),
      found: await findJournalEntry(db, 'invoice_finalized:inv_story1'),
    }));
    expect(
      balances.map(({ code, customerId: c, debitMinor, creditMinor, balanceMinor }) => ({
        code,
        customerId: c,
        debitMinor,
        creditMinor,
        balanceMinor,
      })),
    ).toEqual([
      { code: 'accounts_receivable', customerId, debitMinor: 12_000, creditMinor: 0, balanceMinor: 12_000 },
      { code: 'revenue', customerId: null, debitMinor: 0, creditMinor: 10_000, balanceMinor: 10_000 },
      { code: 'tax_payable', customerId: null, debitMinor: 0, creditMinor: 2_000, balanceMinor: 2_000 },
    ]);
    expect(trial).toEqual([
      {
        currency: 'USD',
        rows: [
          { code: 'accounts_receivable', debitMinor: 12_000, creditMinor: 0 },
          { code: 'revenue', debitMinor: 0, creditMinor: 10_000 },
          { code: 'tax_payable', debitMinor: 0, creditMinor: 2_000 },
        ],
        totalDebitMinor: 12_000,
        totalCreditMinor: 12_000,
        balanced: true,
      },
    ]);
    expect(found).toMatchObject({
      entryId: posted.entryId,
      sourceType: 'invoice',
      sourceId: 'inv_story1',
      occurredAt: at,
      reversesEntryId: null,
      lines: [
        { lineNo: 0, code: 'accounts_receivable', customerId, direction: 'debit', amountMinor: 12_000 },
        { lineNo: 1, code: 'revenue', customerId: null, direction: 'credit', amountMinor: 10_000 },
        { lineNo: 2, code: 'tax_payable', customerId: null, direction: 'credit', amountMinor: 2_000 },
      ],
    });
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toEqual({
      entries: 1,
      lines: 3,
      turnoverMinorByCurrency: { USD: 12_000 },
    });
  });

  it('is idempotent: posting the same event again returns the first entry and writes nothing', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const entry = invoiceEntry(customers[0] ?? '');
    const first = await withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry));
    const again = await withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry));
    const sameTransaction = await withTenant(pools.app, tenantId, async (db) => [
      await postJournalEntry(db, tenantId, entry),
      await postJournalEntry(db, tenantId, { ...entry, description: 'reworded in a later deploy' }),
    ]);
    expect(again).toEqual({ entryId: first.entryId, created: false });
    expect(sameTransaction).toEqual([
      { entryId: first.entryId, created: false },
      { entryId: first.entryId, created: false },
    ]);
    expect(await counts(tenantId)).toEqual({ entries: 1, lines: 3, accounts: 3 });
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('creates a concurrently posted event exactly once', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const entry = invoiceEntry(customers[0] ?? '');
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry)),
      ),
    );
    expect(results.filter((result) => result.created)).toHaveLength(1);
    expect(new Set(results.map((result) => result.entryId)).size).toBe(1);
    expect(await counts(tenantId)).toEqual({ entries: 1, lines: 3, accounts: 3 });
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('creates each account once when concurrent entries first use it', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const customerId = customers[0] ?? '';
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, invoiceEntry(customerId))),
      ),
    );
    expect(await counts(tenantId)).toEqual({ entries: 8, lines: 24, accounts: 3 });
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('refuses a second post under the same key with different amounts', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const entry = invoiceEntry(customers[0] ?? '', 'inv_conflict');
    await withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry));
    const changed = invoiceEntry(customers[0] ?? '', 'inv_conflict', 10_000, 2_100);
    await expect(
      withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, changed)),
    ).rejects.toThrow(JournalIdempotencyConflictError);
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('checks the draft before writing anything', async () => {
    const { tenantId } = await tenantWithCustomers();
    const unbalanced: JournalEntryDraft = {
      idempotencyKey: 'test:unbalanced',
      sourceType: 'test',
      sourceId: 'x',
      currency: 'USD',
      occurredAt: at,
      description: 'unbalanced',
      lines: [
        { account: 'cash', debitMinor: 100 },
        { account: 'revenue', creditMinor: 90 },
      ],
    };
    await expect(
      withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, unbalanced)),
    ).rejects.toThrow(LedgerInvariantError);
    expect(await counts(tenantId)).toEqual({ entries: 0, lines: 0, accounts: 0 });
  });

  it('leaves nothing behind when the caller’s transaction rolls back', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const entry = invoiceEntry(customers[0] ?? '');
    let postedInside: { created: boolean } | undefined;
    await expect(
      withTenant(pools.app, tenantId, async (db) => {
        postedInside = await postJournalEntry(db, tenantId, entry);
        throw new Error('invoice write failed after the ledger post');
      }),
    ).rejects.toThrow('invoice write failed');
    expect(postedInside).toMatchObject({ created: true });
    expect(await counts(tenantId)).toEqual({ entries: 0, lines: 0, accounts: 0 });

    // The retry that follows posts it for real.
    const retried = await withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, entry));
    expect(retried.created).toBe(true);
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('corrects by reversal: the reversing entry links the original and nets it to zero, once', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const customerId = customers[0] ?? '';
    const original = await withTenant(pools.app, tenantId, (db) =>
      postJournalEntry(db, tenantId, invoiceEntry(customerId, 'inv_wrong')),
    );
    const reverse = async (db: PoolClient) => {
      const posted = await findJournalEntry(db, 'invoice_finalized:inv_wrong');
      if (!posted) throw new Error('original entry not found');
      const reversal = reversalEntry(draftOf(posted), {
        occurredAt: '2024-03-02T00:00:00.000Z',
        reason: 'wrong tax',
      });
      return postJournalEntry(db, tenantId, reversal);
    };
    const reversal = await withTenant(pools.app, tenantId, reverse);
    const twice = await withTenant(pools.app, tenantId, reverse);
    expect(twice).toEqual({ entryId: reversal.entryId, created: false });

    const { found, balances } = await withTenant(pools.app, tenantId, async (db) => ({
      found: await findJournalEntry(db, 'reversal:invoice_finalized:inv_wrong'),
      balances: await accountBalances(db),
    }));
    expect(found?.reversesEntryId).toBe(original.entryId);
    expect(balances.map((balance) => [balance.code, balance.balanceMinor])).toEqual([
      ['accounts_receivable', 0],
      ['revenue', 0],
      ['tax_payable', 0],
    ]);
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toMatchObject({ entries: 2, lines: 6 });
  });

  it('refuses a reversal of an entry that does not exist', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const ghost = reversalEntry(invoiceEntry(customers[0] ?? '', 'inv_never_posted'), {
      occurredAt: at,
      reason: 'x',
    });
    await expect(
      withTenant(pools.app, tenantId, (db) => postJournalEntry(db, tenantId, ghost)),
    ).rejects.toThrow(/reverses invoice_finalized:inv_never_posted, which does not exist/);
  });

  it('keeps customer sub-ledgers and currencies apart through a whole billing story', async () => {
    const { tenantId, customers } = await tenantWithCustomers(2);
    const [alice = '', bob = ''] = customers;
    const usd = { currency: 'USD', occurredAt: at };
    const drafts: (JournalEntryDraft | null)[] = [
      // Alice: invoice 120.00 (20.00 tax), 25.00 goodwill credit applied, pays 95.00, gets 60.00 refunded.
      invoiceFinalizedEntry({
        ...usd,
        invoiceId: 'inv_a1',
        customerId: alice,
        subtotalMinor: 10_000,
        taxMinor: 2_000,
        totalMinor: 12_000,
      }),
      creditGrantedEntry({ ...usd, grantId: 'cg_a1', customerId: alice, amountMinor: 2_500 }),
      creditAppliedEntry({ ...usd, invoiceId: 'inv_a1', customerId: alice, amountMinor: 2_500 }),
      paymentCapturedEntry({ ...usd, paymentId: 'pay_a1', customerId: alice, amountMinor: 9_500 }),
      refundEntry({ ...usd, refundId: 're_a1', customerId: alice, amountMinor: 6_000, taxMinor: 1_000 }),
      // Bob: USD invoice 50.00 unpaid, plus a EUR invoice 30.00 paid in full.
      invoiceFinalizedEntry({
        ...usd,
        invoiceId: 'inv_b1',
        customerId: bob,
        subtotalMinor: 5_000,
        taxMinor: 0,
        totalMinor: 5_000,
      }),
      invoiceFinalizedEntry({
        currency: 'EUR',
        occurredAt: at,
        invoiceId: 'inv_b2',
        customerId: bob,
        subtotalMinor: 2_500,
        taxMinor: 500,
        totalMinor: 3_000,
      }),
      paymentCapturedEntry({
        currency: 'EUR',
        occurredAt: at,
        paymentId: 'pay_b2',
        customerId: bob,
        amountMinor: 3_000,
      }),
    ];
    await withTenant(pools.app, tenantId, async (db) => {
      for (const draft of drafts) if (draft) await postJournalEntry(db, tenantId, draft);
    });

    const view = await withTenant(pools.app, tenantId, async (db) => ({
      alice: await accountBalances(db, { customerId: alice }),
      bobUsd: await accountBalances(db, { customerId: bob, currency: 'USD' }),
      bobEur: await accountBalances(db, { customerId: bob, currency: 'EUR' }),
      trial: await trialBalance(db),
    }));
    const brief = (list: { code: string; currency: string; balanceMinor: number }[]) =>
      list.map(({ code, currency, balanceMinor }) => `${currency} ${code} ${balanceMinor}`);
    expect(brief(view.alice)).toEqual(['USD accounts_receivable 0', 'USD customer_credit 0']);
    expect(brief(view.bobUsd)).toEqual(['USD accounts_receivable 5000']);
    expect(brief(view.bobEur)).toEqual(['EUR accounts_receivable 0']);
    expect(view.trial).toEqual([
      {
        currency: 'EUR',
        rows: [
          { code: 'accounts_receivable', debitMinor: 0, creditMinor: 0 },
          { code: 'cash', debitMinor: 3_000, creditMinor: 0 },
          { code: 'revenue', debitMinor: 0, creditMinor: 2_500 },
          { code: 'tax_payable', debitMinor: 0, creditMinor: 500 },
        ],
        totalDebitMinor: 3_000,
        totalCreditMinor: 3_000,
        balanced: true,
      },
      {
        currency: 'USD',
        rows: [
          // AR: Bob's 50.00 (Alice is settled). Cash 95.00 − 60.00. Revenue 100.00 + 50.00.
          { code: 'accounts_receivable', debitMinor: 5_000, creditMinor: 0 },
          { code: 'cash', debitMinor: 3_500, creditMinor: 0 },
          { code: 'credits_granted', debitMinor: 2_500, creditMinor: 0 },
          { code: 'customer_credit', debitMinor: 0, creditMinor: 0 },
          { code: 'refunds', debitMinor: 5_000, creditMinor: 0 },
          { code: 'revenue', debitMinor: 0, creditMinor: 15_000 },
          { code: 'tax_payable', debitMinor: 0, creditMinor: 1_000 },
        ],
        totalDebitMinor: 16_000,
        totalCreditMinor: 16_000,
        balanced: true,
      },
    ]);
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toEqual({
      entries: 8,
      lines: 19, // USD 3 + 2 + 2 + 2 + 3 + 2; EUR 3 + 2
      turnoverMinorByCurrency: { EUR: 6_000, USD: 37_500 }, // USD 120 + 25 + 25 + 95 + 60 + 50
    });
  });
});

describe('the database keeps every entry balanced even when the application check is bypassed', () => {
  /** Runs raw SQL as the app role; resolves with 'fn done' when fn ran, so a rejection is the COMMIT's. */
  async function commitRaw(tenantId: string, fn: (db: PoolClient) => Promise<void>): Promise<string> {
    let reached = '';
    try {
      await withTenant(pools.app, tenantId, async (db) => {
        await fn(db);
        reached = 'fn done';
      });
    } catch (error) {
      throw new Error(`${reached || 'fn failed'}: ${(error as Error).message}`, { cause: error });
    }
    return reached;
  }

  it('rejects an unbalanced entry at COMMIT', async () => {
    const { tenantId } = await tenantWithCustomers();
    await expect(
      commitRaw(tenantId, async (db) => {
        const entryId = await rawEntry(db, tenantId, { lineCount: 2 });
        const cash = await rawAccount(db, tenantId, 'cash');
        const revenue = await rawAccount(db, tenantId, 'revenue');
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 0,
          accountId: cash,
          direction: 'debit',
          amountMinor: 100,
        });
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 1,
          accountId: revenue,
          direction: 'credit',
          amountMinor: 90,
        });
      }),
    ).rejects.toThrow(/^fn done: journal entry je_\w+ is unbalanced: debits 100 <> credits 90 \(USD\)$/);
    expect(await counts(tenantId)).toEqual({ entries: 0, lines: 0, accounts: 0 });
  });

  it('accepts the same raw entry when it balances', async () => {
    const { tenantId } = await tenantWithCustomers();
    await expect(
      commitRaw(tenantId, async (db) => {
        const entryId = await rawEntry(db, tenantId, { lineCount: 3 });
        const cash = await rawAccount(db, tenantId, 'cash');
        const revenue = await rawAccount(db, tenantId, 'revenue');
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 0,
          accountId: cash,
          direction: 'debit',
          amountMinor: 100,
        });
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 1,
          accountId: revenue,
          direction: 'credit',
          amountMinor: 60,
        });
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 2,
          accountId: revenue,
          direction: 'credit',
          amountMinor: 40,
        });
      }),
    ).resolves.toBe('fn done');
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('rejects an entry with no lines and one with a single line', async () => {
    const { tenantId } = await tenantWithCustomers();
    await expect(
      commitRaw(tenantId, async (db) => {
        await rawEntry(db, tenantId, { lineCount: 2 });
      }),
    ).rejects.toThrow(/^fn done: journal entry je_\w+ has 0 line\(s\); an entry needs at least 2$/);
    await expect(
      commitRaw(tenantId, async (db) => {
        const entryId = await rawEntry(db, tenantId, { lineCount: 2 });
        const cash = await rawAccount(db, tenantId, 'cash');
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 0,
          accountId: cash,
          direction: 'debit',
          amountMinor: 100,
        });
      }),
    ).rejects.toThrow(/^fn done: journal entry je_\w+ has 1 line\(s\)/);
    await expect(
      commitRaw(tenantId, async (db) => {
        await rawEntry(db, tenantId, { lineCount: 1 });
      }),
    ).rejects.toThrow(/^fn failed: .*journal_entries_line_count_check/);
  });

  it('rejects lines appended to an entry committed earlier, even balanced ones', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    const posted = await withTenant(pools.app, tenantId, (db) =>
      postJournalEntry(db, tenantId, invoiceEntry(customers[0] ?? '')),
    );
    await expect(
      commitRaw(tenantId, async (db) => {
        const cash = await rawAccount(db, tenantId, 'cash');
        const revenue = await db.query<{ id: string }>(
          "SELECT id FROM ledger_accounts WHERE code = 'revenue'",
        );
        const revenueId = revenue.rows[0]?.id ?? '';
        await rawLine(db, tenantId, {
          entryId: posted.entryId,
          lineNo: 3,
          accountId: cash,
          direction: 'debit',
          amountMinor: 5,
        });
        await rawLine(db, tenantId, {
          entryId: posted.entryId,
          lineNo: 4,
          accountId: revenueId,
          direction: 'credit',
          amountMinor: 5,
        });
      }),
    ).rejects.toThrow(/^fn done: journal entry je_\w+ declares 3 lines \(0\.\.2\) but has 5/);
    expect(await counts(tenantId)).toMatchObject({ entries: 1, lines: 3 });
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('rejects a line in another currency than its entry, and a line whose customer is not its account’s', async () => {
    const { tenantId, customers } = await tenantWithCustomers(2);
    await expect(
      commitRaw(tenantId, async (db) => {
        const entryId = await rawEntry(db, tenantId, { lineCount: 2, currency: 'USD' });
        const cashEur = await rawAccount(db, tenantId, 'cash', 'EUR');
        await rawLine(db, tenantId, {
          entryId,
          lineNo: 0,
          accountId: cashEur,
          direction: 'debit',
          amountMinor: 1,
          currency: 'EUR',
        });
      }),
    ).rejects.toThrow(/^fn failed: .*violates foreign key constraint/);

    await expect(
      commitRaw(tenantId, async (db) => {
        const entryId = await rawEntry(db, tenantId, { lineCount: 2 });
        const receivable = `lac_${newId('invoice').slice(4)}`;
        await db.query(
          `INSERT INTO ledger_accounts (id, tenant_id, code, currency, customer_id)
           VALUES ($1, $2, 'accounts_receivable', 'USD', $3)`,
          [receivable, tenantId, customers[0]],
        );
        await db.query(
          `INSERT INTO journal_lines (tenant_id, entry_id, line_no, account_id, customer_id, direction, amount_minor, currency)
           VALUES ($1, $2, 0, $3, $4, 'debit', 1, 'USD')`,
          [tenantId, entryId, receivable, customers[1]],
        );
      }),
    ).rejects.toThrow(/^fn failed: journal line je_\w+\/0: customer cus_\w+ does not match account lac_\w+/);
  });

  it('rejects zero and negative amounts and a customer on a tenant-level account', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    for (const amountMinor of [0, -100]) {
      await expect(
        commitRaw(tenantId, async (db) => {
          const entryId = await rawEntry(db, tenantId, { lineCount: 2 });
          const cash = await rawAccount(db, tenantId, 'cash');
          await rawLine(db, tenantId, {
            entryId,
            lineNo: 0,
            accountId: cash,
            direction: 'debit',
            amountMinor,
          });
        }),
      ).rejects.toThrow(/journal_lines_amount_minor_check/);
    }
    await expect(
      commitRaw(tenantId, async (db) => {
        await db.query(
          `INSERT INTO ledger_accounts (id, tenant_id, code, currency, customer_id) VALUES ('lac_x', $1, 'revenue', 'USD', $2)`,
          [tenantId, customers[0]],
        );
      }),
    ).rejects.toThrow(/ledger_accounts_customer_only_on_sub_ledgers/);
  });
});

describe('the journal is append-only', () => {
  it('gives the application role no UPDATE, DELETE or TRUNCATE privilege on journal rows', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    await withTenant(pools.app, tenantId, (db) =>
      postJournalEntry(db, tenantId, invoiceEntry(customers[0] ?? '')),
    );
    for (const sql of [
      "UPDATE journal_entries SET description = 'edited'",
      'DELETE FROM journal_entries',
      'UPDATE journal_lines SET amount_minor = amount_minor + 1',
      'DELETE FROM journal_lines',
      'TRUNCATE journal_lines',
    ]) {
      await expect(withTenant(pools.app, tenantId, (db) => db.query(sql))).rejects.toThrow(
        /permission denied/,
      );
    }
    expect(await counts(tenantId)).toMatchObject({ entries: 1, lines: 3 });
    await expectLedgerBalanced(pools.app, tenantId);
  });

  it('refuses UPDATE, DELETE and TRUNCATE by the table owner too (the trigger), naming reversing entries', async () => {
    const { tenantId, customers } = await tenantWithCustomers();
    await withTenant(pools.app, tenantId, (db) =>
      postJournalEntry(db, tenantId, invoiceEntry(customers[0] ?? '')),
    );
    const owner = await pools.owner.connect();
    try {
      for (const [sql, message] of [
        ["UPDATE journal_entries SET description = 'edited'", 'UPDATE on journal_entries'],
        ['DELETE FROM journal_entries WHERE false', 'DELETE on journal_entries'],
        ['UPDATE journal_lines SET amount_minor = amount_minor + 1', 'UPDATE on journal_lines'],
        ['DELETE FROM journal_lines', 'DELETE on journal_lines'],
        ['TRUNCATE journal_lines', 'TRUNCATE on journal_lines'],
      ] as const) {
        // Always rolled back: should the trigger ever be missing, the shared test database survives.
        await owner.query('BEGIN');
        await owner.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
        const error = await owner.query(sql).then(
          () => null,
          (caught: Error & { code?: string; hint?: string }) => caught,
        );
        await owner.query('ROLLBACK');
        expect({ sql, message: error?.message, code: error?.code, hint: error?.hint }).toEqual({
          sql,
          message: `ledger is append-only: ${message} is not allowed`,
          code: '23001',
          hint: expect.stringMatching(/reversing entr/),
        });
      }
    } finally {
      owner.release();
    }
    expect(await counts(tenantId)).toMatchObject({ entries: 1, lines: 3 });
  });
});

describe('row-level security isolates the journal', () => {
  it('shows tenant B none of tenant A’s entries, lines, accounts or balances', async () => {
    const a = await tenantWithCustomers();
    const b = await tenantWithCustomers();
    const entry = invoiceEntry(a.customers[0] ?? '', 'inv_private');
    const posted = await withTenant(pools.app, a.tenantId, (db) => postJournalEntry(db, a.tenantId, entry));

    const seenByB = await withTenant(pools.app, b.tenantId, async (db) => ({
      entries: (await db.query('SELECT id FROM journal_entries')).rows,
      byId: (await db.query('SELECT line_no FROM journal_lines WHERE entry_id = $1', [posted.entryId])).rows,
      lines: (await db.query('SELECT entry_id FROM journal_lines')).rows,
      accounts: (await db.query('SELECT id FROM ledger_accounts')).rows,
      balances: await accountBalances(db),
      trial: await trialBalance(db),
      found: await findJournalEntry(db, 'invoice_finalized:inv_private'),
    }));
    expect(seenByB).toEqual({
      entries: [],
      byId: [],
      lines: [],
      accounts: [],
      balances: [],
      trial: [],
      found: null,
    });
    const noTenant = await pools.app.query<{ n: number }>('SELECT count(*)::int AS n FROM journal_lines');
    expect(noTenant.rows).toEqual([{ n: 0 }]);

    // Idempotency keys are per tenant: B's event with the same key is B's own entry.
    const bEntry = invoiceEntry(b.customers[0] ?? '', 'inv_private');
    const bPosted = await withTenant(pools.app, b.tenantId, (db) => postJournalEntry(db, b.tenantId, bEntry));
    expect(bPosted.created).toBe(true);
    expect(bPosted.entryId).not.toBe(posted.entryId);

    await expectLedgerBalanced(pools.app, a.tenantId);
    await expectLedgerBalanced(pools.app, b.tenantId);
  });

  it('lets tenant B neither write rows for A nor attach lines to A’s entry', async () => {
    const a = await tenantWithCustomers();
    const b = await tenantWithCustomers();
    const posted = await withTenant(pools.app, a.tenantId, (db) =>
      postJournalEntry(db, a.tenantId, invoiceEntry(a.customers[0] ?? '')),
    );
    await expect(
      withTenant(pools.app, b.tenantId, (db) =>
        postJournalEntry(db, a.tenantId, invoiceEntry(a.customers[0] ?? '')),
      ),
    ).rejects.toThrow(/row-level security/);
    await expect(
      withTenant(pools.app, b.tenantId, async (db) => {
        const cash = await rawAccount(db, b.tenantId, 'cash');
        await rawLine(db, b.tenantId, {
          entryId: posted.entryId,
          lineNo: 3,
          accountId: cash,
          direction: 'debit',
          amountMinor: 1,
        });
      }),
    ).rejects.toThrow(/violates foreign key constraint/);
    await expectLedgerBalanced(pools.app, a.tenantId);
  });
});

describe('expectLedgerBalanced', () => {
  it('passes on a tenant with no journal at all', async () => {
    const { tenantId } = await tenantWithCustomers();
    await expect(expectLedgerBalanced(pools.app, tenantId)).resolves.toEqual({
      entries: 0,
      lines: 0,
      turnoverMinorByCurrency: {},
    });
  });
});
