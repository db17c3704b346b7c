import type { Pool } from 'pg';
import { withTenant } from '../../src/db/with-tenant';
import { ensureEventPartitions, startPartitionMaintenance } from '../../src/usage/partitions';
import { createTestTenant, migratedAppPool } from '../support/db';

// Event segments are partitioned by month of ingestion. The months are made ahead of time by a
// schedule in every API process; a segment stored in a month nobody made lands in the DEFAULT
// partition, stays readable, and moves into its month when the month is made.

const monthsIn = async (owner: Pool, year: number): Promise<string[]> => {
  const { rows } = await owner.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'usage_event_segments'::regclass AND c.relname LIKE $1 ORDER BY 1`,
    [`usage_event_segments_y${year}m%`],
  );
  return rows.map((r) => r.name);
};

describe('monthly partitions of usage event segments', () => {
  let pools: { app: Pool; owner: Pool };
  // Far-future years, so that no other test's rows or partitions are involved; dropped afterwards.
  const YEARS = [2031, 2032, 2033];

  beforeAll(async () => {
    pools = await migratedAppPool();
  });

  afterAll(async () => {
    for (const year of YEARS)
      for (const name of await monthsIn(pools.owner, year)) await pools.owner.query(`DROP TABLE ${name}`);
    await pools.app.end();
    await pools.owner.end();
  });

  it('are made from the month before now through three months ahead', async () => {
    const created = await ensureEventPartitions(pools.app, Date.UTC(2031, 5, 15, 12));
    expect(created).toBe(5);
    expect(await monthsIn(pools.owner, 2031)).toEqual([
      'usage_event_segments_y2031m05',
      'usage_event_segments_y2031m06',
      'usage_event_segments_y2031m07',
      'usage_event_segments_y2031m08',
      'usage_event_segments_y2031m09',
    ]);
    // Again: nothing to do.
    expect(await ensureEventPartitions(pools.app, Date.UTC(2031, 5, 16))).toBe(0);
  });

  it('a segment stored in a month nobody made waits in DEFAULT, readable, and moves into its month', async () => {
    const tenant = await createTestTenant(pools.app, 'Partition tenant');
    const ingestedAt = '2032-02-10T08:00:00Z';
    const document = JSON.stringify({
      v: 2,
      t: Date.parse(ingestedAt),
      c: ['cus_p'],
      n: ['api_call'],
      e: [['evt-p', 0, 0, 0, {}]],
    });
    const placeOf = () =>
      withTenant(pools.app, tenant.tenant.id, async (db) => {
        const { rows } = await db.query<{ place: string; event_id: string }>(
          `SELECT s.tableoid::regclass::text AS place, e.event_id
             FROM usage_event_segments s JOIN usage_events e ON e.segment_id = s.id
            WHERE s.ingested_at = $1`,
          [ingestedAt],
        );
        return rows;
      });
    await withTenant(pools.app, tenant.tenant.id, (db) =>
      db.query(
        `INSERT INTO usage_event_segments (tenant_id, id, ingested_at, first_occurred_at, last_occurred_at,
                                           event_count, events)
         VALUES ($1, nextval('usage_event_segment_ids'), $2, $2, $2, 1, $3)`,
        [tenant.tenant.id, ingestedAt, document],
      ),
    );
    expect(await placeOf()).toEqual([{ place: 'usage_event_segments_default', event_id: 'evt-p' }]);

    await ensureEventPartitions(pools.app, Date.UTC(2032, 1, 1));
    expect(await placeOf()).toEqual([{ place: 'usage_event_segments_y2032m02', event_id: 'evt-p' }]);
  });

  it('are kept ahead by a schedule that runs at once and then every interval', async () => {
    let now = Date.UTC(2033, 0, 20);
    const errors: unknown[] = [];
    const maintenance = startPartitionMaintenance(pools.app, {
      everyMs: 50,
      nowMs: () => now,
      onError: (error) => errors.push(error),
    });
    try {
      await waitFor(async () =>
        (await monthsIn(pools.owner, 2033)).includes('usage_event_segments_y2033m04'),
      );
      // Time passes: the next runs make the months that come into the window.
      now = Date.UTC(2033, 5, 2);
      await waitFor(async () =>
        (await monthsIn(pools.owner, 2033)).includes('usage_event_segments_y2033m09'),
      );
    } finally {
      await maintenance.stop();
    }
    expect(errors).toEqual([]);
    expect(await monthsIn(pools.owner, 2033)).toHaveLength(9); // 2032-12 is the month before January
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
