-- Usage charges on plans and the record of billed usage (issue 4, phase 2). Same isolation contract as
-- 0001: tenant_id on every table, ENABLE + FORCE row-level security on current_tenant_id().
-- Design: docs/decisions/0008-usage-metering.md, section "Billing".

-- A plan's usage charge (Lago's model): one meter priced with one price model. The pricing is the
-- validated wire form (amounts in integer minor units, sub-minor unit prices as decimal strings of
-- minor units), e.g. {"model":"graduated","tiers":[{"up_to":"1000","unit_amount_decimal":"0.04"},…]}.
-- Immutable like prices: invoices already issued were computed from exactly this row, and late-usage
-- adjustments recompute older periods with it. A different price is a new charge (on a new plan).
CREATE TABLE plan_usage_charges (
  id                text PRIMARY KEY CHECK (id ~ '^chg_[0-9A-Za-z]{20}$'),
  tenant_id         text NOT NULL REFERENCES tenants (id),
  plan_id           text NOT NULL,
  meter_id          text NOT NULL,
  name              text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Always the plan's currency (checked by the trigger below).
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  pricing           jsonb NOT NULL CHECK (jsonb_typeof(pricing) = 'object'
                      AND pricing ->> 'model' IN ('per_unit', 'package', 'graduated', 'volume', 'flat')),
  -- Units free each period before pricing (per group when group_by is set).
  included_quantity numeric NOT NULL DEFAULT 0 CHECK (included_quantity >= 0),
  -- Minimum commitment per period over the whole charge: a true-up line tops the charge up to it.
  minimum_amount_minor bigint CHECK (minimum_amount_minor >= 0 AND minimum_amount_minor <= 9007199254740991),
  -- A subset of the meter's group_by: one invoice line (and one pricing) per combination of values.
  group_by          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(group_by) <= 5),
  created_at        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id),
  FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id)
);
CREATE INDEX plan_usage_charges_plan ON plan_usage_charges (tenant_id, plan_id, created_at, id);

CREATE FUNCTION usage_charge_in_plan_currency() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM plans p WHERE p.tenant_id = NEW.tenant_id AND p.id = NEW.plan_id
                                         AND p.currency = NEW.currency) THEN
    RAISE EXCEPTION 'usage charge % must be in the currency of plan %', NEW.id, NEW.plan_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER plan_usage_charges_currency BEFORE INSERT ON plan_usage_charges
  FOR EACH ROW EXECUTE FUNCTION usage_charge_in_plan_currency();

CREATE FUNCTION reject_usage_charge_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'usage charges are immutable: % on plan_usage_charges is not allowed; add a new charge', TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER plan_usage_charges_immutable BEFORE UPDATE OR DELETE ON plan_usage_charges
  FOR EACH STATEMENT EXECUTE FUNCTION reject_usage_charge_mutation();

-- What each invoice billed, per subscription, charge, usage period and group: the basis for late-usage
-- adjustments. Append-only. Rows are written by issueInvoice in the invoice's own transaction, so they
-- exist exactly when the invoice does.
--   kind 'usage':      one row per group ('' without group_by); quantity = the quantity billed so far
--                      (the latest row per group is the state), amount_minor = what this invoice added.
--   kind 'commitment': one row per (invoice, charge, period), always, even at 0: it marks the
--                      charge-period as billed (so a late event on a period with no usage is still
--                      found) and carries the minimum-commitment true-up this invoice added.
-- The billed total of a charge-period is Σ amount_minor over its rows.
CREATE TABLE usage_billed (
  seq             bigint GENERATED ALWAYS AS IDENTITY,
  tenant_id       text NOT NULL REFERENCES tenants (id),
  subscription_id text NOT NULL,
  charge_id       text NOT NULL,
  -- The usage period [period_start, period_end): whole UTC hours.
  period_start    timestamptz NOT NULL CHECK (date_trunc('hour', period_start) = period_start),
  period_end      timestamptz NOT NULL CHECK (date_trunc('hour', period_end) = period_end AND period_end >= period_start),
  kind            text NOT NULL CHECK (kind IN ('usage', 'commitment')),
  group_key       text COLLATE "C" NOT NULL DEFAULT '',
  quantity        numeric CHECK ((kind = 'usage') = (quantity IS NOT NULL)),
  amount_minor    bigint NOT NULL,
  -- false: billed with the period; true: a late-usage adjustment on a later invoice.
  late            boolean NOT NULL,
  invoice_id      text NOT NULL,
  price_id        text,
  item_id         text,
  billed_at       timestamptz NOT NULL,
  PRIMARY KEY (tenant_id, seq),
  UNIQUE (tenant_id, invoice_id, charge_id, period_start, kind, group_key),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id),
  FOREIGN KEY (tenant_id, charge_id) REFERENCES plan_usage_charges (tenant_id, id)
);
CREATE INDEX usage_billed_subscription ON usage_billed (tenant_id, subscription_id, period_start);

CREATE FUNCTION reject_usage_billed_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'usage_billed is append-only: % is not allowed; bill a late-usage adjustment instead', TG_OP
    USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER usage_billed_append_only BEFORE UPDATE OR DELETE ON usage_billed
  FOR EACH STATEMENT EXECUTE FUNCTION reject_usage_billed_mutation();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['plan_usage_charges', 'usage_billed'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON plan_usage_charges, usage_billed TO ledgerline_app;
