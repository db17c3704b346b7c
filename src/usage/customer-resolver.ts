// `customer` on an event is our cus_… id or the tenant's external_id. Resolutions are cached without
// expiry: customers are never deleted (the app role has no DELETE on them) and external_id cannot be
// changed through the API, so a resolved pair stays true. Unknown references are not cached: the
// customer may be created a moment later.

import type { Pool } from 'pg';
import { withTenant } from '../db/with-tenant';

export class CustomerResolver {
  /** tenant \x1f ref → customer id; Map iteration order makes the oldest entry the first to evict. */
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly pool: Pool,
    private readonly maxEntries: number,
  ) {}

  /** Every resolvable ref → its customer id; an id match wins over an external_id match. */
  async resolve(tenantId: string, refs: ReadonlySet<string>): Promise<Map<string, string>> {
    const resolved = new Map<string, string>();
    const missing: string[] = [];
    for (const ref of refs) {
      const id = this.cache.get(`${tenantId}\x1f${ref}`);
      if (id === undefined) missing.push(ref);
      else resolved.set(ref, id);
    }
    if (missing.length === 0) return resolved;
    const { rows } = await withTenant(this.pool, tenantId, (db) =>
      db.query<{ id: string; external_id: string | null }>(
        'SELECT id, external_id FROM customers WHERE id = ANY($1::text[]) OR external_id = ANY($1::text[])',
        [missing],
      ),
    );
    const wanted = new Set(missing);
    for (const row of rows) {
      if (row.external_id !== null && wanted.has(row.external_id) && !resolved.has(row.external_id)) {
        this.remember(tenantId, row.external_id, row.id, resolved);
      }
    }
    for (const row of rows) if (wanted.has(row.id)) this.remember(tenantId, row.id, row.id, resolved);
    return resolved;
  }

  private remember(tenantId: string, ref: string, id: string, resolved: Map<string, string>): void {
    resolved.set(ref, id);
    const key = `${tenantId}\x1f${ref}`;
    this.cache.delete(key);
    this.cache.set(key, id);
    if (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
  }
}
