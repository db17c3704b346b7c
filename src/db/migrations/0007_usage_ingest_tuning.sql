-- Usage ingestion tuning (issue 4): one round trip and one statement per batch, less work per event.
-- Measurements and reasoning: docs/decisions/0008-usage-metering.md ("Ingestion tuning") and the
-- ingest section of BENCHMARKS.md.

-- 1. Raw event properties as json, not jsonb. The API has validated them and sends JSON text that is
--    stored as is (json_in only checks the syntax); jsonb would parse and re-encode every event on the
--    hot path for the benefit of ad-hoc audits and backfills, which can cast (properties::jsonb) or use
--    ->> / ->, which json supports too. Existing rows are converted (the table is small at this point).
ALTER TABLE usage_events ALTER COLUMN properties DROP DEFAULT;
ALTER TABLE usage_events ALTER COLUMN properties TYPE json USING properties::json;
ALTER TABLE usage_events ALTER COLUMN properties SET DEFAULT '{}'::json;

-- 2. Rollup rows are updated once per batch that touches them. Free space on their pages lets the
--    update be HOT (no key column changes), so it writes no index entry and less WAL.
ALTER TABLE usage_rollups SET (fillfactor = 70);

-- 3. Pending rollup contributions: ONE row per committed batch (ADR 0008, "Ingestion redesign").
--    The cost of the per-batch rollup upsert followed rollup rows (about 0.9 per event with Zipf
--    customers), not events; so the hot path only appends the batch's summed contributions here, in the
--    same transaction as its keys and events (a committed batch always has its delta, and vice versa),
--    and the compactor (src/usage/rollup-compactor.ts) folds pending deltas into usage_rollups: DELETE …
--    RETURNING and the upsert commit together, so each delta is folded exactly once.
--    contributions: [{"m" meter id, "c" customer id, "b" hour (epoch ms), "g" group key, "n" count,
--                     "s" exact sum or null, "x" max or null, "la" latest at (epoch ms), "le" latest
--                     event id, "lv" latest value}], one per (meter, customer, hour, group).
--    unique_values: [{"m", "c", "b", "g", "u" value}], distinct, for unique_count meters.
CREATE TABLE usage_rollup_deltas (
  tenant_id     text COLLATE "C" NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  created_at    timestamptz NOT NULL DEFAULT now(),
  contributions json,
  unique_values json,
  PRIMARY KEY (tenant_id, id)
);
ALTER TABLE usage_rollup_deltas ALTER COLUMN contributions SET COMPRESSION lz4;
ALTER TABLE usage_rollup_deltas ALTER COLUMN unique_values SET COMPRESSION lz4;

-- Rollup states folded by a reader inside its own transaction (compactPendingRollups, e.g. usage
-- billing) that the reader cannot publish to the Redis cache itself: the background compactor
-- publishes them after that transaction committed (and they vanish with it if it rolled back).
-- rollups: the touched rows' cumulative state and version; unique_values: the values new to their hour.
CREATE TABLE usage_rollup_publications (
  tenant_id     text COLLATE "C" NOT NULL,
  id            bigint GENERATED ALWAYS AS IDENTITY,
  rollups       json,
  unique_values json,
  PRIMARY KEY (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['usage_rollup_deltas', 'usage_rollup_publications'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
    -- Only the owner (through usage_pending_rollup_tenants, SECURITY DEFINER) reads across tenants.
    EXECUTE format('CREATE POLICY pending_tenants ON %I FOR SELECT TO CURRENT_USER USING (true)', t);
  END LOOP;
END $$;
GRANT SELECT, INSERT, DELETE ON usage_rollup_deltas, usage_rollup_publications TO ledgerline_app;

-- The tenants with pending deltas or publications: what the compactor visits (then under withTenant).
CREATE FUNCTION usage_pending_rollup_tenants()
  RETURNS SETOF text
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT DISTINCT tenant_id::text FROM usage_rollup_deltas
    UNION
    SELECT DISTINCT tenant_id::text FROM usage_rollup_publications
  $$;
REVOKE ALL ON FUNCTION usage_pending_rollup_tenants() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_pending_rollup_tenants() TO ledgerline_app;

-- "latest" while summing: one array_agg of this composite (one sort per group instead of three).
CREATE TYPE usage_latest AS (at bigint, event_id text COLLATE "C", value numeric);

-- 4. The whole write of one batch as one function call: the transaction is the implicit one of the
--    calling statement, so a batch costs one round trip (no BEGIN / SET / COMMIT trips) and the plan
--    of the statement is cached by PL/pgSQL. SECURITY INVOKER (the default): the caller's row-level
--    security applies, with the tenant set for this transaction only.
--
--    p_events:   [{"id", "c" customer id, "n" event name, "t" occurred at (epoch ms), "p" properties}],
--                distinct ids, in the order keys are to be claimed (sorted, so that two overlapping
--                batches cannot deadlock on each other's keys).
--    p_contribs: [{"e" index into p_events (0-based), "m" index into p_meters (1-based), "g" group key,
--                 "v" canonical decimal for sum/max/latest or null, "u" distinct value for unique_count
--                 or null}]: what each event adds to which meter, worked out by the API
--                (src/domain/usage/meter.ts).
--
--    The dedupe decision is the INSERT … ON CONFLICT DO NOTHING RETURNING into usage_event_keys, as
--    before; only claimed events are stored, and only their contributions are summed, here, in SQL
--    (count, exact numeric sum and max, latest by (occurred_at, event id) compared byte-wise), into
--    ONE usage_rollup_deltas row. Returns the ids that were already stored (duplicates, usually none).
CREATE FUNCTION usage_ingest_batch(p_tenant text, p_meters text[], p_events json, p_contribs json)
  RETURNS text[]
  LANGUAGE plpgsql
  AS $$
DECLARE
  dups text[];
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  WITH input AS (
    SELECT e.id, e.c, e.n, e.t, e.p, (e.ord - 1)::integer AS i
      FROM ROWS FROM (json_to_recordset(p_events) AS (id text, c text, n text, t bigint, p json))
           WITH ORDINALITY AS e(id, c, n, t, p, ord)
  ), fresh AS (
    INSERT INTO usage_event_keys (tenant_id, event_id, occurred_at)
    SELECT p_tenant, input.id, 'epoch'::timestamptz + input.t * interval '1 millisecond' FROM input
    ON CONFLICT DO NOTHING
    RETURNING event_id
  ), claimed AS MATERIALIZED (
    SELECT input.* FROM input JOIN fresh ON fresh.event_id = input.id
  ), stored AS (
    INSERT INTO usage_events (tenant_id, event_id, customer_id, event_name, occurred_at, properties)
    SELECT p_tenant, claimed.id, claimed.c, claimed.n, 'epoch'::timestamptz + claimed.t * interval '1 millisecond',
           claimed.p
      FROM claimed
  ), contrib AS MATERIALIZED (
    SELECT x.m, claimed.c, claimed.t - claimed.t % 3600000 AS b, x.g, x.v::numeric AS v, x.u,
           claimed.t, claimed.id
      FROM json_to_recordset(p_contribs) AS x(e integer, m integer, g text, v text, u text)
      JOIN claimed ON claimed.i = x.e
  ), agg AS (
    SELECT p_meters[contrib.m] AS m, contrib.c, contrib.b, contrib.g, count(*) AS n, sum(contrib.v) AS s,
           max(contrib.v) AS x,
           (array_agg(ROW(contrib.t, contrib.id, contrib.v)::usage_latest
                      ORDER BY contrib.t DESC, contrib.id COLLATE "C" DESC)
              FILTER (WHERE contrib.v IS NOT NULL))[1] AS l
      FROM contrib
     GROUP BY 1, 2, 3, 4
  ), sums AS (
    SELECT a.m, a.c, a.b, a.g, a.n, a.s, a.x, (a.l).at AS la, (a.l).event_id AS le, (a.l).value AS lv
      FROM agg a
  ), uniq AS (
    SELECT DISTINCT p_meters[contrib.m] AS m, contrib.c, contrib.b, contrib.g, contrib.u
      FROM contrib
     WHERE contrib.u IS NOT NULL
  ), delta AS (
    INSERT INTO usage_rollup_deltas (tenant_id, contributions, unique_values)
    SELECT p_tenant, (SELECT json_agg(sums) FROM sums), (SELECT json_agg(uniq) FROM uniq)
     WHERE EXISTS (SELECT 1 FROM contrib)
  )
  SELECT array_agg(input.id ORDER BY input.i) INTO dups
    FROM input
   WHERE NOT EXISTS (SELECT 1 FROM fresh WHERE fresh.event_id = input.id);
  RETURN dups;
END $$;
REVOKE ALL ON FUNCTION usage_ingest_batch(text, text[], json, json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_ingest_batch(text, text[], json, json) TO ledgerline_app;

-- 5. The fold of up to p_limit pending deltas of the caller's tenant (RLS) into usage_rollups, one
--    upsert per touched row in key order, bumping its version; the deltas' DELETE commits with it.
--    Callers hold the tenant's compaction lock (pg_advisory_xact_lock, see rollup-compactor.ts), so
--    there is one folder per tenant (no FOR UPDATE needed, which would need UPDATE on the table; even
--    without the lock, DELETE … RETURNING only returns rows this statement deleted), rollups have one
--    writer per tenant and the rows always go to slot 0 (older slot rows stay valid:
--    readers combine slots). Returns how many deltas were folded, the written rows (cumulative state +
--    version, for the version-ordered Redis cache) and the unique values new to their hour.
CREATE FUNCTION usage_fold_rollup_deltas(p_limit integer)
  RETURNS TABLE (folded integer, rollups json, unique_values json)
  LANGUAGE plpgsql
  AS $$
BEGIN
  RETURN QUERY
  WITH taken AS MATERIALIZED (
    DELETE FROM usage_rollup_deltas
     WHERE (tenant_id, id) IN (SELECT d.tenant_id, d.id FROM usage_rollup_deltas d
                                WHERE d.tenant_id = current_tenant_id()
                                ORDER BY d.id LIMIT p_limit)
    RETURNING usage_rollup_deltas.tenant_id, usage_rollup_deltas.contributions, usage_rollup_deltas.unique_values
  ), c AS (
    SELECT taken.tenant_id, x.*
      FROM taken, json_to_recordset(taken.contributions)
           AS x(m text, c text, b bigint, g text, n bigint, s numeric, x numeric, la bigint, le text, lv numeric)
  ), agg AS (
    SELECT c.tenant_id, c.m COLLATE "C" AS meter_id, c.c COLLATE "C" AS customer_id, c.b,
           c.g COLLATE "C" AS group_key, sum(c.n)::bigint AS n, sum(c.s) AS s, max(c.x) AS x,
           (array_agg(ROW(c.la, c.le, c.lv)::usage_latest ORDER BY c.la DESC, c.le COLLATE "C" DESC)
              FILTER (WHERE c.la IS NOT NULL))[1] AS l
      FROM c
     GROUP BY 1, 2, 3, 4, 5
  ), d AS (
    SELECT a.tenant_id, a.meter_id, a.customer_id, a.b, a.group_key, a.n, a.s, a.x,
           (a.l).at AS la, (a.l).event_id AS le, (a.l).value AS lv
      FROM agg a
  ), written AS (
    INSERT INTO usage_rollups AS r (tenant_id, meter_id, customer_id, bucket_start, group_key, slot, event_count,
      value_sum, value_max, latest_at, latest_event_id, latest_value)
    SELECT d.tenant_id, d.meter_id, d.customer_id, 'epoch'::timestamptz + d.b * interval '1 millisecond', d.group_key,
           0, d.n, d.s, d.x, 'epoch'::timestamptz + d.la * interval '1 millisecond', d.le, d.lv
      FROM d
     ORDER BY d.meter_id, d.customer_id, d.b, d.group_key
    ON CONFLICT (tenant_id, meter_id, customer_id, bucket_start, group_key, slot) DO UPDATE SET
      event_count = r.event_count + excluded.event_count,
      value_sum = CASE WHEN r.value_sum IS NULL THEN excluded.value_sum
                       WHEN excluded.value_sum IS NULL THEN r.value_sum
                       ELSE r.value_sum + excluded.value_sum END,
      value_max = greatest(r.value_max, excluded.value_max),
      latest_at = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                         (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                       THEN excluded.latest_at ELSE r.latest_at END,
      latest_event_id = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                         (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                       THEN excluded.latest_event_id ELSE r.latest_event_id END,
      latest_value = CASE WHEN excluded.latest_at IS NOT NULL AND (r.latest_at IS NULL OR
                         (excluded.latest_at, excluded.latest_event_id) > (r.latest_at, r.latest_event_id))
                       THEN excluded.latest_value ELSE r.latest_value END,
      version = r.version + 1,
      updated_at = now()
    RETURNING r.meter_id, r.customer_id, (extract(epoch FROM r.bucket_start) * 1000)::bigint AS bucket_ms,
      r.group_key, r.slot, r.version, r.event_count, r.value_sum::text AS value_sum, r.value_max::text AS value_max,
      (extract(epoch FROM r.latest_at) * 1000)::bigint AS latest_ms, r.latest_event_id,
      r.latest_value::text AS latest_value
  ), uniques AS (
    INSERT INTO usage_unique_values (tenant_id, meter_id, customer_id, bucket_start, group_key, value)
    SELECT DISTINCT taken.tenant_id, u.m COLLATE "C", u.c COLLATE "C",
           'epoch'::timestamptz + u.b * interval '1 millisecond', u.g COLLATE "C", u.u COLLATE "C"
      FROM taken, json_to_recordset(taken.unique_values) AS u(m text, c text, b bigint, g text, u text)
     ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT DO NOTHING
    RETURNING usage_unique_values.meter_id, usage_unique_values.customer_id,
      (extract(epoch FROM usage_unique_values.bucket_start) * 1000)::bigint AS bucket_ms,
      usage_unique_values.group_key, usage_unique_values.value
  )
  SELECT (SELECT count(*)::integer FROM taken), (SELECT json_agg(written) FROM written),
         (SELECT json_agg(uniques) FROM uniques);
END $$;
REVOKE ALL ON FUNCTION usage_fold_rollup_deltas(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_fold_rollup_deltas(integer) TO ledgerline_app;
