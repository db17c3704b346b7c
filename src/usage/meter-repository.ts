// Meters in Postgres, and the per-tenant cache the ingestion path reads them from.

import type { Pool, PoolClient } from 'pg';
import { randomBase62 } from '../db/ids';
import { withTenant } from '../db/with-tenant';
import type { FilterValue, Meter, MeterAggregation } from '../domain/usage/meter';

export interface MeterRow {
  id: string;
  name: string;
  event_name: string;
  aggregation: MeterAggregation;
  value_property: string | null;
  filters: Record<string, FilterValue>;
  group_by: string[];
  created_at: Date;
}

export interface NewMeter {
  readonly name: string;
  readonly eventName: string;
  readonly aggregation: MeterAggregation;
  readonly valueProperty: string | null;
  readonly filters: Readonly<Record<string, FilterValue>>;
  readonly groupBy: readonly string[];
}

export const newMeterId = (): string => `mtr_${randomBase62(20)}`;

export function meterOf(row: MeterRow): Meter {
  return {
    id: row.id,
    eventName: row.event_name,
    aggregation: row.aggregation,
    valueProperty: row.value_property,
    filters: row.filters,
    groupBy: row.group_by,
  };
}

const COLUMNS = 'id, name, event_name, aggregation, value_property, filters, group_by, created_at';

export async function insertMeter(db: PoolClient, tenantId: string, meter: NewMeter): Promise<MeterRow> {
  const { rows } = await db.query<MeterRow>(
    `INSERT INTO meters (id, tenant_id, name, event_name, aggregation, value_property, filters, group_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [
      newMeterId(),
      tenantId,
      meter.name,
      meter.eventName,
      meter.aggregation,
      meter.valueProperty,
      JSON.stringify(meter.filters),
      meter.groupBy,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error('INSERT … RETURNING returned no meter');
  return row;
}

export async function findMeter(db: PoolClient, meterId: string): Promise<MeterRow | undefined> {
  const { rows } = await db.query<MeterRow>(`SELECT ${COLUMNS} FROM meters WHERE id = $1`, [meterId]);
  return rows[0];
}

export async function listMeterRows(db: PoolClient): Promise<MeterRow[]> {
  const { rows } = await db.query<MeterRow>(`SELECT ${COLUMNS} FROM meters ORDER BY created_at, id`);
  return rows;
}

/**
 * The tenant's meters for the ingestion hot path, reloaded after `ttlMs`. Creating a meter through this
 * process invalidates at once; another API process sees it within `ttlMs`. Meters are immutable, so
 * the only staleness is a brand-new meter missing from rollups for at most that long (ADR 0008).
 *
 * The invalidation comes before the meter's transaction commits (it runs inside it), so a reload in
 * between still reads the old list: for `ttlMs` after an invalidation, lists are read but not kept,
 * and the first batch after the COMMIT reads the new meter instead of a list cached a moment before.
 */
export class MeterCache {
  private readonly entries = new Map<string, { meters: Meter[]; loadedAtMs: number }>();
  /** Tenants whose meters changed within `ttlMs`: until when their lists are not cached. */
  private readonly changing = new Map<string, number>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs: number,
    private readonly nowMs: () => number,
  ) {}

  async metersOf(tenantId: string): Promise<Meter[]> {
    const cached = this.entries.get(tenantId);
    if (cached && this.nowMs() - cached.loadedAtMs < this.ttlMs) return cached.meters;
    const rows = await withTenant(this.pool, tenantId, listMeterRows);
    const meters = rows.map(meterOf);
    const changingUntil = this.changing.get(tenantId);
    if (changingUntil !== undefined && this.nowMs() < changingUntil) return meters;
    this.changing.delete(tenantId);
    this.entries.set(tenantId, { meters, loadedAtMs: this.nowMs() });
    return meters;
  }

  invalidate(tenantId: string): void {
    this.entries.delete(tenantId);
    this.changing.set(tenantId, this.nowMs() + this.ttlMs);
  }
}
