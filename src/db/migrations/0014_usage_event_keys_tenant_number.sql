-- Event keys carry a small integer per tenant instead of the tenant id text (issue 4; ADR 0008 §29).
--
-- The key INSERT is most of Postgres's work per event (pg_stat_statements: ~80 % of the ingest
-- function's time; BENCHMARKS.md), and the tenant id ('ten_' + 20 characters) was repeated in every
-- heap tuple and every index tuple of usage_event_keys. With a 4-byte number in its place the tuples
-- are ~25 bytes shorter, the index is smaller and each insert writes less WAL: pgbench, 8 clients
-- inserting 1,000 sorted keys per statement under row-level security, took 23 % more keys per second
-- on this 2-core machine (BENCHMARKS.md).
--
-- Isolation is still enforced by the database: the policy compares the row's number with the current
-- tenant's own (an uncorrelated scalar subquery on tenants, planned as an InitPlan, so it runs once per
-- statement, not per row), and tenants' own policy shows each tenant only its row.
--
-- The move rewrites the whole key table in this migration's transaction: on a large deployment, run it
-- in a maintenance window (ingestion waits for the lock; nothing is lost or counted twice).

ALTER TABLE tenants ADD COLUMN key_no integer GENERATED ALWAYS AS IDENTITY;
ALTER TABLE tenants ADD CONSTRAINT tenants_key_no_key UNIQUE (key_no);

-- The tenant's number, for the ingest functions (read under row-level security, with app.tenant_id set
-- to that tenant by the function first; the key policy then holds each row to that number).
CREATE FUNCTION usage_tenant_key_no(p_tenant text)
  RETURNS integer
  LANGUAGE plpgsql STABLE
  AS $$
DECLARE
  found integer;
BEGIN
  SELECT t.key_no INTO found FROM tenants t WHERE t.id = p_tenant;
  IF found IS NULL THEN
    RAISE EXCEPTION 'no tenant % visible to this session', p_tenant USING ERRCODE = 'P0002';
  END IF;
  RETURN found;
END $$;
REVOKE ALL ON FUNCTION usage_tenant_key_no(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_tenant_key_no(text) TO ledgerline_app;

CREATE TABLE usage_event_keys_by_number (
  tenant_no  integer NOT NULL,
  event_id   text COLLATE "C" NOT NULL CONSTRAINT usage_event_keys_event_id_check
               CHECK (length(event_id) BETWEEN 1 AND 255),
  segment_id bigint NOT NULL
);

-- FORCE RLS binds the owner too: lifted for the move only.
ALTER TABLE tenants NO FORCE ROW LEVEL SECURITY;
ALTER TABLE usage_event_keys NO FORCE ROW LEVEL SECURITY;
INSERT INTO usage_event_keys_by_number (tenant_no, event_id, segment_id)
SELECT t.key_no, k.event_id, k.segment_id
  FROM usage_event_keys k JOIN tenants t ON t.id = k.tenant_id;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
DROP TABLE usage_event_keys;
ALTER TABLE usage_event_keys_by_number RENAME TO usage_event_keys;
-- The same constraint name: the API recognises a key stored already by it (src/usage/event-store.ts).
ALTER TABLE usage_event_keys ADD CONSTRAINT usage_event_keys_pkey PRIMARY KEY (tenant_no, event_id);

ALTER TABLE usage_event_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_event_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_event_keys
  USING (tenant_no = (SELECT t.key_no FROM tenants t WHERE t.id = current_tenant_id()))
  WITH CHECK (tenant_no = (SELECT t.key_no FROM tenants t WHERE t.id = current_tenant_id()));
GRANT SELECT, INSERT ON usage_event_keys TO ledgerline_app;

-- The two functions that claim keys, as in 0011 and 0012 but with the tenant's number.
CREATE OR REPLACE FUNCTION usage_claim_event_keys(p_tenant text, p_ids text[])
  RETURNS TABLE (segment_id bigint, duplicate_ids text[])
  LANGUAGE plpgsql
  AS $$
DECLARE
  segment bigint := nextval('usage_event_segment_ids');
  v_tenant_no integer;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  v_tenant_no := usage_tenant_key_no(p_tenant);
  segment_id := segment;
  -- The ids not claimed now are the duplicates (usually none): the batch minus what was inserted, as
  -- a set operation (sorted or hashed, never a nested loop over the two lists: the planner cannot
  -- know their sizes here, and a nested-loop anti-join cost 1,000 × 1,000 comparisons per batch).
  -- The caller's ids are distinct.
  WITH fresh AS (
    INSERT INTO usage_event_keys (tenant_no, event_id, segment_id)
    SELECT v_tenant_no, id, segment FROM unnest(p_ids) AS id
    ON CONFLICT DO NOTHING
    RETURNING event_id
  )
  SELECT coalesce(array_agg(dup.id), '{}') INTO duplicate_ids
    FROM (SELECT unnest(p_ids) EXCEPT ALL SELECT event_id FROM fresh) AS dup(id);
  RETURN NEXT;
END $$;

CREATE OR REPLACE FUNCTION usage_ingest_event_batch(
  p_tenant text,
  p_new_ids text[], p_new_events text, p_new_delta json, p_new_first_ms bigint, p_new_last_ms bigint,
  p_suspect_ids text[], p_suspect_events text[], p_suspect_deltas json[], p_suspect_ms bigint[])
  RETURNS text[]
  LANGUAGE plpgsql
  AS $$
DECLARE
  segment bigint := nextval('usage_event_segment_ids');
  duplicates text[] := '{}';
  claimed integer[];
  events text := p_new_events;
  first_ms bigint := p_new_first_ms;
  last_ms bigint := p_new_last_ms;
  stored integer := cardinality(p_new_ids);
  extra text;
  extra_first bigint;
  extra_last bigint;
  v_tenant_no integer;
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  v_tenant_no := usage_tenant_key_no(p_tenant);
  IF cardinality(p_new_ids) > 0 THEN
    INSERT INTO usage_event_keys (tenant_no, event_id, segment_id)
    SELECT v_tenant_no, id, segment FROM unnest(p_new_ids) AS id;
  END IF;
  IF cardinality(p_suspect_ids) > 0 THEN
    -- The duplicates as a set operation (never a nested loop over two lists: 0011 §6); then the
    -- suspects claimed now are the others, found against the (usually short) duplicate list.
    WITH fresh AS (
      INSERT INTO usage_event_keys (tenant_no, event_id, segment_id)
      SELECT v_tenant_no, id, segment FROM unnest(p_suspect_ids) AS id
      ON CONFLICT DO NOTHING
      RETURNING event_id
    )
    SELECT coalesce(array_agg(dup.id), '{}') INTO duplicates
      FROM (SELECT unnest(p_suspect_ids) EXCEPT ALL SELECT event_id FROM fresh) AS dup(id);
    SELECT array_agg(s.i ORDER BY s.i) INTO claimed
      FROM unnest(p_suspect_ids) WITH ORDINALITY AS s(id, i)
     WHERE NOT (s.id = ANY (duplicates));
    IF claimed IS NOT NULL THEN
      SELECT string_agg(p_suspect_events[i], ',' ORDER BY i), min(p_suspect_ms[i]), max(p_suspect_ms[i])
        INTO extra, extra_first, extra_last
        FROM unnest(claimed) AS i;
      -- Spliced into the "e" array, which ends the document: …,"e":[…]}
      events := left(events, -2) || CASE WHEN stored = 0 THEN '' ELSE ',' END || extra || ']}';
      first_ms := least(first_ms, extra_first);
      last_ms := greatest(last_ms, extra_last);
      stored := stored + cardinality(claimed);
      INSERT INTO usage_rollup_deltas (tenant_id, contributions)
      SELECT p_tenant, p_suspect_deltas[i] FROM unnest(claimed) AS i WHERE p_suspect_deltas[i] IS NOT NULL;
    END IF;
  END IF;
  IF stored > 0 THEN
    INSERT INTO usage_event_segments (tenant_id, id, first_occurred_at, last_occurred_at, event_count, events)
    VALUES (p_tenant, segment, 'epoch'::timestamptz + first_ms * interval '1 millisecond',
            'epoch'::timestamptz + last_ms * interval '1 millisecond', stored, events);
  END IF;
  IF p_new_delta IS NOT NULL AND cardinality(p_new_ids) > 0 THEN
    INSERT INTO usage_rollup_deltas (tenant_id, contributions) VALUES (p_tenant, p_new_delta);
  END IF;
  RETURN duplicates;
END $$;
