import http from 'node:http';
import request from 'supertest';
import type { AddressInfo } from 'node:net';
import { withTenant } from '../../src/db/with-tenant';
import { compactPendingRollups, RollupCompactor } from '../../src/usage/rollup-compactor';
import { expectProblem, type TestTenant } from '../support/api-harness';
import {
  createUsageHarness,
  hourAround,
  seedCustomer,
  usageApi,
  type UsageHarness,
} from '../support/usage-harness';

// Usage ingestion through the HTTP API on real Postgres (row-level security on) and Redis: every event
// is counted exactly once whatever the client repeats, and the real-time aggregate equals what
// Postgres stored.

let harness: UsageHarness;
let tenant: TestTenant;
let api: ReturnType<typeof usageApi>;
let apiCalls: string; // count of api_call events
let tokens: string; // sum of the tokens property

const NOW = Date.now();
const HOUR = hourAround(NOW);
let seq = 0;
const uid = (label: string) => `${label}-${NOW}-${(seq += 1)}`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

// Every specification runs twice: ingested on the API's event loop, and on ingest threads as the API
// server does (src/usage/ingest-threads.ts); both must give the same answers.
describe.each([
  ['on the event loop', false],
  ['on ingest threads', true],
])('usage ingestion %s', (_where, ingestThreads) => {
  beforeAll(async () => {
    harness = await createUsageHarness({ ingestThreads });
    tenant = await harness.newTenant('Usage A');
    api = usageApi(harness, tenant);
    apiCalls = await api.createMeter({ name: 'API calls', event_name: 'api_call', aggregation: 'count' });
    tokens = await api.createMeter({
      name: 'Tokens',
      event_name: 'api_call',
      aggregation: 'sum',
      value_property: 'tokens',
    });
  });

  afterAll(async () => {
    await harness?.close();
  });

  const call = (
    id: string,
    customer: string,
    tokensUsed: number | string = 1,
    extra: Record<string, unknown> = {},
  ) => ({
    id,
    customer,
    event_name: 'api_call',
    properties: { tokens: tokensUsed },
    ...extra,
  });

  describe('exactly once', () => {
    it('counts an id repeated inside one batch once, and reports the repeat as a duplicate', async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('dup-in-batch');
      const res = await api.sendBatch([
        call(id, customer, 5),
        call(uid('other'), customer, 7),
        call(id, customer, 5),
      ]);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: [0, 1], duplicates: [2], rejected: [], accepted_count: 2 });
      // 5 + 7 tokens over 2 calls: the repeated 5 is not added again.
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('2');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('12');
    });

    it('counts an id sent again in a later batch once', async () => {
      const customer = await seedCustomer(harness, tenant);
      const ids = [uid('a'), uid('b')];
      const first = await api.sendBatch(ids.map((id) => call(id, customer, 10)));
      const again = await api.sendBatch([call(ids[1] ?? '', customer, 10), call(uid('c'), customer, 1)]);

      expect(first.body).toMatchObject({ accepted: [0, 1], duplicates: [] });
      expect(again.body).toMatchObject({ accepted: [1], duplicates: [0] });
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('21');
    });

    it('counts a retry once when the first attempt committed but the client gave up before the answer', async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('ambiguous');
      const server = harness.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      // Hold the server inside its transaction (the pending-delta append waits for this lock) so that the
      // client's timeout fires while the outcome is still open.
      const blocker = await harness.pools.owner.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('LOCK TABLE usage_rollup_deltas IN SHARE ROW EXCLUSIVE MODE');
        const req = http.request({
          host: '127.0.0.1',
          port: (server.address() as AddressInfo).port,
          method: 'POST',
          path: '/v1/events/batch',
          headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
        });
        req.on('error', () => undefined);
        req.end(JSON.stringify({ events: [call(id, customer, 3)] }));
        await waitForLockWaiter();
        req.destroy(); // the client gives up: it will never know whether the batch was stored
        await blocker.query('COMMIT');
        // The server carried on and committed.
        await expectEventuallyStored(id);
      } finally {
        await blocker.query('ROLLBACK'); // a no-op after COMMIT; releases the lock if the test failed early
        blocker.release();
        server.close();
      }

      const retry = await api.sendBatch([call(id, customer, 3)]);
      expect(retry.body).toMatchObject({ accepted: [], duplicates: [0] });
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('3');
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('1');
    });

    it('counts a retry once (not zero times) when the first attempt rolled back after claiming the id', async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('rolled-back');
      // Fails the first transaction at its last write (the pending rollup delta), after the event key
      // was claimed and the event stored.
      await harness.pools.owner.query(`
      CREATE OR REPLACE FUNCTION test_fail_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'simulated crash before COMMIT'; END $$;
      CREATE TRIGGER test_fail_rollup_${customer} BEFORE INSERT ON usage_rollup_deltas FOR EACH ROW
        WHEN (strpos(NEW.contributions::text, '${customer}') > 0) EXECUTE FUNCTION test_fail_rollup();`);
      let failed;
      try {
        failed = await api.sendBatch([call(id, customer, 4)]);
      } finally {
        await harness.pools.owner.query(`DROP TRIGGER test_fail_rollup_${customer} ON usage_rollup_deltas`);
      }
      expect(failed.status).toBe(500);

      const retry = await api.sendBatch([call(id, customer, 4)]);
      expect(retry.body).toMatchObject({ accepted: [0], duplicates: [] });
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('4');
    });

    it('stores a retried id together with new ones in one segment when the first attempt rolled back', async () => {
      // The retried id is one this process has sent (claimed with ON CONFLICT, with its own segment
      // piece and delta); the new ids are claimed with a plain INSERT; all land in one segment.
      const customer = await seedCustomer(harness, tenant);
      const retried = uid('retried');
      await harness.pools.owner.query(`
      CREATE OR REPLACE FUNCTION test_fail_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'simulated crash before COMMIT'; END $$;
      CREATE TRIGGER test_fail_mixed_${customer} BEFORE INSERT ON usage_rollup_deltas FOR EACH ROW
        WHEN (strpos(NEW.contributions::text, '${customer}') > 0) EXECUTE FUNCTION test_fail_rollup();`);
      try {
        expect((await api.sendBatch([call(retried, customer, 4)])).status).toBe(500);
      } finally {
        await harness.pools.owner.query(`DROP TRIGGER test_fail_mixed_${customer} ON usage_rollup_deltas`);
      }

      const fresh = [uid('new'), uid('new')];
      const res = await api.sendBatch([
        call(fresh[0] ?? '', customer, 1),
        call(retried, customer, 4, { properties: { tokens: 4, note: 'retry "quoted"' } }),
        call(fresh[1] ?? '', customer, 2),
      ]);

      expect(res.body).toMatchObject({ accepted: [0, 1, 2], duplicates: [] });
      const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
        db.query(
          `SELECT event_id, properties::text AS properties, count(*) OVER (PARTITION BY segment_id)::int AS in_segment
           FROM usage_events WHERE customer_id = $1 ORDER BY event_id`,
          [customer],
        ),
      );
      expect(rows).toEqual(
        [
          { event_id: fresh[0], properties: '{"tokens":1}', in_segment: 3 },
          { event_id: retried, properties: '{"tokens":4,"note":"retry \\"quoted\\""}', in_segment: 3 },
          { event_id: fresh[1], properties: '{"tokens":2}', in_segment: 3 },
        ].sort((a, b) => ((a.event_id ?? '') < (b.event_id ?? '') ? -1 : 1)),
      );
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('3');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('7');
    });

    it('counts overlapping batches sent concurrently exactly once per id', async () => {
      const customer = await seedCustomer(harness, tenant);
      const ids = Array.from({ length: 300 }, (_, i) => uid(`race-${i}`));
      // Eight clients each send an overlapping window of the same ids at the same time.
      const windows = Array.from({ length: 8 }, (_, w) => ids.slice(w * 25, w * 25 + 100));
      const results = await Promise.all(
        windows.map((w) => api.sendBatch(w.map((id) => call(id, customer, '0.5')))),
      );

      const acceptedTotal = results.reduce((n, res) => n + (res.body.accepted_count as number), 0);
      expect(results.every((res) => res.status === 200)).toBe(true);
      expect(acceptedTotal).toBe(new Set(windows.flat()).size); // 275 distinct ids
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('275');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('137.5');
    });

    it('stores ids with quotes and backslashes as sent, and recognises them when resent', async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('q"u\\o\'te');
      const first = await api.sendBatch([call(id, customer, 1), call(uid('plain'), customer, 1)]);
      const again = await api.sendBatch([call(id, customer, 1)]);
      expect(first.body).toMatchObject({ accepted: [0, 1], duplicates: [] });
      expect(again.body).toMatchObject({ accepted: [], duplicates: [0] });
      const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
        db.query('SELECT event_id FROM usage_events WHERE event_id = $1', [id]),
      );
      expect(rows).toEqual([{ event_id: id }]);
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('2');
    });

    it('answers a single event with 201 the first time and 200 duplicate after', async () => {
      const customer = await seedCustomer(harness, tenant);
      const event = call(uid('single'), customer, 2);
      const first = await api.sendEvent(event);
      const second = await api.sendEvent(event);
      expect([first.status, first.body.status]).toEqual([201, 'accepted']);
      expect([second.status, second.body.status]).toEqual([200, 'duplicate']);
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('2');
    });

    it('counts ids stored through another API process once, though this process has never seen them', async () => {
      // This process remembers the ids it sent and claims ids it has not seen with a plain INSERT
      // (migration 0012). Ids stored through a replica are unknown here: that INSERT meets the unique
      // key, and the claim falls back to ON CONFLICT in the same call, so they come back as duplicates
      // and the new ids of the same batch are still stored once.
      const customer = await seedCustomer(harness, tenant);
      const replica = request(harness.replica());
      const viaReplica = Array.from({ length: 20 }, (_, i) => uid(`replica-${i}`));
      const first = await replica
        .post('/v1/events/batch')
        .set('Authorization', `Bearer ${tenant.key}`)
        .send({ events: viaReplica.map((id) => call(id, customer, 2)) });
      expect(first.body).toMatchObject({ accepted_count: 20, duplicate_count: 0 });

      const fresh = Array.from({ length: 30 }, (_, i) => uid(`fresh-${i}`));
      const mixed = [...fresh.slice(0, 15), ...viaReplica, ...fresh.slice(15)];
      const res = await api.sendBatch(mixed.map((id) => call(id, customer, 2)));

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        accepted: [...range(0, 15), ...range(35, 50)],
        duplicates: range(15, 35),
        rejected: [],
      });
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('50');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('100');
    });

    async function waitForLockWaiter(): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        // The ingest statement itself must be the waiter, not the compactor (whose DELETE waits too,
        // holding its tenant's advisory lock, which an ingest never takes).
        const { rows } = await harness.pools.owner.query(
          `SELECT 1 FROM pg_locks l
          WHERE l.relation = 'usage_rollup_deltas'::regclass AND NOT l.granted
            AND NOT EXISTS (SELECT 1 FROM pg_locks a WHERE a.pid = l.pid AND a.locktype = 'advisory')`,
        );
        if (rows.length > 0) return;
        if (Date.now() > deadline) throw new Error('the ingest transaction never reached the delta write');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }

    async function expectEventuallyStored(id: string): Promise<void> {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
          db.query('SELECT 1 FROM usage_event_keys WHERE event_id = $1', [id]),
        );
        if (rows.length === 1) return;
        if (Date.now() > deadline) throw new Error(`event ${id} was never stored`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  });

  describe('rollup compaction', () => {
    // How soon is a benchmark figure (p99 lag in bench:ingest), not an assertion here: this shows that
    // the background compactor, with nobody asking for a strong read, brings the event to the cache.
    it('shows an acknowledged event to an eventual read once the background compactor has run', async () => {
      const customer = await seedCustomer(harness, tenant);
      const sent = Date.now();
      await api.sendBatch([call(uid('eventual'), customer, 8), call(uid('eventual'), customer, 2)]);
      const query = new URLSearchParams({ customer, from: HOUR.from, to: HOUR.to, consistency: 'eventual' });
      let value: string | null = null;
      while (Date.now() - sent < 15_000) {
        const res = await api.get(`/v1/meters/${tokens}/usage?${query.toString()}`);
        expect(res.status).toBe(200);
        value = res.body.value as string | null;
        if (value === '10') break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(value).toBe('10');
    });

    it('gives a strong read every acknowledged event while a fold elsewhere has not published yet', async () => {
      // A compactor in another thread or process (here: one whose Redis publish never finishes) has
      // committed a fold. The cache still holds the state before it, but a strong read must not answer
      // from it: the fold queued its result until published, and the reader publishes it itself.
      const customer = await seedCustomer(harness, tenant);
      await api.sendBatch([call(uid('before'), customer, 1)]);
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('1'); // cached now

      let releasePublish = () => undefined as void;
      const stuck = new RollupCompactor(
        harness.pools.app,
        {
          publish: () =>
            new Promise<void>((resolve) => {
              releasePublish = resolve;
            }),
        },
        { intervalMs: 60_000, onError: () => undefined },
      );
      await api.sendBatch([call(uid('after'), customer, 1), call(uid('after'), customer, 1)]);
      await stuck.compactTenant(tenant.id, { wait: false });
      const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
        db.query('SELECT count(*)::int AS n FROM usage_rollup_deltas'),
      );
      expect(rows).toEqual([{ n: 0 }]); // the stuck compactor folded both events

      try {
        expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('3');
      } finally {
        releasePublish();
        await stuck.stop();
      }
    });

    it('folds every pending delta exactly once, however many compactions race or roll back', async () => {
      const customer = await seedCustomer(harness, tenant);
      await Promise.all(
        Array.from({ length: 6 }, (_, b) =>
          api.sendBatch(Array.from({ length: 50 }, (_, i) => call(uid(`fold-${b}-${i}`), customer, 1))),
        ),
      );
      // A compaction whose transaction rolls back folds nothing: its deltas stay pending.
      await expect(
        withTenant(harness.pools.app, tenant.id, async (db) => {
          await compactPendingRollups(db, tenant.id);
          throw new Error('reader gave up');
        }),
      ).rejects.toThrow('reader gave up');
      // Readers compacting inside their own transactions, concurrently with the background compactor.
      const counts = await Promise.all(
        Array.from({ length: 4 }, () =>
          withTenant(harness.pools.app, tenant.id, async (db) => {
            await compactPendingRollups(db, tenant.id);
            const { rows } = await db.query<{ n: string; pending: string }>(
              `SELECT (SELECT coalesce(sum(event_count), 0) FROM usage_rollups WHERE meter_id = $1 AND customer_id = $2)::text AS n,
                    (SELECT count(*) FROM usage_rollup_deltas)::text AS pending`,
              [apiCalls, customer],
            );
            return rows[0];
          }),
        ),
      );
      // Each reader saw every committed batch, folded once, and nothing left pending in its snapshot.
      expect(counts).toEqual(Array.from({ length: 4 }, () => ({ n: '300', pending: '0' })));
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('300');
    });
  });

  describe('customers, time and values', () => {
    it("accepts the tenant's external id for the customer", async () => {
      const external = uid('acct');
      const customer = await seedCustomer(harness, tenant, external);
      const res = await api.sendBatch([call(uid('ext'), external, 9)]);
      expect(res.body.accepted).toEqual([0]);
      expect((await api.usage(tokens, external, HOUR.from, HOUR.to)).value).toBe('9');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('9');
    });

    it('attributes a late event to the hour it happened in and keeps when it arrived', async () => {
      const customer = await seedCustomer(harness, tenant);
      const happened = NOW - 3 * 86_400_000; // three days ago, e.g. replayed from a client's outbox
      const id = uid('late');
      await api.sendBatch([call(id, customer, 6, { timestamp: new Date(happened).toISOString() })]);

      const then = hourAround(happened);
      expect((await api.usage(tokens, customer, then.from, then.to)).value).toBe('6');
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe('0');
      const { rows } = await withTenant(harness.pools.app, tenant.id, (db) =>
        db.query<{ occurred_at: Date; ingested_at: Date }>(
          'SELECT occurred_at, ingested_at FROM usage_events WHERE event_id = $1',
          [id],
        ),
      );
      expect(rows[0]?.occurred_at.getTime()).toBe(happened);
      expect(rows[0]?.ingested_at.getTime()).toBeGreaterThanOrEqual(NOW);
    });

    it('adds decimal values exactly (0.1 + 0.2 is 0.3, not 0.30000000000000004)', async () => {
      const customer = await seedCustomer(harness, tenant);
      await api.sendBatch([
        call(uid('d'), customer, 0.1),
        call(uid('d'), customer, '0.2'),
        call(uid('d'), customer, '12345678901234567890.000000000000000001'),
      ]);
      expect((await api.usage(tokens, customer, HOUR.from, HOUR.to)).value).toBe(
        '12345678901234567890.300000000000000001',
      );
    });
  });

  describe('stored segments', () => {
    it('reads segments of both document versions as one row per event', async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('v2');
      await api.sendBatch([call(id, customer, 3, { timestamp: '2026-12-01T10:00:00.250Z' })]);
      const rows = await withTenant(harness.pools.app, tenant.id, async (db) => {
        // A segment written before migration 0012 (version 1: an array of objects).
        await db.query(
          `INSERT INTO usage_event_segments (tenant_id, id, first_occurred_at, last_occurred_at, event_count, events)
         VALUES ($1, nextval('usage_event_segment_ids'), $2, $2, 1, $3)`,
          [
            tenant.id,
            '2026-12-01T09:00:00Z',
            JSON.stringify([
              {
                id: `${id}-v1`,
                c: customer,
                n: 'api_call',
                t: Date.parse('2026-12-01T09:00:00Z'),
                p: { tokens: 9 },
              },
            ]),
          ],
        );
        const { rows: found } = await db.query<Record<string, unknown>>(
          `SELECT event_id, customer_id, event_name, occurred_at, properties::text AS properties
           FROM usage_events WHERE customer_id = $1 ORDER BY occurred_at`,
          [customer],
        );
        return found;
      });
      expect(rows).toEqual([
        {
          event_id: `${id}-v1`,
          customer_id: customer,
          event_name: 'api_call',
          occurred_at: new Date('2026-12-01T09:00:00Z'),
          properties: '{"tokens":9}',
        },
        {
          event_id: id,
          customer_id: customer,
          event_name: 'api_call',
          occurred_at: new Date('2026-12-01T10:00:00.250Z'),
          properties: '{"tokens":3}',
        },
      ]);
    });
  });

  describe('rejected events', () => {
    it('reports each bad event by index with the field named, and stores the good ones', async () => {
      const customer = await seedCustomer(harness, tenant);
      const future = new Date(NOW + 10 * 60_000).toISOString();
      const res = await api.sendBatch([
        call(uid('ok'), customer, 1),
        { customer, event_name: 'api_call', properties: { tokens: 1 } },
        call(uid('future'), customer, 1, { timestamp: future }),
        call(uid('nan'), customer, 'lots'),
        call(uid('who'), 'cus_doesnotexist', 1),
        call(uid('nested'), customer, 1, { properties: { tokens: 1, user: { id: 1 } } }),
      ]);

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: [0], duplicates: [], rejected_count: 5 });
      const fields = (res.body.rejected as Array<{ index: number; field: string }>).map((r) => [
        r.index,
        r.field,
      ]);
      expect(fields).toEqual([
        [1, 'events[1].id'],
        [2, 'events[2].timestamp'],
        [3, 'events[3].properties.tokens'],
        [4, 'events[4].customer'],
        [5, 'events[5].properties.user'],
      ]);
      expect(res.body.rejected[1]).toMatchObject({
        type: 'https://ledgerline.dev/problems/validation-error',
        status: 400,
        detail: 'events[2].timestamp: is more than 5 minutes in the future',
      });
      expect((await api.usage(apiCalls, customer, HOUR.from, HOUR.to)).value).toBe('1');
    });

    it('answers a fully invalid single event with 400 problem+json naming the field', async () => {
      const customer = await seedCustomer(harness, tenant);
      const res = await api.sendEvent({
        id: uid('x'),
        customer,
        event_name: 'api_call',
        timestamp: 'yesterday',
      });
      expectProblem(res, 400, 'validation-error', 'timestamp');
    });

    it('answers a batch in which nothing could be stored with 400', async () => {
      const res = await api.sendBatch([{ id: 'only', event_name: 'api_call' }]);
      expectProblem(res, 400, 'validation-error', 'events[0].customer');
      expectProblem(await api.sendBatch([]), 400, 'validation-error', 'events');
    });

    it('answers a body that is not JSON, not UTF-8, or in another charset with a problem naming it', async () => {
      const raw = (body: string | Buffer, contentType = 'application/json') =>
        request(harness.app)
          .post('/v1/events/batch')
          .set('Authorization', `Bearer ${tenant.key}`)
          .set('Content-Type', contentType)
          // The bytes as they are: superagent would JSON-encode a Buffer.
          .serialize((bytes: string) => bytes)
          .send(body as string);
      expectProblem(await raw('{"events": [{"id": '), 400, 'malformed-json', 'body');
      expectProblem(
        await raw(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])),
        400,
        'malformed-json',
        'body',
      );
      expectProblem(await raw('"api_call"'), 400, 'malformed-json', 'body');
      expectProblem(
        await raw('{"events": []}', 'application/json; charset=latin1'),
        415,
        'unsupported-media-type',
        'Content-Type',
      );
      expectProblem(
        await raw('events=1', 'application/x-www-form-urlencoded'),
        415,
        'unsupported-media-type',
        'Content-Type',
      );
      const customer = await seedCustomer(harness, tenant);
      const utf8 = await raw(
        JSON.stringify({ events: [call(uid('utf8'), customer)] }),
        'application/json; charset=UTF-8',
      );
      expect(utf8.status).toBe(200);
      expect(utf8.body.accepted).toEqual([0]);
    });
  });

  describe('rate limit', () => {
    it('answers 429 with Retry-After once the tenant has used its burst', async () => {
      const limited = await harness.newTenant('Usage limited');
      // One event per second after a burst of 10,000: the burst is spent by the first batch.
      harness.limits.set(limited.id, { eventsPerSecond: 1, burstEvents: 10_000 });
      const limitedApi = usageApi(harness, limited);
      const customer = await seedCustomer(harness, limited);
      const events = Array.from({ length: 10_000 }, (_, i) => call(`burst-${i}`, customer));

      const first = await limitedApi.sendBatch(events);
      const second = await limitedApi.sendBatch(
        Array.from({ length: 5 }, (_, i) => call(`more-${i}`, customer)),
      );

      expect(first.status).toBe(200);
      expectProblem(second, 429, 'rate-limited');
      // Five events at one per second: at least four more seconds.
      expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(4);
    });
  });

  describe('tenant isolation', () => {
    it('shows another tenant none of the meters, events or rollups, even with the ids in hand', async () => {
      const customer = await seedCustomer(harness, tenant);
      await api.sendBatch([call(uid('mine'), customer, 1)]);
      const other = await harness.newTenant('Usage B');
      const otherApi = usageApi(harness, other);

      expectProblem(await otherApi.get(`/v1/meters/${tokens}`), 404, 'not-found');
      expect((await otherApi.get('/v1/meters')).body.data).toEqual([]);
      // Its own customer with the same external id does not make tenant A's usage visible either.
      const res = await otherApi.get(
        `/v1/meters/${tokens}/usage?customer=${customer}&from=${HOUR.from}&to=${HOUR.to}`,
      );
      expectProblem(res, 404, 'not-found');
      const counts = await withTenant(harness.pools.app, other.id, (db) =>
        db.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM meters) + (SELECT count(*) FROM usage_events) + (SELECT count(*) FROM usage_event_keys)
              + (SELECT count(*) FROM usage_rollups) + (SELECT count(*) FROM usage_unique_values)
              + (SELECT count(*) FROM usage_rollup_deltas) + (SELECT count(*) FROM usage_rollup_publications) AS n`,
        ),
      );
      expect(counts.rows[0]?.n).toBe(0);
    });

    it("refuses, in the database, a key claimed under another tenant's number (keys carry numbers, 0014)", async () => {
      const customer = await seedCustomer(harness, tenant);
      const id = uid('numbered');
      await api.sendBatch([call(id, customer, 1)]);
      const other = await harness.newTenant('Usage C');
      const numberOfA = await withTenant(harness.pools.app, tenant.id, async (db) => {
        const { rows } = await db.query<{ tenant_no: number }>(
          'SELECT tenant_no FROM usage_event_keys WHERE event_id = $1',
          [id],
        );
        return rows[0]?.tenant_no;
      });
      expect(typeof numberOfA).toBe('number');
      // Tenant C, writing by hand with A's number: the policy refuses the row, and C sees none of A's.
      await expect(
        withTenant(harness.pools.app, other.id, (db) =>
          db.query('INSERT INTO usage_event_keys (tenant_no, event_id, segment_id) VALUES ($1, $2, 1)', [
            numberOfA,
            uid('forged'),
          ]),
        ),
      ).rejects.toThrow(/row-level security/);
      const seen = await withTenant(harness.pools.app, other.id, (db) =>
        db.query('SELECT 1 FROM usage_event_keys WHERE tenant_no = $1', [numberOfA]),
      );
      expect(seen.rows).toEqual([]);
    });

    it('refuses, in the database, a key of no bytes or of more than 255 (0015 counts bytes)', async () => {
      const insertKey = (eventId: string) =>
        withTenant(harness.pools.app, tenant.id, (db) =>
          db.query(
            'INSERT INTO usage_event_keys (tenant_no, event_id, segment_id) VALUES (usage_tenant_key_no($1), $2, 1)',
            [tenant.id, eventId],
          ),
        );
      await expect(insertKey('')).rejects.toThrow(/usage_event_keys_event_id_check/);
      await expect(insertKey(`${uid('long')}-${'x'.repeat(255)}`)).rejects.toThrow(
        /usage_event_keys_event_id_check/,
      );
      // 255 bytes of printable ASCII, the longest id the API admits, is a key.
      await expect(insertKey(`${uid('max')}-`.padEnd(255, 'x'))).resolves.toBeDefined();
    });
  });
});
