import type { PoolClient, QueryResultRow } from 'pg';
import type { ListQuery } from './schemas';

export interface ListEnvelope<T> {
  readonly object: 'list';
  readonly url: string;
  readonly has_more: boolean;
  readonly data: T[];
}

/** Tables that support cursor listing; the name is interpolated, so it must come from this list. */
type ListableTable = 'products' | 'plans' | 'customers' | 'subscriptions' | 'invoices';
type FilterColumn = 'customer_id' | 'subscription_id' | 'status';

/**
 * Newest first, keyset pagination on (created_at, id): stable under concurrent inserts and O(limit)
 * however deep the page. Row-level security scopes it to the tenant; the cursor id is only a position.
 */
export async function listPage<Row extends QueryResultRow, T>(
  db: PoolClient,
  table: ListableTable,
  query: ListQuery,
  url: string,
  toResource: (row: Row) => T,
  filters: ReadonlyArray<{ column: FilterColumn; value: string | undefined }> = [],
): Promise<ListEnvelope<T>> {
  const params: unknown[] = [query.limit + 1];
  const conditions: string[] = [];
  if (query.starting_after !== undefined) {
    params.push(query.starting_after);
    conditions.push(`(created_at, id) < (SELECT created_at, id FROM ${table} WHERE id = $${params.length})`);
  }
  for (const filter of filters) {
    if (filter.value === undefined) continue;
    params.push(filter.value);
    conditions.push(`${filter.column} = $${params.length}`);
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const { rows } = await db.query<Row>(
    `SELECT * FROM ${table} ${where} ORDER BY created_at DESC, id DESC LIMIT $1`,
    params,
  );
  return {
    object: 'list',
    url,
    has_more: rows.length > query.limit,
    data: rows.slice(0, query.limit).map(toResource),
  };
}
