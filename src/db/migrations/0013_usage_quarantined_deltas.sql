-- Pending rollup deltas that cannot be folded are set aside, not retried forever (issue 4; ADR 0008 §27).
--
-- Every fold (the background compactor, a strong read, usage billing) folds ALL of a tenant's pending
-- deltas in one transaction. A delta that fails to fold every time — a document the code cannot read,
-- a meter row removed by hand (foreign key), a value Postgres refuses — used to fail that transaction
-- on every pass: the tenant's aggregates stopped moving and its usage invoices could not be made. Now
-- the fold, on such an error (SQLSTATE class 22 or 23, or an unreadable document), finds the failing
-- deltas by halving the pending set under savepoints, moves them here with the error, and folds the
-- rest, all in the fold's own transaction.
--
-- Their events stay stored (keys and segments are untouched), so nothing is lost; they are just not
-- counted until the cause is fixed and they are requeued (usage_requeue_quarantined_deltas). Usage
-- billing refuses to invoice a tenant that has quarantined deltas: an invoice known to miss usage is
-- never issued.
CREATE TABLE usage_rollup_deltas_quarantined (
  tenant_id      text COLLATE "C" NOT NULL,
  id             bigint NOT NULL,
  created_at     timestamptz NOT NULL,
  contributions  json,
  unique_values  json,
  error          text NOT NULL,
  quarantined_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);
ALTER TABLE usage_rollup_deltas_quarantined ENABLE ROW LEVEL SECURITY;
ALTER TABLE usage_rollup_deltas_quarantined FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON usage_rollup_deltas_quarantined
  USING (tenant_id = current_tenant_id()) WITH CHECK (tenant_id = current_tenant_id());
GRANT SELECT, INSERT, DELETE ON usage_rollup_deltas_quarantined TO ledgerline_app;

-- Moves the current tenant's quarantined deltas (all, or those of p_ids) back to pending, under their
-- own ids, for the next fold; returns how many moved. A delta that still fails is quarantined again.
CREATE FUNCTION usage_requeue_quarantined_deltas(p_ids bigint[] DEFAULT NULL)
  RETURNS integer
  LANGUAGE plpgsql
  AS $$
DECLARE
  moved integer;
BEGIN
  WITH taken AS (
    DELETE FROM usage_rollup_deltas_quarantined q
     WHERE q.tenant_id = current_tenant_id() AND (p_ids IS NULL OR q.id = ANY (p_ids))
    RETURNING q.tenant_id, q.id, q.created_at, q.contributions, q.unique_values
  )
  INSERT INTO usage_rollup_deltas (tenant_id, id, created_at, contributions, unique_values)
  OVERRIDING SYSTEM VALUE
  SELECT tenant_id, id, created_at, contributions, unique_values FROM taken;
  GET DIAGNOSTICS moved = ROW_COUNT;
  RETURN moved;
END $$;
REVOKE ALL ON FUNCTION usage_requeue_quarantined_deltas(bigint[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION usage_requeue_quarantined_deltas(bigint[]) TO ledgerline_app;
