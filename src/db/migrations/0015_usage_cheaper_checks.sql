-- Two per-event costs found with `perf` at batch 1,000 (ADR 0008, 31), neither of which buys anything:
--
-- 1. The key table's CHECK counted the characters of every event id (length() walks UTF-8 multibyte
--    rules: pg_mbstrlen_with_len and pg_utf_mblen together took ~0.65 % of the machine). The API
--    admits only printable ASCII ids (src/domain/usage/usage-event.ts), for which bytes and
--    characters are the same count; counting bytes is at least as strict for anything else. NOT
--    VALID: the rows already stored passed the character count, and scanning the whole key table
--    under this migration's lock would stall ingestion; the constraint binds every new key.
-- 2. Each fold queues its result in usage_rollup_publications (thousands of rollup rows per pass)
--    until published, and those documents were compressed with the default pglz (~0.45 %). lz4, as
--    the deltas and segments already use, costs a fraction of it; the rows live for a moment only.

ALTER TABLE usage_event_keys DROP CONSTRAINT usage_event_keys_event_id_check;
ALTER TABLE usage_event_keys ADD CONSTRAINT usage_event_keys_event_id_check
  CHECK (octet_length(event_id) BETWEEN 1 AND 255) NOT VALID;

ALTER TABLE usage_rollup_publications
  ALTER COLUMN rollups SET COMPRESSION lz4,
  ALTER COLUMN unique_values SET COMPRESSION lz4;
