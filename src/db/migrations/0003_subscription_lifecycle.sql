-- Subscription lifecycle: versioned prices and per-customer overrides, subscription items, trials,
-- pauses and cancellations, invoice finalization and collection, payment attempts, credit notes,
-- tenant billing settings (proration, rounding, dunning), payment profiles, the notification outbox,
-- and deduplication of gateway webhooks. Same isolation contract as 0001 (tenant_id + forced RLS).

-- Backfills below read and write every tenant's rows. The owner is subject to FORCE ROW LEVEL SECURITY
-- like everyone else, so it is lifted for the duration of this migration's transaction and restored at
-- the end (DDL, so it commits or rolls back with the rest).
ALTER TABLE plans NO FORCE ROW LEVEL SECURITY;
ALTER TABLE subscriptions NO FORCE ROW LEVEL SECURITY;
ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY;

-- Plans: every interval the calendar supports, with its bounds.
ALTER TABLE plans DROP CONSTRAINT plans_billing_interval_check;
ALTER TABLE plans DROP CONSTRAINT plans_interval_count_check;
ALTER TABLE plans
  ADD CONSTRAINT plans_billing_interval_check CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
  ADD CONSTRAINT plans_interval_count_check CHECK (
    interval_count >= 1 AND interval_count <= CASE billing_interval
      WHEN 'day' THEN 365 WHEN 'week' THEN 52 WHEN 'month' THEN 12 ELSE 5 END);

-- Versioned prices. The plan row shows the current version (amount_minor, currency, interval are
-- copied from it in the same transaction that adds a version); subscriptions pin a price version.
CREATE TABLE prices (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL,
  plan_id           text NOT NULL,
  version           integer NOT NULL CHECK (version >= 1),
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  unit_amount_minor bigint NOT NULL CHECK (unit_amount_minor >= 0 AND unit_amount_minor <= 9007199254740991),
  billing_interval  text NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
  interval_count    integer NOT NULL CHECK (interval_count >= 1),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, plan_id, version),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);
-- Prices are facts about what was sold: never edited, never deleted (a new version replaces one).
CREATE FUNCTION reject_price_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'price versions are immutable: % on prices is not allowed; add a new version', TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER prices_immutable BEFORE UPDATE OR DELETE ON prices
  FOR EACH STATEMENT EXECUTE FUNCTION reject_price_mutation();

ALTER TABLE plans ADD COLUMN current_price_id text;
-- Backfill version 1 for plans created before versioning (ids derived from the plan id, stable).
INSERT INTO prices (id, tenant_id, plan_id, version, currency, unit_amount_minor, billing_interval, interval_count, created_at)
SELECT 'price_' || substr(md5(p.id), 1, 20), p.tenant_id, p.id, 1, p.currency, p.amount_minor,
       p.billing_interval, p.interval_count, p.created_at
  FROM plans p;
UPDATE plans SET current_price_id = 'price_' || substr(md5(id), 1, 20);
ALTER TABLE plans ADD CONSTRAINT plans_current_price_fk
  FOREIGN KEY (tenant_id, current_price_id) REFERENCES prices (tenant_id, id) DEFERRABLE INITIALLY DEFERRED;

-- A negotiated amount for one customer on one plan (any version of it), replacing the catalog amount
-- when that customer subscribes or changes plan. One active override per (customer, plan).
CREATE TABLE customer_price_overrides (
  id                text PRIMARY KEY,
  tenant_id         text NOT NULL,
  customer_id       text NOT NULL,
  plan_id           text NOT NULL,
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  unit_amount_minor bigint NOT NULL CHECK (unit_amount_minor >= 0 AND unit_amount_minor <= 9007199254740991),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, customer_id, plan_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);

-- Subscriptions: the workflow mirrors its state here (recordSubscriptionState).
ALTER TABLE subscriptions
  ALTER COLUMN current_period_start DROP NOT NULL,
  ALTER COLUMN current_period_end DROP NOT NULL,
  ALTER COLUMN billing_anchor DROP NOT NULL,
  ADD COLUMN currency char(3),
  ADD COLUMN trial_start timestamptz,
  ADD COLUMN trial_end timestamptz,
  ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false,
  ADD COLUMN ended_at timestamptz,
  ADD COLUMN pause_behavior text CHECK (pause_behavior IN ('pause_collection', 'pause_service')),
  ADD COLUMN paused_at timestamptz,
  ADD COLUMN resumes_at timestamptz,
  ADD COLUMN access_suspended boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT subscriptions_trial_ordered CHECK (trial_end IS NULL OR trial_start IS NULL OR trial_end > trial_start);
UPDATE subscriptions s SET currency = p.currency FROM plans p WHERE p.tenant_id = s.tenant_id AND p.id = s.plan_id;

CREATE TABLE subscription_items (
  id              text NOT NULL,
  tenant_id       text NOT NULL,
  subscription_id text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('plan', 'addon')),
  price_id        text NOT NULL,
  plan_id         text NOT NULL,
  quantity        integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000000),
  unit_amount_minor bigint NOT NULL CHECK (unit_amount_minor >= 0),
  position        smallint NOT NULL CHECK (position >= 0),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, subscription_id, id),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
  FOREIGN KEY (tenant_id, price_id) REFERENCES prices (tenant_id, id)
);
CREATE UNIQUE INDEX subscription_items_one_plan ON subscription_items (tenant_id, subscription_id) WHERE kind = 'plan';

-- Invoices: issued by the workflow (billing_reason), finalized with a gapless number and a ledger entry
-- in one transaction, then collected.
ALTER TABLE invoices DROP CONSTRAINT invoices_tenant_id_subscription_id_period_start_key;
ALTER TABLE invoices
  ADD COLUMN billing_reason text NOT NULL DEFAULT 'subscription_cycle'
    CHECK (billing_reason IN ('subscription_create', 'subscription_cycle', 'subscription_update', 'manual')),
  ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  ADD COLUMN tax_minor bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
  ADD COLUMN credit_applied_minor bigint NOT NULL DEFAULT 0 CHECK (credit_applied_minor >= 0),
  ADD COLUMN amount_due_minor bigint NOT NULL DEFAULT 0 CHECK (amount_due_minor >= 0),
  ADD COLUMN amount_paid_minor bigint NOT NULL DEFAULT 0 CHECK (amount_paid_minor >= 0),
  ADD COLUMN attempt_count integer NOT NULL DEFAULT 0 CHECK (attempt_count >= 0),
  ADD COLUMN issued_at timestamptz,
  ADD COLUMN paid_at timestamptz,
  ADD COLUMN voided_at timestamptz;
UPDATE invoices SET idempotency_key = 'invoice:' || subscription_id || ':' || to_char(period_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                    amount_due_minor = greatest(total_minor, 0),
                    amount_paid_minor = CASE WHEN status = 'paid' THEN greatest(total_minor, 0) ELSE 0 END,
                    issued_at = coalesce(finalized_at, created_at);
ALTER TABLE invoices
  ADD CONSTRAINT invoices_paid_within_due CHECK (amount_paid_minor <= amount_due_minor),
  ADD CONSTRAINT invoices_total_is_subtotal_plus_tax CHECK (total_minor = subtotal_minor + tax_minor),
  ADD CONSTRAINT invoices_paid_has_nothing_left CHECK (status <> 'paid' OR amount_paid_minor = amount_due_minor);
ALTER TABLE invoices ALTER COLUMN idempotency_key SET NOT NULL;
ALTER TABLE invoices ADD CONSTRAINT invoices_tenant_idempotency_key UNIQUE (tenant_id, idempotency_key);
-- One period invoice per subscription period: the workflow's renewal relies on it to be exactly-once.
CREATE UNIQUE INDEX invoices_one_per_period ON invoices (tenant_id, subscription_id, period_start)
  WHERE billing_reason IN ('subscription_create', 'subscription_cycle');
CREATE INDEX invoices_customer ON invoices (tenant_id, customer_id);
CREATE INDEX invoices_subscription ON invoices (tenant_id, subscription_id, created_at);

ALTER TABLE invoice_lines
  ADD COLUMN kind text NOT NULL DEFAULT 'subscription' CHECK (kind IN ('subscription', 'proration', 'adjustment')),
  ADD COLUMN item_id text,
  ADD COLUMN price_id text,
  ADD COLUMN proration_numerator bigint,
  ADD COLUMN proration_denominator bigint,
  ALTER COLUMN unit_amount_minor DROP NOT NULL,
  ADD CONSTRAINT invoice_lines_proration_fraction CHECK (
    (proration_numerator IS NULL) = (proration_denominator IS NULL)
    AND (proration_denominator IS NULL OR (proration_denominator > 0 AND proration_numerator BETWEEN 0 AND proration_denominator)));

-- A finalized invoice is a legal document: its amounts, lines, parties and period never change.
-- Only collection fields move (status open → paid | void | uncollectible, amount_paid, paid/voided time,
-- attempt_count).
CREATE FUNCTION finalized_invoice_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.finalized_at IS NOT NULL AND (
       NEW.customer_id IS DISTINCT FROM OLD.customer_id OR NEW.subscription_id IS DISTINCT FROM OLD.subscription_id
    OR NEW.currency IS DISTINCT FROM OLD.currency OR NEW.period_start IS DISTINCT FROM OLD.period_start
    OR NEW.period_end IS DISTINCT FROM OLD.period_end OR NEW.subtotal_minor IS DISTINCT FROM OLD.subtotal_minor
    OR NEW.tax_minor IS DISTINCT FROM OLD.tax_minor OR NEW.total_minor IS DISTINCT FROM OLD.total_minor
    OR NEW.credit_applied_minor IS DISTINCT FROM OLD.credit_applied_minor
    OR NEW.amount_due_minor IS DISTINCT FROM OLD.amount_due_minor
    OR NEW.billing_reason IS DISTINCT FROM OLD.billing_reason OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
    OR NEW.idempotency_key IS DISTINCT FROM OLD.idempotency_key
    OR (OLD.status <> 'open' AND NEW.status IS DISTINCT FROM OLD.status)
    OR NEW.status = 'draft') THEN
    RAISE EXCEPTION 'invoice % is finalized (%); only its collection status may change — correct it with a credit note',
      OLD.id, OLD.number USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER invoices_finalized_immutable BEFORE UPDATE ON invoices
  FOR EACH ROW EXECUTE FUNCTION finalized_invoice_is_immutable();
CREATE FUNCTION reject_finalized_invoice_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.finalized_at IS NOT NULL THEN
    RAISE EXCEPTION 'invoice % is finalized (%); it cannot be deleted', OLD.id, OLD.number
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER invoices_finalized_undeletable BEFORE DELETE ON invoices
  FOR EACH ROW EXECUTE FUNCTION reject_finalized_invoice_delete();
CREATE FUNCTION finalized_invoice_lines_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE v_invoice text := coalesce(NEW.invoice_id, OLD.invoice_id);
        v_tenant text := coalesce(NEW.tenant_id, OLD.tenant_id);
BEGIN
  IF EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = v_tenant AND i.id = v_invoice AND i.finalized_at IS NOT NULL)
     OR (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM invoices i WHERE i.tenant_id = OLD.tenant_id AND i.id = OLD.invoice_id AND i.finalized_at IS NOT NULL)) THEN
    RAISE EXCEPTION 'invoice % is finalized; its lines cannot change (%)', v_invoice, TG_OP
      USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN coalesce(NEW, OLD);
END $$;
CREATE TRIGGER invoice_lines_finalized_immutable BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
  FOR EACH ROW EXECUTE FUNCTION finalized_invoice_lines_are_immutable();

-- One row per collection attempt; the gateway idempotency key is derived from (invoice, attempt).
CREATE TABLE payment_attempts (
  id                  text PRIMARY KEY,
  tenant_id           text NOT NULL,
  invoice_id          text NOT NULL,
  attempt             integer NOT NULL CHECK (attempt >= 1),
  idempotency_key     text NOT NULL,
  trigger             text NOT NULL CHECK (trigger IN ('automatic', 'retry', 'manual', 'payment_method_updated', 'resume', 'webhook')),
  status              text NOT NULL CHECK (status IN ('pending', 'succeeded', 'processing', 'requires_action', 'declined')),
  amount_minor        bigint NOT NULL CHECK (amount_minor >= 0),
  currency            char(3) NOT NULL,
  provider            text NOT NULL DEFAULT 'stripe',
  provider_payment_id text,
  decline_code        text,
  decline_message     text,
  attempted_at        timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, invoice_id, attempt),
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX payment_attempts_provider_payment ON payment_attempts (tenant_id, provider_payment_id)
  WHERE provider_payment_id IS NOT NULL;

CREATE TABLE credit_notes (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  invoice_id      text NOT NULL,
  customer_id     text NOT NULL,
  number          text NOT NULL,
  currency        char(3) NOT NULL,
  amount_minor    bigint NOT NULL CHECK (amount_minor > 0),
  reason          text NOT NULL CHECK (reason IN ('subscription_canceled', 'pause', 'other')),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  issued_at       timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, number),
  UNIQUE (tenant_id, idempotency_key),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE TABLE credit_note_lines (
  tenant_id      text NOT NULL,
  credit_note_id text NOT NULL,
  position       smallint NOT NULL CHECK (position >= 0),
  description    text NOT NULL,
  amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
  PRIMARY KEY (tenant_id, credit_note_id, position),
  FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id)
);
CREATE TRIGGER credit_notes_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_notes
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();
CREATE TRIGGER credit_note_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_note_lines
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

-- A tenant's billing settings; absent row = the defaults in src/domain (DEFAULT_BILLING_SETTINGS).
CREATE TABLE tenant_billing_settings (
  tenant_id             text PRIMARY KEY REFERENCES tenants (id),
  proration_granularity text NOT NULL DEFAULT 'second' CHECK (proration_granularity IN ('second', 'day')),
  rounding_mode         text NOT NULL DEFAULT 'half_even'
    CHECK (rounding_mode IN ('half_even', 'half_up', 'half_down', 'up', 'down', 'ceiling', 'floor')),
  -- {"retryOffsetsHours": [...], "gracePeriodHours": n, "finalAction": "cancel" | "mark_unpaid"},
  -- validated by the API with the domain's parser before it is stored.
  dunning_policy        jsonb NOT NULL,
  trial_reminder_days   integer NOT NULL DEFAULT 3 CHECK (trial_reminder_days BETWEEN 0 AND 30),
  updated_at            timestamptz NOT NULL DEFAULT now()
);

-- The customer at the payment provider and the payment method charged by default.
CREATE TABLE customer_payment_profiles (
  tenant_id                 text NOT NULL,
  customer_id               text NOT NULL,
  provider                  text NOT NULL CHECK (provider IN ('stripe')),
  provider_customer_id      text NOT NULL,
  default_payment_method_id text,
  updated_at                timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, customer_id, provider),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

-- Notifications for tenants (webhooks) and their customers (email), written in the transaction of the
-- change they describe or idempotently by the workflow; delivered by the events issue's dispatcher.
CREATE TABLE outbox_events (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  event_type      text NOT NULL CHECK (event_type ~ '^[a-z_]+(\.[a-z_]+)+$'),
  idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  subscription_id text,
  customer_id     text,
  payload         jsonb NOT NULL,
  email_customer  boolean NOT NULL DEFAULT false,
  occurred_at     timestamptz NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  delivered_at    timestamptz,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX outbox_events_undelivered ON outbox_events (created_at) WHERE delivered_at IS NULL;
CREATE INDEX outbox_events_subscription ON outbox_events (tenant_id, subscription_id, occurred_at);

-- Gateway webhook deliveries already handled (at-least-once delivery; dedupe on the provider's id).
CREATE TABLE gateway_webhook_events (
  tenant_id   text NOT NULL REFERENCES tenants (id),
  provider    text NOT NULL,
  event_id    text NOT NULL,
  event_type  text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, provider, event_id)
);

ALTER TABLE plans FORCE ROW LEVEL SECURITY;
ALTER TABLE subscriptions FORCE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['prices', 'customer_price_overrides', 'subscription_items', 'payment_attempts',
                           'credit_notes', 'credit_note_lines', 'tenant_billing_settings',
                           'customer_payment_profiles', 'outbox_events', 'gateway_webhook_events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON prices, credit_notes, credit_note_lines, gateway_webhook_events TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE ON payment_attempts, tenant_billing_settings, customer_payment_profiles,
  outbox_events TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON customer_price_overrides, subscription_items TO ledgerline_app;
GRANT DELETE ON invoice_lines TO ledgerline_app;
