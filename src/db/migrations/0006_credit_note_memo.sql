-- Finance's note on a credit note issued through the API (POST /v1/credit_notes `memo`). A table of
-- its own rather than a column: credit notes are append-only and written by the invoicing activity,
-- which knows nothing of memos; the API records the memo right after the activity has issued the
-- note. At most one per credit note, never changed.
CREATE TABLE credit_note_memos (
  tenant_id      text NOT NULL,
  credit_note_id text NOT NULL,
  memo           text NOT NULL CHECK (length(memo) BETWEEN 1 AND 1000),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, credit_note_id),
  FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id)
);
CREATE TRIGGER credit_note_memos_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_note_memos
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

ALTER TABLE credit_note_memos ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_note_memos FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_note_memos USING (tenant_id = current_tenant_id())
  WITH CHECK (tenant_id = current_tenant_id());

-- GET /v1/credit_notes (newest first, by invoice or customer) and the activity's "still creditable"
-- sum over an invoice's credit notes.
CREATE INDEX credit_notes_list ON credit_notes (tenant_id, created_at DESC, id DESC);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant_id, invoice_id);
CREATE INDEX credit_notes_customer ON credit_notes (tenant_id, customer_id, created_at DESC);

GRANT SELECT, INSERT ON credit_note_memos TO ledgerline_app;
