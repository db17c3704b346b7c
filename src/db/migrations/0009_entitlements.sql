-- Freemium and quotas (issue 4): what each plan grants (plan_features), the usage thresholds already
-- announced per subscription period (usage_threshold_crossings), and free-to-paid conversions for
-- analytics (plan_conversions). Same isolation contract as 0001: tenant_id on every table,
-- ENABLE + FORCE row-level security on current_tenant_id().

-- A feature a plan grants. `boolean`: granted by being listed. `metered`: an allowance of a meter's
-- aggregate per billing period of the subscription (the only period for now), exact decimal limit;
-- `hard` refuses usage past the limit (the check answers 429), `soft` only reports it.
-- A feature key means the same thing on every plan of a tenant (kind and meter), enforced by the API
-- (it locks the key while it checks), so entitlements from several plans can be merged.
CREATE TABLE plan_features (
  tenant_id   text NOT NULL,
  plan_id     text NOT NULL,
  feature     text NOT NULL CHECK (feature ~ '^[a-z0-9][a-z0-9_.:-]{0,99}$'),
  kind        text NOT NULL CHECK (kind IN ('boolean', 'metered')),
  meter_id    text,
  limit_value numeric CHECK (limit_value >= 0),
  period      text CHECK (period IN ('billing_period')),
  enforcement text CHECK (enforcement IN ('hard', 'soft')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, plan_id, feature),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id),
  FOREIGN KEY (tenant_id, meter_id) REFERENCES meters (tenant_id, id),
  CHECK (CASE kind
           WHEN 'boolean' THEN meter_id IS NULL AND limit_value IS NULL AND period IS NULL AND enforcement IS NULL
           ELSE meter_id IS NOT NULL AND limit_value IS NOT NULL AND period IS NOT NULL AND enforcement IS NOT NULL
         END)
);
-- "Which plans define this key" (consistency check on write) and "which keys does this meter feed".
CREATE INDEX plan_features_feature ON plan_features (tenant_id, feature);
CREATE INDEX plan_features_meter ON plan_features (tenant_id, meter_id) WHERE meter_id IS NOT NULL;
-- Entitlement reads start from a customer's live subscriptions and their items.
CREATE INDEX subscription_items_plan ON subscription_items (tenant_id, plan_id);

-- One row per (subscription, feature, period, threshold) ever reached — and per limit: an upgrade in
-- the middle of a period is a new allowance whose 80 % and 100 % are announced again (a return to a
-- limit already announced is not). The unique key is what makes the outbox event exactly-once across
-- API replicas and retries. `signaled_at` is set once the subscription workflow has been told; a later
-- evaluation re-signals rows still NULL.
CREATE TABLE usage_threshold_crossings (
  tenant_id       text NOT NULL,
  subscription_id text NOT NULL,
  feature         text NOT NULL,
  period_start    timestamptz NOT NULL,
  period_end      timestamptz NOT NULL CHECK (period_end > period_start),
  threshold       smallint NOT NULL CHECK (threshold IN (80, 100)),
  customer_id     text NOT NULL,
  meter_id        text NOT NULL,
  used_value      numeric NOT NULL,
  limit_value     numeric NOT NULL,
  reached_at      timestamptz NOT NULL DEFAULT now(),
  signaled_at     timestamptz,
  PRIMARY KEY (tenant_id, subscription_id, feature, period_start, threshold, limit_value),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id)
);
CREATE INDEX usage_threshold_crossings_unsignaled ON usage_threshold_crossings (tenant_id, customer_id)
  WHERE signaled_at IS NULL;

-- Free-to-paid conversions, for analytics: a plan change from a free price (0) to a paid one
-- (`plan_change`), or a trial ending into a paid period (`trial`: the first time the subscription is
-- active on a paid price after a trial). Append-only; written by the activity that persists the
-- change, once per (subscription, from price, to price) for plan changes and once per subscription
-- for trials.
CREATE TABLE plan_conversions (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  customer_id     text NOT NULL,
  subscription_id text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('plan_change', 'trial')),
  from_plan_id    text NOT NULL,
  from_price_id   text NOT NULL,
  from_unit_amount_minor bigint NOT NULL CHECK (from_unit_amount_minor >= 0),
  to_plan_id      text NOT NULL,
  to_price_id     text NOT NULL,
  to_unit_amount_minor bigint NOT NULL CHECK (to_unit_amount_minor > 0),
  currency        char(3) NOT NULL,
  converted_at    timestamptz NOT NULL,
  UNIQUE (tenant_id, subscription_id, kind, from_price_id, to_price_id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id)
);
-- A subscription converts out of its trial once, whatever price it is on when it first becomes active.
CREATE UNIQUE INDEX plan_conversions_one_trial ON plan_conversions (tenant_id, subscription_id)
  WHERE kind = 'trial';
CREATE INDEX plan_conversions_converted_at ON plan_conversions (tenant_id, converted_at);
CREATE TRIGGER plan_conversions_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON plan_conversions
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['plan_features', 'usage_threshold_crossings', 'plan_conversions'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE, DELETE ON plan_features TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE ON usage_threshold_crossings TO ledgerline_app;
GRANT SELECT, INSERT ON plan_conversions TO ledgerline_app;
