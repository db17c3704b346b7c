-- Usage ingestion at 100,000 events/s on two cores (issue 4): the Postgres cost per event is cut to
-- what the exactly-once guarantee needs — one unique-key insert — by storing each committed batch's
-- events as one segment row and summing the batch's rollup contributions in the API, not in SQL.
-- Measurements and reasoning: docs/decisions/0008-usage-metering.md ("Segments") and BENCHMARKS.md.
--
-- Before: per event a key row (ON CONFLICT), an event row (json properties, partition routing, RLS
-- check), two JSON records parsed by json_to_recordset and a GROUP BY into the delta; the compactor
-- then re-parsed the deltas in SQL. After: per event the key row only; per batch one segment row
-- (the events as one lz4-compressed json document) and one delta row (already summed by the API).

-- 1. Segments: the stored events of one committed batch. Partitioned by ingestion time (append-only
--    months that can be detached and archived whole); a late event is found by its occurred time
--    inside the segment, and first/last_occurred_at bound a segment for period scans.
--    events: [{"id", "c" customer id, "n" event name, "t" occurred at (epoch ms), "p" properties}].
CREATE SEQUENCE usage_event_segment_ids AS bigint;

CREATE TABLE usage_event_segments (
  tenant_id         text COLLATE "C" NOT NULL,
  id                bigint NOT NULL,
  ingested_at       timestamptz NOT NULL DEFAULT now(),
  first_occurred_at timestamptz NOT NULL,
  last_occurred_at  timestamptz NOT NULL,
  event_count       integer NOT NULL CHECK (event_count BETWEEN 1 AND 10000),
  -- JSON text written by the API (JSON.stringify of values it validated): stored as text so that the
  -- hot path does not lex every event again; the usage_events view reads it as json.
  events            text NOT NULL,
  CHECK (first_occurred_at <= last_occurred_at)
) PARTITION BY RANGE (ingested_at);
ALTER TABLE usage_event_segments ALTER COLUMN events SET COMPRESSION lz4;
CREATE INDEX usage_event_segments_by_id ON usage_event_segments (tenant_id, id);
CREATE TABLE usage_event_segments_default PARTITION OF usage_event_segments DEFAULT;

-- 2. The key row points at the segment holding its event (instead of the event's occurred month).
ALTER TABLE usage_event_keys ADD COLUMN segment_id bigint;

-- 3. Events stored before this migration become segments, one per original batch (a batch's rows share
--    the transaction's ingested_at). FORCE RLS binds the owner too: lifted for the move only.
ALTER TABLE usage_events NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_event_keys NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_event_segments NO FORCE ROW LEVEL SECURITY;
CREATE TEMP TABLE usage_segment_map ON COMMIT DROP AS
  SELECT tenant_id, ingested_at, nextval('usage_event_segment_ids') AS id
    FROM (SELECT DISTINCT tenant_id, ingested_at FROM usage_events) batches;
INSERT INTO usage_event_segments (tenant_id, id, ingested_at, first_occurred_at, last_occurred_at, event_count, events)
SELECT m.tenant_id, m.id, m.ingested_at, min(e.occurred_at), max(e.occurred_at), count(*),
       json_agg(json_build_object('id', e.event_id, 'c', e.customer_id, 'n', e.event_name,
                                  't', (extract(epoch FROM e.occurred_at) * 1000)::bigint, 'p', e.properties)
                ORDER BY e.event_id COLLATE "C")::text
  FROM usage_events e JOIN usage_segment_map m ON m.tenant_id = e.tenant_id AND m.ingested_at = e.ingested_at
 GROUP BY m.tenant_id, m.id, m.ingested_at;
UPDATE usage_event_keys k SET segment_id = m.id
  FROM usage_events e JOIN usage_segment_map m ON m.tenant_id = e.tenant_id AND m.ingested_at = e.ingested_at
 WHERE k.tenant_id = e.tenant_id AND k.event_id = e.event_id;
ALTER TABLE usage_event_keys FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_event_keys ALTER COLUMN segment_id SET NOT NULL;
ALTER TABLE usage_event_keys DROP COLUMN occurred_at;

DROP FUNCTION usage_ingest_batch(text, text[], json, json);
DROP TABLE usage_events;

-- 4. The events one row each, for audits and ad-hoc queries (security_invoker: the caller's row-level
--    security applies). To find one event by id, join usage_event_keys on segment_id rather than
--    scanning: `... FROM usage_event_keys k JOIN usage_events e ON e.segment_id = k.segment_id AND
--    e.event_id = k.event_id WHERE k.event_id = $1`.
CREATE VIEW usage_events WITH (security_invoker = true) AS
  SELECT s.tenant_id, e.id AS event_id, e.c AS customer_id, e.n AS event_name,
         'epoch'::timestamptz + e.t * interval '1 millisecond' AS occurred_at, s.ingested_at,
         coalesce(e.p, '{}'::json) AS properties, s.id AS segment_id
    FROM usage_event_segments s,
         json_to_recordset(s.events::json) AS e(id text, c text, n text, t bigint, p json);

ALTER TABLE usage_event_segments ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_event_segments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_event_segments USING (tenant_id = current_tenant_id())
  WITH CHECK (tenant_id = current_tenant_id());
ALTER TABLE usage_event_segments_default ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_event_segments_default FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_event_segments_default USING (tenant_id = current_tenant_id())
  WITH CHECK (tenant_id = current_tenant_id());

GRANT SELECT, INSERT ON usage_event_segments TO ledgerline_app;
GRANT SELECT ON usage_events TO ledgerline_app;
GRANT USAGE ON SEQUENCE usage_event_segment_ids TO ledgerline_app;

-- 5. The monthly partitions are now the segments' (by ingestion time); same contract as before.
CREATE OR REPLACE FUNCTION usage_ensure_event_partitions(p_from timestamptz, p_months integer)
  RETURNS integer
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public SET TimeZone = 'UTC'
  AS $$
DECLARE
  month_start timestamptz;
  month_end   timestamptz;
  part        text;
  created     integer := 0;
BEGIN
  IF p_months < 1 OR p_months > 36 THEN
    RAISE EXCEPTION 'p_months must be 1..36, got %', p_months;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('ledgerline:usage_event_partitions'));
  FOR i IN 0 .. p_months - 1 LOOP
    month_start := (date_trunc('month', p_from AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
    month_end := (date_trunc('month', p_from AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
    part := format('usage_event_segments_y%sm%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY'),
                   to_char(month_start AT TIME ZONE 'UTC', 'MM'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I (LIKE usage_event_segments INCLUDING DEFAULTS INCLUDING CONSTRAINTS '
                   'INCLUDING COMPRESSION)', part);
    ALTER TABLE usage_event_segments_default NO FORCE ROW LEVEL SECURITY;
    EXECUTE format('WITH moved AS (DELETE FROM usage_event_segments_default WHERE ingested_at >= $1 '
                   'AND ingested_at < $2 RETURNING *) INSERT INTO %I SELECT * FROM moved', part)
      USING month_start, month_end;
    ALTER TABLE usage_event_segments_default FORCE ROW LEVEL SECURITY;
    EXECUTE format('ALTER TABLE usage_event_segments ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, month_start, month_end);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', part);
    created := created + 1;
  END LOOP;
  RETURN created;
END $$;

SELECT usage_ensure_event_partitions(now() - interval '2 months', 6);

-- 6. The hot path, two calls in one transaction (src/usage/event-store.ts):
--    usage_claim_event_keys claims the batch's keys (sorted by the caller, so overlapping batches take
--    them in one order and cannot deadlock) for a new segment id; INSERT … ON CONFLICT DO NOTHING
--    RETURNING is the dedupe decision, as before. It answers with the segment id and the ids that were
--    already stored. The API then sums only the claimed events' contributions and calls
--    usage_store_event_segment with the claimed events and that delta. Both commit together or not at
--    all: a claimed key always has its event and its delta.
CREATE FUNCTION usage_claim_event_keys(p_tenant text, p_ids text[])
  RETURNS TABLE (segment_id bigint, duplicate_ids text[])
  LANGUAGE plpgsql
  AS $$
DECLARE
  segment bigint := nextval('usage_event_segment_ids');
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  segment_id := segment;
  -- The ids not claimed now are the duplicates (usually none): the batch minus what was inserted, as
  -- a set operation (sorted or hashed, never a nested loop over the two lists: the planner cannot
  -- know their sizes here, and a nested-loop anti-join cost 1,000 × 1,000 comparisons per batch).
  -- The caller's ids are distinct.
  WITH fresh AS (
    INSERT INTO usage_event_keys (tenant_id, event_id, segment_id)
    SELECT p_tenant, id, segment FROM unnest(p_ids) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id
  )
  SELECT coalesce(array_agg(dup.id), '{}') INTO duplicate_ids
    FROM (SELECT unnest(p_ids) EXCEPT ALL SELECT event_id FROM fresh) AS dup(id);
  RETURN NEXT;
END $$;
REVOKE ALL ON FUNCTION usage_claim_event_keys(text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_claim_event_keys(text, text[]) TO ledgerline_app;

-- p_delta: {"v":2,"m":[meter ids],"c":[customer ids],"r":[[meter index, customer index, hour (epoch
-- ms), group key, count, sum, max, latest at (epoch ms), latest event id, latest value] …],"u":[[meter
-- index, customer index, hour, group key, distinct value] …]} — decimals as strings, trailing nulls
-- omitted (src/usage/rollup-delta.ts). Null when no claimed event matched a meter.
CREATE FUNCTION usage_store_event_segment(p_tenant text, p_segment bigint, p_first_ms bigint, p_last_ms bigint,
                                          p_count integer, p_events text, p_delta json)
  RETURNS void
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF current_tenant_id() IS DISTINCT FROM p_tenant THEN
    RAISE EXCEPTION 'usage_store_event_segment: call usage_claim_event_keys for tenant % first', p_tenant;
  END IF;
  INSERT INTO usage_event_segments (tenant_id, id, first_occurred_at, last_occurred_at, event_count, events)
  VALUES (p_tenant, p_segment, 'epoch'::timestamptz + p_first_ms * interval '1 millisecond',
          'epoch'::timestamptz + p_last_ms * interval '1 millisecond', p_count, p_events);
  IF p_delta IS NOT NULL THEN
    INSERT INTO usage_rollup_deltas (tenant_id, contributions) VALUES (p_tenant, p_delta);
  END IF;
END $$;
REVOKE ALL ON FUNCTION usage_store_event_segment(text, bigint, bigint, bigint, integer, text, json) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_store_event_segment(text, bigint, bigint, bigint, integer, text, json)
  TO ledgerline_app;

-- 7. The fold moves to the compactor (src/usage/rollup-compactor.ts): it takes deltas with DELETE …
--    RETURNING, sums them in JS and upserts the touched rollup rows from arrays, in one transaction.
--    Deltas written before this migration (the SQL-summed format, an array of objects) are folded by
--    the same code.
DROP FUNCTION usage_fold_rollup_deltas(integer);
DROP TYPE usage_latest;
