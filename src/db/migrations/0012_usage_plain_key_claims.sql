-- One statement per ingestion batch, claiming the keys predicted new with a plain INSERT (issue 4;
-- ADR 0008 §22).
--
-- INSERT … ON CONFLICT DO NOTHING costs about twice a plain INSERT per key on this machine (7.3 vs 3.7
-- µs, one session, 1,000-key batches): it probes the unique index before inserting, takes a
-- speculative-insertion lock, then descends the index again to insert. A plain INSERT descends once and
-- checks uniqueness on the way, but a single duplicate fails the whole statement.
--
-- So the API splits a batch's ids in two with a memory of the ids it has sent
-- (src/usage/recent-event-ids.ts): ids it may have sent before (p_suspect_ids: a client retry, a
-- replayed stream) are claimed with ON CONFLICT; the others (p_new_ids, nearly always new) with a plain
-- INSERT. Because each suspect event comes with its own piece of segment text and its own delta, the
-- function can store exactly the suspects it claimed without another round trip: the batch is one
-- autocommitted statement instead of BEGIN, claim, store, COMMIT.
--
-- If an id predicted new is stored already (sent through another replica, before a restart, or too
-- long ago to be remembered), the plain INSERT fails with unique_violation on usage_event_keys_pkey and
-- the whole statement rolls back; the API then stores the batch the long way (0011's
-- usage_claim_event_keys + usage_store_event_segment in one transaction, ON CONFLICT for every id).
-- The prediction chooses the path; the unique key still makes every dedupe decision, so a wrong
-- prediction costs time and never a count.
--
-- p_new_events: the segment document (version 2, below) of the events predicted new, with "e" last
-- (empty when none);
-- p_new_delta: their summed contributions (rollup-delta.ts), null when they touch no meter.
-- p_suspect_events / p_suspect_deltas / p_suspect_ms: per suspect (same order as p_suspect_ids) its
-- event's segment element (version 2, with the customer and name as strings, not indexes), its own
-- delta (or null) and its occurred time (epoch ms).
-- Returns the ids that were stored already (the duplicates).
-- Segment documents, version 2 (the API writes only these from this migration on): fewer bytes per
-- event than 0011's array of objects (~100 instead of ~150 in the bench), because on this machine each
-- byte sent to Postgres, compressed and written to the WAL is measurable CPU:
--   {"v":2, "t":base (epoch ms), "c":[customer ids], "n":[event names],
--    "e":[[id, customer index, name index, occurred at − base (ms), properties], …]}
-- An element may carry its customer and name as strings instead of indexes (a suspect's element,
-- spliced in by usage_ingest_event_batch). Version-1 segments ('[{"id","c","n","t","p"}, …]') stay
-- as they are; the view reads both.
CREATE OR REPLACE VIEW usage_events WITH (security_invoker = true) AS
  SELECT s.tenant_id, e.id AS event_id, e.c AS customer_id, e.n AS event_name,
         'epoch'::timestamptz + e.t * interval '1 millisecond' AS occurred_at, s.ingested_at,
         coalesce(e.p, '{}'::json) AS properties, s.id AS segment_id
    FROM usage_event_segments s,
         json_to_recordset(s.events::json) AS e(id text, c text, n text, t bigint, p json)
   WHERE left(s.events, 1) = '['
  UNION ALL
  SELECT s.tenant_id, e.value ->> 0,
         CASE WHEN json_typeof(e.value -> 1) = 'number' THEN d.customers[(e.value ->> 1)::integer + 1]
              ELSE e.value ->> 1 END,
         CASE WHEN json_typeof(e.value -> 2) = 'number' THEN d.names[(e.value ->> 2)::integer + 1]
              ELSE e.value ->> 2 END,
         'epoch'::timestamptz + (d.base + (e.value ->> 3)::bigint) * interval '1 millisecond', s.ingested_at,
         coalesce(e.value -> 4, '{}'::json), s.id
    FROM usage_event_segments s
         CROSS JOIN LATERAL (SELECT s.events::json AS doc) j
         CROSS JOIN LATERAL (SELECT (j.doc ->> 't')::bigint AS base,
                                    ARRAY(SELECT json_array_elements_text(j.doc -> 'c')) AS customers,
                                    ARRAY(SELECT json_array_elements_text(j.doc -> 'n')) AS names) d
         CROSS JOIN LATERAL json_array_elements(j.doc -> 'e') AS e
   WHERE left(s.events, 1) = '{';

CREATE FUNCTION usage_ingest_event_batch(
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
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant, true);
  IF cardinality(p_new_ids) > 0 THEN
    INSERT INTO usage_event_keys (tenant_id, event_id, segment_id)
    SELECT p_tenant, id, segment FROM unnest(p_new_ids) AS id;
  END IF;
  IF cardinality(p_suspect_ids) > 0 THEN
    -- The duplicates as a set operation (never a nested loop over two lists: 0011 §6); then the
    -- suspects claimed now are the others, found against the (usually short) duplicate list.
    WITH fresh AS (
      INSERT INTO usage_event_keys (tenant_id, event_id, segment_id)
      SELECT p_tenant, id, segment FROM unnest(p_suspect_ids) AS id
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
REVOKE ALL ON FUNCTION usage_ingest_event_batch(text, text[], text, json, bigint, bigint, text[], text[], json[],
                                                bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_ingest_event_batch(text, text[], text, json, bigint, bigint, text[], text[], json[],
                                                   bigint[]) TO ledgerline_app;
