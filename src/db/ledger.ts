import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import {
  type AccountCode,
  assertBalanced,
  type Direction,
  type JournalEntryDraft,
  lineSide,
  normalBalanceMinor,
} from '../domain/ledger';
import { newId } from './ids';

// Ledger repository. Every function takes a client that is already inside the caller's transaction
// (withTenant), so a journal entry commits or rolls back together with the business row it records
// (the invoice, the payment) when the caller writes both in that transaction. Balances are derived
// from journal_lines on every read; nothing stores a balance.

export interface PostedJournalEntry {
  readonly entryId: string;
  /** false when an entry with this idempotency key already existed (the post was a no-op). */
  readonly created: boolean;
}

/** A second post under the same idempotency key with different content: a bug in the caller. */
export class JournalIdempotencyConflictError extends Error {
  override readonly name = 'JournalIdempotencyConflictError';
}

/**
 * Writes `draft` as one journal entry in the caller's transaction. Idempotent on draft.idempotencyKey:
 * a second post returns the first entry's id with created: false (and throws
 * JournalIdempotencyConflictError if its content differs). Accounts are created on first use.
 *
 * The client must be inside withTenant(pool, tenantId, …): row-level security refuses rows for any other
 * tenant, and the database verifies the balance again when the caller commits.
 */
export async function postJournalEntry(
  client: PoolClient,
  tenantId: string,
  draft: JournalEntryDraft,
): Promise<PostedJournalEntry> {
  assertBalanced(draft);
  const draftSha256 = draftFingerprint(draft);
  const entryId = newId('journalEntry');

  const reversesEntryId =
    draft.reversesIdempotencyKey === undefined
      ? null
      : await entryIdByKey(client, tenantId, draft.reversesIdempotencyKey);
  if (draft.reversesIdempotencyKey !== undefined && reversesEntryId === null) {
    throw new Error(
      `journal entry ${draft.idempotencyKey} reverses ${draft.reversesIdempotencyKey}, which does not exist`,
    );
  }

  // A concurrent post of the same key waits here on the unique index until the first one commits or
  // rolls back, then either finds its row or inserts its own.
  const inserted = await client.query<{ id: string }>(
    `INSERT INTO journal_entries (id, tenant_id, idempotency_key, draft_sha256, source_type, source_id,
                                  currency, occurred_at, description, line_count, reverses_entry_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      entryId,
      tenantId,
      draft.idempotencyKey,
      draftSha256,
      draft.sourceType,
      draft.sourceId,
      draft.currency,
      draft.occurredAt,
      draft.description,
      draft.lines.length,
      reversesEntryId,
    ],
  );
  if (inserted.rowCount !== 1) return existingEntry(client, tenantId, draft, draftSha256);

  const accountIds = await ensureAccounts(client, tenantId, draft);
  const lines = draft.lines.map((line, index) => {
    const { direction, amountMinor } = lineSide(draft, line, index);
    const accountId = accountIds.get(accountKey(line.account, line.customerId));
    if (accountId === undefined) throw new Error(`ledger account ${line.account} was not created`);
    return { accountId, customerId: line.customerId ?? null, direction, amountMinor };
  });
  await client.query(
    `INSERT INTO journal_lines (tenant_id, entry_id, line_no, account_id, customer_id, direction,
                                amount_minor, currency)
     SELECT $1, $2, l.line_no - 1, l.account_id, l.customer_id, l.direction, l.amount_minor, $3
       FROM unnest($4::text[], $5::text[], $6::text[], $7::bigint[])
            WITH ORDINALITY AS l (account_id, customer_id, direction, amount_minor, line_no)`,
    [
      tenantId,
      entryId,
      draft.currency,
      lines.map((line) => line.accountId),
      lines.map((line) => line.customerId),
      lines.map((line) => line.direction),
      lines.map((line) => line.amountMinor),
    ],
  );
  return { entryId, created: true };
}

async function existingEntry(
  client: PoolClient,
  tenantId: string,
  draft: JournalEntryDraft,
  draftSha256: string,
): Promise<PostedJournalEntry> {
  const { rows } = await client.query<{ id: string; draft_sha256: string }>(
    'SELECT id, draft_sha256 FROM journal_entries WHERE tenant_id = $1 AND idempotency_key = $2',
    [tenantId, draft.idempotencyKey],
  );
  const row = rows[0];
  // Under READ COMMITTED the statement above sees the row the conflicting transaction committed.
  if (!row) {
    throw new Error(
      `journal entry ${draft.idempotencyKey} conflicted but is not visible (REPEATABLE READ or SERIALIZABLE transaction?)`,
    );
  }
  if (row.draft_sha256 !== draftSha256) {
    throw new JournalIdempotencyConflictError(
      `journal entry ${draft.idempotencyKey} was already posted (${row.id}) with different content`,
    );
  }
  return { entryId: row.id, created: false };
}

async function entryIdByKey(
  client: PoolClient,
  tenantId: string,
  idempotencyKey: string,
): Promise<string | null> {
  const { rows } = await client.query<{ id: string }>(
    'SELECT id FROM journal_entries WHERE tenant_id = $1 AND idempotency_key = $2',
    [tenantId, idempotencyKey],
  );
  return rows[0]?.id ?? null;
}

function accountKey(code: AccountCode, customerId: string | undefined): string {
  return `${code}\u0000${customerId ?? ''}`;
}

/**
 * The id of every (code, customer) account the draft posts to, created on first use. Read first (the
 * common case, no writes); insert the missing ones with ON CONFLICT DO NOTHING; read again in a new
 * statement, whose snapshot sees accounts a concurrent transaction committed meanwhile.
 */
async function ensureAccounts(
  client: PoolClient,
  tenantId: string,
  draft: JournalEntryDraft,
): Promise<Map<string, string>> {
  const wanted = new Map<string, { code: AccountCode; customerId: string | null }>();
  for (const line of draft.lines) {
    wanted.set(accountKey(line.account, line.customerId), {
      code: line.account,
      customerId: line.customerId ?? null,
    });
  }
  const codes = [...wanted.values()].map((account) => account.code);
  const customers = [...wanted.values()].map((account) => account.customerId);

  const found = new Map<string, string>();
  const lookUp = async (): Promise<void> => {
    const { rows } = await client.query<{ id: string; code: AccountCode; customer_id: string | null }>(
      `SELECT a.id, a.code, a.customer_id
         FROM ledger_accounts a
         JOIN unnest($3::text[], $4::text[]) AS w (code, customer_id)
           ON a.code = w.code AND a.customer_id IS NOT DISTINCT FROM w.customer_id
        WHERE a.tenant_id = $1 AND a.currency = $2`,
      [tenantId, draft.currency, codes, customers],
    );
    for (const row of rows) found.set(accountKey(row.code, row.customer_id ?? undefined), row.id);
  };

  await lookUp();
  const missing = [...wanted.entries()].filter(([key]) => !found.has(key)).map(([, account]) => account);
  if (missing.length === 0) return found;
  await client.query(
    `INSERT INTO ledger_accounts (id, tenant_id, code, currency, customer_id)
     SELECT m.id, $1, m.code, $2, m.customer_id
       FROM unnest($3::text[], $4::text[], $5::text[]) AS m (id, code, customer_id)
     ON CONFLICT (tenant_id, code, currency, customer_id) DO NOTHING`,
    [
      tenantId,
      draft.currency,
      missing.map(() => newId('ledgerAccount')),
      missing.map((account) => account.code),
      missing.map((account) => account.customerId),
    ],
  );
  await lookUp();
  return found;
}

/**
 * SHA-256 of what a draft means financially, in a fixed order: source, currency, time, reversal link and
 * lines. The description is left out on purpose: rewording it in a deploy between an activity's attempts
 * must not turn its retry into a conflict.
 */
export function draftFingerprint(draft: JournalEntryDraft): string {
  const canonical = JSON.stringify([
    draft.idempotencyKey,
    draft.sourceType,
    draft.sourceId,
    draft.currency,
    draft.occurredAt,
    draft.reversesIdempotencyKey ?? null,
    draft.lines.map((line) => [
      line.account,
      line.customerId ?? null,
      line.debitMinor ?? null,
      line.creditMinor ?? null,
    ]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Reads (all derived from journal_lines, scoped by row-level security to the transaction's tenant)

export interface AccountBalance {
  readonly accountId: string;
  readonly code: AccountCode;
  readonly customerId: string | null;
  readonly currency: string;
  readonly debitMinor: number;
  readonly creditMinor: number;
  /** Debits minus credits for debit-normal accounts, credits minus debits for credit-normal ones. */
  readonly balanceMinor: number;
}

/** Balance of every account (optionally one customer's sub-ledger accounts, or one currency). */
export async function accountBalances(
  client: PoolClient,
  filter: { customerId?: string; currency?: string } = {},
): Promise<AccountBalance[]> {
  const { rows } = await client.query<{
    id: string;
    code: AccountCode;
    customer_id: string | null;
    currency: string;
    debit_minor: number;
    credit_minor: number;
  }>(
    `SELECT a.id, a.code, a.customer_id, a.currency,
            coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'debit'), 0)::bigint AS debit_minor,
            coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'credit'), 0)::bigint AS credit_minor
       FROM ledger_accounts a
       LEFT JOIN journal_lines l ON l.tenant_id = a.tenant_id AND l.account_id = a.id
      WHERE ($1::text IS NULL OR a.customer_id = $1) AND ($2::text IS NULL OR a.currency = $2)
      GROUP BY a.id
      ORDER BY a.currency, a.code, a.customer_id NULLS FIRST`,
    [filter.customerId ?? null, filter.currency ?? null],
  );
  return rows.map((row) => ({
    accountId: row.id,
    code: row.code,
    customerId: row.customer_id,
    currency: row.currency,
    debitMinor: row.debit_minor,
    creditMinor: row.credit_minor,
    balanceMinor: normalBalanceMinor(row.code, row.debit_minor, row.credit_minor),
  }));
}

export interface TrialBalanceRow {
  readonly code: AccountCode;
  /** The account's net balance, shown in the debit column when it is a debit balance... */
  readonly debitMinor: number;
  /** ...or in the credit column when it is a credit balance (never both non-zero). */
  readonly creditMinor: number;
}

export interface TrialBalance {
  readonly currency: string;
  readonly rows: readonly TrialBalanceRow[];
  readonly totalDebitMinor: number;
  readonly totalCreditMinor: number;
  /** totalDebitMinor === totalCreditMinor: what a correct ledger always shows. */
  readonly balanced: boolean;
}

/**
 * One trial balance per currency: every account code (customer sub-ledgers summed) with its net
 * balance in the debit or credit column. The columns' totals are equal exactly when every entry balances.
 */
export async function trialBalance(client: PoolClient): Promise<TrialBalance[]> {
  const { rows } = await client.query<{ currency: string; code: AccountCode; net_debit_minor: number }>(
    `SELECT l.currency, a.code,
            sum(CASE l.direction WHEN 'debit' THEN l.amount_minor ELSE -l.amount_minor END)::bigint
              AS net_debit_minor
       FROM journal_lines l
       JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
      GROUP BY l.currency, a.code
      ORDER BY l.currency, a.code`,
  );
  const byCurrency = new Map<string, TrialBalanceRow[]>();
  for (const row of rows) {
    const net = row.net_debit_minor;
    const list = byCurrency.get(row.currency) ?? [];
    list.push({ code: row.code, debitMinor: net > 0 ? net : 0, creditMinor: net < 0 ? -net : 0 });
    byCurrency.set(row.currency, list);
  }
  return [...byCurrency.entries()].map(([currency, list]) => {
    const totalDebitMinor = list.reduce((sum, row) => sum + row.debitMinor, 0);
    const totalCreditMinor = list.reduce((sum, row) => sum + row.creditMinor, 0);
    return {
      currency,
      rows: list,
      totalDebitMinor,
      totalCreditMinor,
      balanced: totalDebitMinor === totalCreditMinor,
    };
  });
}

export interface PostedLine {
  readonly lineNo: number;
  readonly code: AccountCode;
  readonly customerId: string | null;
  readonly direction: Direction;
  readonly amountMinor: number;
}

export interface PostedEntryDetail {
  readonly entryId: string;
  readonly idempotencyKey: string;
  readonly sourceType: string;
  readonly sourceId: string;
  readonly currency: string;
  readonly occurredAt: string;
  readonly description: string;
  readonly reversesEntryId: string | null;
  readonly lines: readonly PostedLine[];
}

/** One posted entry with its lines, looked up by idempotency key (null when there is none). */
export async function findJournalEntry(
  client: PoolClient,
  idempotencyKey: string,
): Promise<PostedEntryDetail | null> {
  const { rows } = await client.query<{
    id: string;
    idempotency_key: string;
    source_type: string;
    source_id: string;
    currency: string;
    occurred_at: Date;
    description: string;
    reverses_entry_id: string | null;
  }>(
    `SELECT id, idempotency_key, source_type, source_id, currency, occurred_at, description, reverses_entry_id
       FROM journal_entries WHERE idempotency_key = $1`,
    [idempotencyKey],
  );
  const entry = rows[0];
  if (!entry) return null;
  const lines = await client.query<{
    line_no: number;
    code: AccountCode;
    customer_id: string | null;
    direction: Direction;
    amount_minor: number;
  }>(
    `SELECT l.line_no, a.code, l.customer_id, l.direction, l.amount_minor
       FROM journal_lines l JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
      WHERE l.entry_id = $1 ORDER BY l.line_no`,
    [entry.id],
  );
  return {
    entryId: entry.id,
    idempotencyKey: entry.idempotency_key,
    sourceType: entry.source_type,
    sourceId: entry.source_id,
    currency: entry.currency,
    occurredAt: entry.occurred_at.toISOString(),
    description: entry.description,
    reversesEntryId: entry.reverses_entry_id,
    lines: lines.rows.map((line) => ({
      lineNo: line.line_no,
      code: line.code,
      customerId: line.customer_id,
      direction: line.direction,
      amountMinor: line.amount_minor,
    })),
  };
}

/** The draft a posted entry was made from (for reversalEntry). */
export function draftOf(entry: PostedEntryDetail): JournalEntryDraft {
  return {
    idempotencyKey: entry.idempotencyKey,
    sourceType: entry.sourceType,
    sourceId: entry.sourceId,
    currency: entry.currency,
    occurredAt: entry.occurredAt,
    description: entry.description,
    lines: entry.lines.map((line) => ({
      account: line.code,
      ...(line.customerId === null ? {} : { customerId: line.customerId }),
      ...(line.direction === 'debit' ? { debitMinor: line.amountMinor } : { creditMinor: line.amountMinor }),
    })),
  };
}
