-- Double-entry ledger and gapless per-tenant document numbering.
--
-- Ledger contract (the database enforces it, the application only checks it first):
--   * append-only: journal_entries and journal_lines reject UPDATE, DELETE and TRUNCATE for every role,
--     including the owner; the application role has no UPDATE or DELETE privilege on them at all.
--     Corrections are reversing entries (journal_entries.reverses_entry_id).
--   * balanced: at commit, every entry has exactly line_count >= 2 lines, all in the entry's currency,
--     and its debits equal its credits (deferred constraint triggers).
--   * balances are derived from journal_lines, never stored.
--
-- Lines carry direction ('debit' | 'credit') plus a strictly positive amount rather than a signed amount:
-- a line then has exactly one spelling (no "negative debit" that is really a credit), a zero line cannot
-- exist (CHECK amount_minor > 0), and the rows read the way an accountant writes them.

CREATE TABLE ledger_accounts (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  -- Asset: cash, accounts_receivable. Liability: tax_payable, customer_credit. Revenue: revenue.
  -- Contra-revenue (debit-normal): credits_granted (goodwill/promotional credit), refunds.
  code        text NOT NULL CHECK (code IN ('accounts_receivable', 'revenue', 'tax_payable', 'cash',
                                            'customer_credit', 'credits_granted', 'refunds')),
  currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  -- Per-customer sub-ledger; only receivable and customer credit are kept per customer.
  customer_id text CONSTRAINT ledger_accounts_customer_only_on_sub_ledgers
                   CHECK (customer_id IS NULL OR code IN ('accounts_receivable', 'customer_credit')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  -- Lines reference (tenant_id, id, currency), so a line can only post to an account in its own currency.
  UNIQUE (tenant_id, id, currency),
  -- One account per (code, currency, customer or none); NULLS NOT DISTINCT makes the "none" case unique too.
  UNIQUE NULLS NOT DISTINCT (tenant_id, code, currency, customer_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE journal_entries (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL REFERENCES tenants (id),
  -- The business event, e.g. 'invoice_finalized:inv_…': posting the same event twice is a no-op.
  idempotency_key   text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  -- SHA-256 of the draft's financial content (source, currency, time, lines; not the wording), so a
  -- second post under the same key with different amounts is reported as a bug, not silently dropped.
  draft_sha256      text NOT NULL CHECK (draft_sha256 ~ '^[0-9a-f]{64}$'),
  source_type       text NOT NULL CHECK (source_type ~ '^[a-z][a-z0-9_]{0,62}$'),
  source_id         text NOT NULL CHECK (length(source_id) BETWEEN 1 AND 255),
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  occurred_at       timestamptz NOT NULL,
  description       text NOT NULL CHECK (length(description) BETWEEN 1 AND 500),
  -- Declared number of lines: the commit-time check requires exactly this many, which also stops
  -- anyone appending lines to an entry committed earlier.
  line_count        smallint NOT NULL CHECK (line_count >= 2),
  reverses_entry_id text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, id, currency),
  UNIQUE (tenant_id, idempotency_key),
  -- A reversal is in the currency of the entry it reverses.
  FOREIGN KEY (tenant_id, reverses_entry_id, currency) REFERENCES journal_entries (tenant_id, id, currency),
  CHECK (reverses_entry_id IS NULL OR reverses_entry_id <> id)
);
CREATE INDEX journal_entries_source ON journal_entries (tenant_id, source_type, source_id);
CREATE INDEX journal_entries_occurred ON journal_entries (tenant_id, occurred_at);
-- At most one reversal per entry: reversing twice would double-correct.
CREATE UNIQUE INDEX journal_entries_one_reversal ON journal_entries (tenant_id, reverses_entry_id)
  WHERE reverses_entry_id IS NOT NULL;

CREATE TABLE journal_lines (
  tenant_id     text NOT NULL,
  entry_id      text NOT NULL,
  line_no       smallint NOT NULL CHECK (line_no >= 0),
  account_id    text NOT NULL,
  -- Denormalised from the account for customer statements; must equal the account's customer.
  customer_id   text,
  direction     text NOT NULL CHECK (direction IN ('debit', 'credit')),
  -- Positive and within Number.MAX_SAFE_INTEGER, so every amount survives JSON and the int8 parser.
  amount_minor  bigint NOT NULL CHECK (amount_minor > 0 AND amount_minor <= 9007199254740991),
  currency      char(3) NOT NULL,
  PRIMARY KEY (tenant_id, entry_id, line_no),
  -- Including currency in both foreign keys makes line currency = entry currency = account currency
  -- hold at insert time; the commit-time trigger checks the entry side again.
  FOREIGN KEY (tenant_id, entry_id, currency) REFERENCES journal_entries (tenant_id, id, currency),
  FOREIGN KEY (tenant_id, account_id, currency) REFERENCES ledger_accounts (tenant_id, id, currency),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX journal_lines_account ON journal_lines (tenant_id, account_id);
CREATE INDEX journal_lines_customer ON journal_lines (tenant_id, customer_id) WHERE customer_id IS NOT NULL;

-- Append-only. Statement-level, so even an UPDATE or DELETE that matches no row is refused, and
-- TRUNCATE (which fires no row triggers and ignores row-level security) is covered too. Getting past it
-- takes DDL by the owner (ALTER TABLE … DISABLE TRIGGER, i.e. a reviewed migration) or a superuser.
CREATE FUNCTION reject_journal_mutation() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  RAISE EXCEPTION 'ledger is append-only: % on % is not allowed', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation',
          HINT = 'Corrections are reversing entries: post a new journal entry that reverses the wrong one.';
END
$$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_entries
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();
CREATE TRIGGER journal_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON journal_lines
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

-- A line's customer_id must be its account's customer (both NULL for tenant-level accounts).
CREATE FUNCTION journal_line_customer_matches_account() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
DECLARE
  account_customer text;
BEGIN
  SELECT a.customer_id INTO account_customer
    FROM ledger_accounts a WHERE a.tenant_id = NEW.tenant_id AND a.id = NEW.account_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'journal line %/%: account % not found', NEW.entry_id, NEW.line_no, NEW.account_id
      USING ERRCODE = 'foreign_key_violation';
  END IF;
  IF NEW.customer_id IS DISTINCT FROM account_customer THEN
    RAISE EXCEPTION 'journal line %/%: customer % does not match account % (customer %)',
      NEW.entry_id, NEW.line_no, coalesce(NEW.customer_id, 'none'), NEW.account_id,
      coalesce(account_customer, 'none')
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER journal_lines_customer_matches_account BEFORE INSERT ON journal_lines
  FOR EACH ROW EXECUTE FUNCTION journal_line_customer_matches_account();

-- Balanced by the database, checked at commit once all lines of the entry are in. It runs as the
-- caller under row-level security: if the entry is not visible (the tenant changed mid-transaction)
-- the check fails closed.
CREATE FUNCTION assert_journal_entry_balanced() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
DECLARE
  v_entry_id text;
  e record;
BEGIN
  IF TG_TABLE_NAME = 'journal_entries' THEN
    v_entry_id := NEW.id;
  ELSE
    v_entry_id := NEW.entry_id;
  END IF;
  SELECT je.currency, je.line_count,
         count(l.line_no) AS lines,
         coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'debit'), 0) AS debit_minor,
         coalesce(sum(l.amount_minor) FILTER (WHERE l.direction = 'credit'), 0) AS credit_minor,
         count(*) FILTER (WHERE l.currency <> je.currency) AS foreign_currency_lines,
         coalesce(max(l.line_no), -1) AS max_line_no
    INTO e
    FROM journal_entries je
    LEFT JOIN journal_lines l ON l.tenant_id = je.tenant_id AND l.entry_id = je.id
   WHERE je.tenant_id = NEW.tenant_id AND je.id = v_entry_id
   GROUP BY je.currency, je.line_count;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'journal entry % cannot be verified: not visible to tenant %', v_entry_id,
      coalesce(current_tenant_id(), '(none)')
      USING ERRCODE = 'check_violation';
  END IF;
  IF e.lines < 2 THEN
    RAISE EXCEPTION 'journal entry % has % line(s); an entry needs at least 2', v_entry_id, e.lines
      USING ERRCODE = 'check_violation';
  END IF;
  IF e.lines <> e.line_count OR e.max_line_no <> e.line_count - 1 THEN
    RAISE EXCEPTION 'journal entry % declares % lines (0..%) but has % (max line_no %)', v_entry_id,
      e.line_count, e.line_count - 1, e.lines, e.max_line_no
      USING ERRCODE = 'check_violation';
  END IF;
  IF e.foreign_currency_lines > 0 THEN
    RAISE EXCEPTION 'journal entry % (%): % line(s) in another currency', v_entry_id, e.currency,
      e.foreign_currency_lines
      USING ERRCODE = 'check_violation';
  END IF;
  IF e.debit_minor <> e.credit_minor THEN
    RAISE EXCEPTION 'journal entry % is unbalanced: debits % <> credits % (%)', v_entry_id,
      e.debit_minor, e.credit_minor, e.currency
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END
$$;
-- On entries: catches an entry with no lines at all (no line trigger would fire).
CREATE CONSTRAINT TRIGGER journal_entries_balanced AFTER INSERT ON journal_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION assert_journal_entry_balanced();
-- On lines: catches lines added to an entry committed earlier.
CREATE CONSTRAINT TRIGGER journal_lines_balanced AFTER INSERT ON journal_lines
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION assert_journal_entry_balanced();

-- Gapless document numbers per tenant and series. Allocation is an UPDATE of this row inside the
-- transaction that issues the document: the row lock serialises issuers of one tenant's series, and a
-- rollback undoes the increment, so no number is ever burned. (A SEQUENCE is not transactional.)
CREATE TABLE invoice_number_sequences (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  series      text NOT NULL CHECK (series IN ('invoice', 'credit_note')),
  prefix      text NOT NULL CHECK (prefix ~ '^[A-Za-z0-9][A-Za-z0-9/_.-]{0,31}$'),
  pad_width   smallint NOT NULL DEFAULT 6 CHECK (pad_width BETWEEN 1 AND 12),
  next_value  bigint NOT NULL DEFAULT 1 CHECK (next_value BETWEEN 1 AND 9007199254740991),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, series)
);

-- Invoice number and finalization time, set together once, in the finalizing transaction.
ALTER TABLE invoices
  ADD COLUMN number text CHECK (number IS NULL OR length(number) BETWEEN 1 AND 64),
  ADD COLUMN finalized_at timestamptz,
  ADD CONSTRAINT invoices_tenant_number_unique UNIQUE (tenant_id, number),
  ADD CONSTRAINT invoices_number_with_finalized_at CHECK ((number IS NULL) = (finalized_at IS NULL)),
  ADD CONSTRAINT invoices_draft_has_no_number CHECK (status <> 'draft' OR number IS NULL);

-- An issued number is permanent: a finalized invoice keeps its number and finalization time.
CREATE FUNCTION invoice_number_is_permanent() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  IF OLD.number IS NOT NULL AND (NEW.number IS DISTINCT FROM OLD.number
                                 OR NEW.finalized_at IS DISTINCT FROM OLD.finalized_at) THEN
    RAISE EXCEPTION 'invoice % already has number % (finalized %); issued numbers never change',
      OLD.id, OLD.number, OLD.finalized_at
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END
$$;
CREATE TRIGGER invoices_number_is_permanent BEFORE UPDATE OF number, finalized_at ON invoices
  FOR EACH ROW EXECUTE FUNCTION invoice_number_is_permanent();

-- Row-level security on every new tenant-owned table (same pattern as 0001).
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ledger_accounts', 'journal_entries', 'journal_lines',
                           'invoice_number_sequences'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

-- The journal is insert-only for the application: no UPDATE or DELETE privilege besides the trigger.
GRANT SELECT, INSERT ON journal_entries, journal_lines TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE ON ledger_accounts, invoice_number_sequences TO ledgerline_app;
