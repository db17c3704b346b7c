import type { Pool } from 'pg';
import { accountBalances, trialBalance } from '../../src/db/ledger';
import { withTenant } from '../../src/db/with-tenant';
import { ACCOUNTS } from '../../src/domain/ledger';

export interface LedgerSummary {
  readonly entries: number;
  readonly lines: number;
  /** Σ debit (= Σ credit) per currency. */
  readonly turnoverMinorByCurrency: Readonly<Record<string, number>>;
}

/**
 * Asserts that a tenant's books balance, on the write path's terms and on the read path's, and returns a
 * summary for further assertions. Call it at the end of every test that bills:
 *   1. every entry: at least 2 lines, exactly its declared line count, all lines in its currency, and
 *      Σ debit = Σ credit;
 *   2. per currency: Σ debit = Σ credit over all lines;
 *   3. overall: Σ debit = Σ credit;
 *   4. the derived balances: per currency, debit-normal balances equal credit-normal balances, and the
 *      trial balance's columns are equal.
 */
export async function expectLedgerBalanced(pool: Pool, tenantId: string): Promise<LedgerSummary> {
  return withTenant(pool, tenantId, async (db) => {
    const perEntry = await db.query<{
      id: string;
      idempotency_key: string;
      currency: string;
      line_count: number;
      lines: number;
      foreign_currency_lines: number;
      debit_minor: number;
      credit_minor: number;
    }>(
      `SELECT e.id, e.idempotency_key, e.currency, e.line_count,
              count(l.line_no)::int AS lines,
              (count(*) FILTER (WHERE l.currency <> e.currency))::int AS foreign_currency_lines,
              coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'debit'), 0)::bigint AS debit_minor,
              coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'credit'), 0)::bigint AS credit_minor
         FROM journal_entries e
         LEFT JOIN journal_lines l ON l.tenant_id = e.tenant_id AND l.entry_id = e.id
        WHERE e.tenant_id = $1
        GROUP BY e.id`,
      [tenantId],
    );
    const broken = perEntry.rows.filter(
      (entry) =>
        entry.lines < 2 ||
        entry.lines !== entry.line_count ||
        entry.foreign_currency_lines !== 0 ||
        entry.debit_minor !== entry.credit_minor,
    );
    expect(broken).toEqual([]);

    const perCurrency = await db.query<{ currency: string; debit_minor: number; credit_minor: number }>(
      `SELECT currency,
              coalesce(sum(amount_minor) FILTER (WHERE direction = 'debit'), 0)::bigint AS debit_minor,
              coalesce(sum(amount_minor) FILTER (WHERE direction = 'credit'), 0)::bigint AS credit_minor
         FROM journal_lines WHERE tenant_id = $1 GROUP BY currency ORDER BY currency`,
      [tenantId],
    );
    for (const row of perCurrency.rows) {
      expect({ currency: row.currency, debitMinor: row.debit_minor }).toEqual({
        currency: row.currency,
        debitMinor: row.credit_minor,
      });
    }
    const overall = await db.query<{ debit_minor: number; credit_minor: number }>(
      `SELECT coalesce(sum(amount_minor) FILTER (WHERE direction = 'debit'), 0)::bigint AS debit_minor,
              coalesce(sum(amount_minor) FILTER (WHERE direction = 'credit'), 0)::bigint AS credit_minor
         FROM journal_lines WHERE tenant_id = $1`,
      [tenantId],
    );
    expect(overall.rows[0]?.debit_minor).toBe(overall.rows[0]?.credit_minor);

    // Read path: the derived balances must tell the same story.
    const debitNormalMinor = new Map<string, number>();
    for (const balance of await accountBalances(db)) {
      const signed =
        ACCOUNTS[balance.code].normalBalance === 'debit' ? balance.balanceMinor : -balance.balanceMinor;
      debitNormalMinor.set(balance.currency, (debitNormalMinor.get(balance.currency) ?? 0) + signed);
    }
    for (const [currency, net] of debitNormalMinor) expect({ currency, net }).toEqual({ currency, net: 0 });
    for (const trial of await trialBalance(db)) {
      expect({ currency: trial.currency, debit: trial.totalDebitMinor }).toEqual({
        currency: trial.currency,
        debit: trial.totalCreditMinor,
      });
    }

    const turnoverMinorByCurrency: Record<string, number> = {};
    for (const row of perCurrency.rows) turnoverMinorByCurrency[row.currency] = row.debit_minor;
    return {
      entries: perEntry.rows.length,
      lines: perEntry.rows.reduce((sum, entry) => sum + entry.lines, 0),
      turnoverMinorByCurrency,
    };
  });
}
