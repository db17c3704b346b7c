-- Foundation schema: tenants, API keys, catalog, customers, subscriptions, invoices, idempotency keys.
--
-- Isolation contract: every tenant-owned table has tenant_id, ENABLE + FORCE ROW LEVEL SECURITY and
-- a policy on current_setting('app.tenant_id'). The application connects as ledgerline_app, which
-- owns nothing, so a query that forgets "WHERE tenant_id = ..." still sees only its own tenant.
-- Cross-tenant references are impossible by construction: foreign keys include tenant_id.

CREATE FUNCTION current_tenant_id() RETURNS text
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '') $$;

CREATE TABLE tenants (
  id          text PRIMARY KEY CHECK (id ~ '^ten_[A-Za-z0-9]{8,40}$'),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants (id),
  mode          text NOT NULL CHECK (mode IN ('live', 'test')),
  name          text NOT NULL DEFAULT 'default',
  -- Keys are 190+ bits of randomness, so an unsalted SHA-256 is the right hash: it cannot be
  -- brute-forced and it lets authentication look a key up by index.
  secret_sha256 bytea NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
  display_hint  text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

CREATE TABLE products (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  name        text NOT NULL,
  description text,
  active      boolean NOT NULL DEFAULT true,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id)
);

CREATE TABLE plans (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  product_id      text NOT NULL,
  nickname        text,
  currency        char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  amount_minor    bigint NOT NULL CHECK (amount_minor >= 0),
  billing_interval text NOT NULL CHECK (billing_interval IN ('month', 'year')),
  interval_count  integer NOT NULL DEFAULT 1 CHECK (interval_count BETWEEN 1 AND 12),
  active          boolean NOT NULL DEFAULT true,
  metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, product_id) REFERENCES products (tenant_id, id)
);

CREATE TABLE customers (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants (id),
  external_id text,
  email       text,
  name        text,
  metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  UNIQUE (tenant_id, external_id)
);

CREATE TABLE subscriptions (
  id                    text PRIMARY KEY,
  tenant_id             text NOT NULL,
  customer_id           text NOT NULL,
  plan_id               text NOT NULL,
  status                text NOT NULL CHECK (status IN ('incomplete', 'trialing', 'active', 'past_due', 'paused', 'unpaid', 'canceled', 'ended')),
  workflow_id           text NOT NULL UNIQUE,
  billing_anchor        timestamptz NOT NULL,
  current_period_start  timestamptz NOT NULL,
  current_period_end    timestamptz NOT NULL CHECK (current_period_end > current_period_start),
  canceled_at           timestamptz,
  cancellation_reason   text,
  metadata              jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
  FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);
CREATE INDEX subscriptions_customer ON subscriptions (tenant_id, customer_id);

CREATE TABLE invoices (
  id              text PRIMARY KEY,
  tenant_id       text NOT NULL,
  customer_id     text NOT NULL,
  subscription_id text NOT NULL,
  status          text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
  currency        char(3) NOT NULL,
  period_start    timestamptz NOT NULL,
  period_end      timestamptz NOT NULL CHECK (period_end > period_start),
  subtotal_minor  bigint NOT NULL,
  total_minor     bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (tenant_id, id),
  -- One invoice per subscription period: the workflow's invoice activity relies on this to be idempotent.
  UNIQUE (tenant_id, subscription_id, period_start),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES subscriptions (tenant_id, id),
  FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE invoice_lines (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL,
  invoice_id    text NOT NULL,
  position      integer NOT NULL CHECK (position >= 0),
  description   text NOT NULL,
  quantity      integer NOT NULL CHECK (quantity >= 0),
  unit_amount_minor bigint NOT NULL,
  amount_minor  bigint NOT NULL,
  period_start  timestamptz NOT NULL,
  period_end    timestamptz NOT NULL,
  plan_id       text,
  UNIQUE (tenant_id, invoice_id, position),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);

-- Replays the first response to a POST carrying the same Idempotency-Key (Stripe semantics).
CREATE TABLE idempotency_keys (
  tenant_id           text NOT NULL REFERENCES tenants (id),
  idempotency_key     text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_fingerprint text NOT NULL,
  locked_until        timestamptz,
  response_status     integer,
  response_body       jsonb,
  created_at          timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, idempotency_key)
);

-- Row-level security on every tenant-owned table.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['api_keys', 'products', 'plans', 'customers', 'subscriptions', 'invoices',
                           'invoice_lines', 'idempotency_keys'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = current_tenant_id()) WITH CHECK (id = current_tenant_id());

-- Authentication happens before the tenant is known, so it goes through this one function. It runs
-- as the schema owner, and the owner may read api_keys across tenants only for this lookup.
CREATE POLICY authenticate_lookup ON api_keys FOR SELECT TO CURRENT_USER USING (true);
CREATE FUNCTION authenticate_api_key(p_secret_sha256 bytea)
  RETURNS TABLE (api_key_id text, tenant_id text, mode text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT k.id, k.tenant_id, k.mode FROM api_keys k
    WHERE k.secret_sha256 = p_secret_sha256 AND k.revoked_at IS NULL
  $$;
REVOKE ALL ON FUNCTION authenticate_api_key(bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION authenticate_api_key(bytea) TO ledgerline_app;

GRANT SELECT, INSERT, UPDATE ON tenants, api_keys, products, plans, customers, subscriptions, invoices,
  invoice_lines, idempotency_keys TO ledgerline_app;
GRANT DELETE ON subscriptions, idempotency_keys TO ledgerline_app;
