-- Usage metering: meters, the raw usage event log (partitioned by event time), the exactly-once key
-- table, and per-meter rollups written in the same transaction as the events they summarize.
-- Same isolation contract as 0001: tenant_id on every table, ENABLE + FORCE row-level security.
-- Design and trade-offs: docs/decisions/0008-usage-metering.md.

-- What a tenant bills on: which events count (event_name + equality filters on properties), how they
-- are combined (aggregation over value_property) and which properties split the total (group_by).
-- Meters are immutable once created: their rollups are only meaningful under one definition.
CREATE TABLE meters (
  id             text PRIMARY KEY CHECK (id ~ '^mtr_[0-9A-Za-z]{20}$'),
  tenant_id      text NOT NULL REFERENCES tenants (id),
  name           text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  event_name     text NOT NULL CHECK (length(event_name) BETWEEN 1 AND 200),
  aggregation    text NOT NULL CHECK (aggregation IN ('sum', 'count', 'max', 'unique_count', 'latest')),
  value_property text CHECK (length(value_property) BETWEEN 1 AND 200),
  -- {"region": "eu", "tier": 2}: an event counts only when every listed property equals the value.
  filters        jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(filters) = 'object'),
  group_by       text[] NOT NULL DEFAULT '{}' CHECK (cardinality(group_by) <= 5),
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  -- count needs no value; every other aggregation reads one property.
  CHECK ((aggregation = 'count') = (value_property IS NULL))
);
CREATE INDEX meters_event_name ON meters (tenant_id, event_name);

-- The raw log, the source of truth for audits, backfills and adjustments of invoiced periods.
-- Partitioned by event time (monthly), so old months can be detached and archived whole. There is no
-- foreign key to customers: an FK costs an index probe and a row lock per event, and customers are
-- never deleted (the app role has no DELETE on them), so the resolved id stays valid.
CREATE TABLE usage_events (
  tenant_id    text NOT NULL,
  event_id     text NOT NULL,
  customer_id  text NOT NULL,
  event_name   text NOT NULL,
  occurred_at  timestamptz NOT NULL,
  -- When we stored it: a late event (occurred_at in an invoiced period) is found by comparing the two.
  ingested_at  timestamptz NOT NULL DEFAULT now(),
  properties   jsonb NOT NULL DEFAULT '{}'::jsonb
) PARTITION BY RANGE (occurred_at);
-- Whatever no monthly partition covers (far past, or a month not created yet) lands here: an event is
-- never refused for want of a partition. usage_ensure_event_partitions moves such rows out later.
CREATE TABLE usage_events_default PARTITION OF usage_events DEFAULT;

-- Exactly-once: a unique key on a time-partitioned table must contain the partition key, which would
-- make (tenant, event id) unique only per month. The key therefore lives in its own table; the ingest
-- statement claims keys here with ON CONFLICT DO NOTHING RETURNING and stores only the claimed events,
-- in the same transaction, so the durable write is the dedupe decision.
-- COLLATE "C": byte-wise comparison in the index (a quarter cheaper per insert than the database's
-- collation, measured), and the order JS and the rollup's tie-break use.
CREATE TABLE usage_event_keys (
  tenant_id    text COLLATE "C" NOT NULL,
  event_id     text COLLATE "C" NOT NULL CHECK (length(event_id) BETWEEN 1 AND 255),
  -- Locates the raw event's partition without scanning all of them.
  occurred_at  timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, event_id)
);

-- Hourly rollups per meter, customer and group (the JSON array of the group_by values, '' without
-- group_by). Each writing connection updates its own `slot` row, so concurrent batches for the same
-- customer never wait on one hot row; readers combine the slots. `version` increases on every update:
-- the Redis cache keeps, per slot, the state with the highest version (see src/usage/redis-aggregates.ts).
-- Every aggregation's state is kept; the meter's aggregation decides which one is read.
CREATE TABLE usage_rollups (
  tenant_id       text COLLATE "C" NOT NULL,
  meter_id        text COLLATE "C" NOT NULL,
  customer_id     text COLLATE "C" NOT NULL,
  bucket_start    timestamptz NOT NULL CHECK (date_trunc('hour', bucket_start) = bucket_start),
  group_key       text COLLATE "C" NOT NULL,
  slot            smallint NOT NULL CHECK (slot BETWEEN 0 AND 255),
  event_count     bigint NOT NULL CHECK (event_count >= 0),
  value_sum       numeric,
  value_max       numeric,
  -- latest: the value of the event with the greatest (occurred_at, event_id).
  latest_at       timestamptz,
  latest_event_id text COLLATE "C",
  latest_value    numeric,
  version         bigint NOT NULL DEFAULT 1,
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, slot),
  FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

-- unique_count: the distinct values seen per hour and group. Counting distinct over a range of hours is
-- COUNT(DISTINCT value) over these rows, exact for any whole-hour range.
CREATE TABLE usage_unique_values (
  tenant_id    text COLLATE "C" NOT NULL,
  meter_id     text COLLATE "C" NOT NULL,
  customer_id  text COLLATE "C" NOT NULL,
  bucket_start timestamptz NOT NULL,
  group_key    text COLLATE "C" NOT NULL,
  value        text COLLATE "C" NOT NULL,
  PRIMARY KEY (tenant_id, meter_id, customer_id, bucket_start, group_key, value),
  FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['meters', 'usage_events', 'usage_events_default', 'usage_event_keys',
                           'usage_rollups', 'usage_unique_values'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

-- Creates the monthly partitions covering [month of p_from, + p_months months). Rows of those months
-- already in the DEFAULT partition are moved into the new partition first (ATTACH would otherwise
-- fail), in this one transaction. Idempotent; run ahead of time by the partition maintenance step.
-- SECURITY DEFINER: the app role owns nothing and cannot run DDL, but may ask for partitions.
CREATE FUNCTION usage_ensure_event_partitions(p_from timestamptz, p_months integer)
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
  -- One maintainer at a time; ingestion keeps running (it only needs the partitioned parent).
  PERFORM pg_advisory_xact_lock(hashtext('ledgerline:usage_event_partitions'));
  FOR i IN 0 .. p_months - 1 LOOP
    -- Month arithmetic on UTC wall-clock time, so month lengths and DST never shift a boundary.
    month_start := (date_trunc('month', p_from AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
    month_end := (date_trunc('month', p_from AT TIME ZONE 'UTC') + make_interval(months => i + 1)) AT TIME ZONE 'UTC';
    part := format('usage_events_y%sm%s', to_char(month_start AT TIME ZONE 'UTC', 'YYYY'),
                   to_char(month_start AT TIME ZONE 'UTC', 'MM'));
    CONTINUE WHEN to_regclass(part) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I (LIKE usage_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
    -- The owner is subject to FORCE RLS on the default partition; lift it for the move only.
    ALTER TABLE usage_events_default NO FORCE ROW LEVEL SECURITY;
    EXECUTE format('WITH moved AS (DELETE FROM usage_events_default WHERE occurred_at >= $1 AND occurred_at < $2 '
                   'RETURNING *) INSERT INTO %I SELECT * FROM moved', part) USING month_start, month_end;
    ALTER TABLE usage_events_default FORCE ROW LEVEL SECURITY;
    EXECUTE format('ALTER TABLE usage_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, month_start, month_end);
    -- Reads and writes go through the parent (whose policy applies); the partition gets the same
    -- policy anyway so that nothing reaching it directly can see another tenant's rows.
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', part);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', part);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', part);
    created := created + 1;
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION usage_ensure_event_partitions(timestamptz, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_ensure_event_partitions(timestamptz, integer) TO ledgerline_app;

-- The months around the migration, so a fresh install never writes into DEFAULT.
SELECT usage_ensure_event_partitions(now() - interval '2 months', 6);

GRANT SELECT, INSERT ON meters, usage_events, usage_event_keys, usage_unique_values TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE ON usage_rollups TO ledgerline_app;
