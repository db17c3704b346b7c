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

-- 3. The whole write of one batch as one function call: the transaction is the implicit one of the
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
--    before; only claimed events are stored, and only their contributions are summed into the rollups,
--    here, in SQL (count, exact numeric sum and max, latest by (occurred_at, event id) compared
--    byte-wise), one upserted row per (meter, customer, hour, group) in key order (lock order).
--    Returns the ids that were already stored (duplicates, usually none), and the cumulative state of
--    every rollup row written and the unique values new to their hour, for the Redis cache.
CREATE FUNCTION usage_ingest_batch(p_tenant text, p_slot smallint, p_meters text[], p_events json, p_contribs json)
  RETURNS TABLE (duplicate_ids text[], rollups json, unique_values json)
  LANGUAGE plpgsql
  AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  RETURN QUERY
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
  ), contrib AS (
    SELECT x.m, claimed.c, claimed.t - claimed.t % 3600000 AS b, x.g, x.v::numeric AS v, x.v AS vt, x.u,
           claimed.t, claimed.id
      FROM json_to_recordset(p_contribs) AS x(e integer, m integer, g text, v text, u text)
      JOIN claimed ON claimed.i = x.e
  ), deltas AS (
    SELECT p_meters[contrib.m] COLLATE "C" AS meter_id, contrib.c COLLATE "C" AS customer_id, contrib.b,
           contrib.g COLLATE "C" AS group_key, count(*) AS n, sum(contrib.v) AS s, max(contrib.v) AS x,
           (array_agg(contrib.t ORDER BY contrib.t DESC, contrib.id COLLATE "C" DESC)
              FILTER (WHERE contrib.v IS NOT NULL))[1] AS la,
           (array_agg(contrib.id ORDER BY contrib.t DESC, contrib.id COLLATE "C" DESC)
              FILTER (WHERE contrib.v IS NOT NULL))[1] AS le,
           (array_agg(contrib.vt ORDER BY contrib.t DESC, contrib.id COLLATE "C" DESC)
              FILTER (WHERE contrib.v IS NOT NULL))[1]::numeric AS lv
      FROM contrib
     GROUP BY 1, 2, 3, 4
  ), written AS (
    INSERT INTO usage_rollups AS r (tenant_id, meter_id, customer_id, bucket_start, group_key, slot, event_count,
      value_sum, value_max, latest_at, latest_event_id, latest_value)
    SELECT p_tenant, d.meter_id, d.customer_id, 'epoch'::timestamptz + d.b * interval '1 millisecond', d.group_key,
           p_slot, d.n, d.s, d.x, 'epoch'::timestamptz + d.la * interval '1 millisecond', d.le, d.lv
      FROM deltas d
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
    SELECT DISTINCT p_tenant, p_meters[contrib.m] COLLATE "C", contrib.c COLLATE "C",
           'epoch'::timestamptz + contrib.b * interval '1 millisecond', contrib.g COLLATE "C", contrib.u COLLATE "C"
      FROM contrib
     WHERE contrib.u IS NOT NULL
     ORDER BY 2, 3, 4, 5, 6
    ON CONFLICT DO NOTHING
    RETURNING usage_unique_values.meter_id, usage_unique_values.customer_id,
      (extract(epoch FROM usage_unique_values.bucket_start) * 1000)::bigint AS bucket_ms,
      usage_unique_values.group_key, usage_unique_values.value
  )
  SELECT (SELECT array_agg(input.id ORDER BY input.i) FROM input
           WHERE NOT EXISTS (SELECT 1 FROM fresh WHERE fresh.event_id = input.id)),
         (SELECT json_agg(written) FROM written),
         (SELECT json_agg(uniques) FROM uniques);
END $$;
REVOKE ALL ON FUNCTION usage_ingest_batch(text, smallint, text[], json, json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_ingest_batch(text, smallint, text[], json, json) TO ledgerline_app;
