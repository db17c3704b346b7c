import type { Pool } from 'pg';
import { newId } from '../../src/db/ids';
import { withTenant } from '../../src/db/with-tenant';
import { createTestTenant, migratedAppPool } from '../support/db';

let pools: { app: Pool; owner: Pool };

beforeAll(async () => {
  pools = await migratedAppPool();
});

afterAll(async () => {
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

async function customerOf(tenantId: string): Promise<string> {
  const id = newId('customer');
  await withTenant(pools.app, tenantId, (db) =>
    db.query('INSERT INTO customers (id, tenant_id, email) VALUES ($1, $2, $3)', [
      id,
      tenantId,
      'private@a.example',
    ]),
  );
  return id;
}

describe('row-level security isolates tenants even when a query forgets its tenant filter', () => {
  it('shows tenant B none of tenant A’s customers, with no WHERE tenant_id anywhere', async () => {
    const a = await createTestTenant(pools.app, 'A');
    const b = await createTestTenant(pools.app, 'B');
    const customerId = await customerOf(a.tenant.id);

    const seenByB = await withTenant(pools.app, b.tenant.id, async (db) => {
      const all = await db.query('SELECT id, tenant_id FROM customers');
      const byId = await db.query('SELECT id FROM customers WHERE id = $1', [customerId]);
      const counted = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
      return { all: all.rows, byId: byId.rows, count: counted.rows[0]?.n };
    });
    expect(seenByB).toEqual({ all: [], byId: [], count: 0 });

    const seenByA = await withTenant(pools.app, a.tenant.id, (db) => db.query('SELECT id FROM customers'));
    expect(seenByA.rows).toEqual([{ id: customerId }]);
  });

  it('lets tenant B neither update nor delete tenant A’s rows', async () => {
    const a = await createTestTenant(pools.app, 'A');
    const b = await createTestTenant(pools.app, 'B');
    const customerId = await customerOf(a.tenant.id);
    const changed = await withTenant(pools.app, b.tenant.id, (db) =>
      db.query("UPDATE customers SET email = 'stolen@b.example' WHERE id = $1", [customerId]),
    );
    expect(changed.rowCount).toBe(0);
    const email = await withTenant(pools.app, a.tenant.id, (db) =>
      db.query('SELECT email FROM customers WHERE id = $1', [customerId]),
    );
    expect(email.rows).toEqual([{ email: 'private@a.example' }]);
  });

  it('refuses a row written for another tenant (WITH CHECK)', async () => {
    const a = await createTestTenant(pools.app, 'A');
    const b = await createTestTenant(pools.app, 'B');
    await expect(
      withTenant(pools.app, b.tenant.id, (db) =>
        db.query('INSERT INTO customers (id, tenant_id) VALUES ($1, $2)', [newId('customer'), a.tenant.id]),
      ),
    ).rejects.toThrow(/row-level security/);
  });

  it('shows nothing at all when no tenant is set', async () => {
    const a = await createTestTenant(pools.app, 'A');
    await customerOf(a.tenant.id);
    const { rows } = await pools.app.query('SELECT count(*)::int AS n FROM customers');
    expect(rows).toEqual([{ n: 0 }]);
  });

  it('connects the application as a role that owns nothing and cannot bypass row-level security', async () => {
    const { rows } = await pools.app.query<{ rolsuper: boolean; rolbypassrls: boolean; owned: number }>(
      `SELECT r.rolsuper, r.rolbypassrls,
              (SELECT count(*)::int FROM pg_class c WHERE c.relowner = r.oid AND c.relnamespace = 'public'::regnamespace) AS owned
         FROM pg_roles r WHERE r.rolname = current_user`,
    );
    expect(rows).toEqual([{ rolsuper: false, rolbypassrls: false, owned: 0 }]);
  });

  it('has tenant_id plus ENABLE and FORCE row-level security on every table (a guard for new tables)', async () => {
    const { rows } = await pools.owner.query<{
      table: string;
      has_tenant: boolean;
      enabled: boolean;
      forced: boolean;
    }>(
      `SELECT c.relname AS table,
              EXISTS (SELECT 1 FROM information_schema.columns col
                       WHERE col.table_schema = 'public' AND col.table_name = c.relname
                         AND col.column_name IN ('tenant_id', 'tenant_no')) AS has_tenant,
              c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced
         FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY c.relname`,
    );
    // schema_migrations holds no tenant data; tenants is keyed by its own id; usage_event_keys by the
    // tenant's number (migration 0014).
    const unprotected = rows.filter(
      (row) =>
        row.table !== 'schema_migrations' &&
        (!(row.has_tenant || row.table === 'tenants') || !row.enabled || !row.forced),
    );
    expect(rows.length).toBeGreaterThan(5);
    expect(unprotected).toEqual([]);
  });
});
