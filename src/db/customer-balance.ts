import type { PoolClient } from 'pg';

/**
 * The customer's credit balance in `currency` (what we owe them, spent on their next invoices), derived
 * from the journal: customer_credit is credit-normal, so balance = Σ credit − Σ debit.
 */
export async function customerCreditBalanceMinor(
  client: PoolClient,
  customerId: string,
  currency: string,
): Promise<number> {
  const { rows } = await client.query<{ balance_minor: number }>(
    `SELECT coalesce(sum(CASE WHEN l.direction = 'credit' THEN l.amount_minor ELSE -l.amount_minor END), 0)::bigint
              AS balance_minor
       FROM journal_lines l
       JOIN ledger_accounts a ON a.tenant_id = l.tenant_id AND a.id = l.account_id
      WHERE a.code = 'customer_credit' AND a.customer_id = $1 AND a.currency = $2`,
    [customerId, currency],
  );
  return rows[0]?.balance_minor ?? 0;
}
