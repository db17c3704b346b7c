import type { Pool, PoolClient } from 'pg';

/**
 * Runs `fn` in one transaction whose row-level-security tenant is `tenantId`.
 * `set_config(..., true)` scopes the setting to the transaction, so a pooled connection never
 * carries one tenant's identity into another tenant's request.
 */
export async function withTenant<T>(
  pool: Pool,
  tenantId: string,
  fn: (client: PoolClient) => Promise<T>,
): Promise<T> {
  if (tenantId.length === 0) throw new Error('withTenant: tenantId is required');
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('app.tenant_id', $1, true)", [tenantId]);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
