-- Tax, currencies and invoices as legal documents: the seller's legal identity and tax registrations,
-- the buyer's address, tax id and exemption, each product's tax category and each price's tax
-- behaviour, tax computed per line and summarised per rate on the invoice, dated FX rates and the
-- rate each invoice used, and credit notes that reverse tax. Same isolation contract as 0001.

-- The seller (the tenant) as printed on its invoices and as the tax engine sees it.
CREATE TABLE tenant_tax_profiles (
  tenant_id          text PRIMARY KEY REFERENCES tenants (id),
  legal_name         text NOT NULL CHECK (length(legal_name) BETWEEN 1 AND 200),
  -- As given ({line1, line2, city, postal_code, state, country}); address_lines is how it prints.
  address            jsonb NOT NULL,
  address_lines      text[] NOT NULL DEFAULT '{}',
  country            char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
  region             text CHECK (region ~ '^[A-Z0-9]{1,3}$'),
  postal_code        text,
  email              text,
  -- [{"type": "eu_vat", "value": "FR40303265045"}]
  tax_ids            jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(tax_ids) = 'array'),
  -- {"countries": [...], "euOss": bool, "usNexusStates": [...], "inGstState": "MH"?}
  registrations      jsonb NOT NULL CHECK (jsonb_typeof(registrations) = 'object'),
  -- The currency the tenant accounts and reports in; every invoice records its rate to it.
  reporting_currency char(3) NOT NULL CHECK (reporting_currency ~ '^[A-Z]{3}$'),
  invoice_footer     text CHECK (length(invoice_footer) <= 1000),
  updated_at         timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE customers
  ADD COLUMN legal_name             text CHECK (length(legal_name) <= 200),
  ADD COLUMN address                jsonb,
  ADD COLUMN address_lines          text[] NOT NULL DEFAULT '{}',
  ADD COLUMN country                char(2) CHECK (country ~ '^[A-Z]{2}$'),
  ADD COLUMN region                 text CHECK (region ~ '^[A-Z0-9]{1,3}$'),
  ADD COLUMN postal_code            text,
  ADD COLUMN tax_id_type            text,
  ADD COLUMN tax_id_value           text,
  ADD COLUMN tax_exempt_reason      text
    CHECK (tax_exempt_reason IN ('non_profit', 'government', 'reseller', 'enterprise', 'other')),
  ADD COLUMN tax_exempt_certificate text,
  -- The currency the customer is billed in; subscriptions pick the plan's price in it or convert.
  ADD COLUMN billing_currency       char(3) CHECK (billing_currency ~ '^[A-Z]{3}$'),
  ADD CONSTRAINT customers_tax_id_pair CHECK ((tax_id_type IS NULL) = (tax_id_value IS NULL)),
  ADD CONSTRAINT customers_exemption_pair
    CHECK ((tax_exempt_reason IS NULL) = (tax_exempt_certificate IS NULL));

ALTER TABLE products
  ADD COLUMN tax_category text NOT NULL DEFAULT 'saas'
    CHECK (tax_category IN ('saas', 'ebooks', 'general_services'));

ALTER TABLE prices
  ADD COLUMN tax_behavior text NOT NULL DEFAULT 'exclusive' CHECK (tax_behavior IN ('exclusive', 'inclusive'));

-- A price version's amounts in other currencies (a price book): customers billed in one of them pay
-- that amount; otherwise the price is converted at the dated FX rate when the item is bought.
CREATE TABLE price_currency_options (
  tenant_id         text NOT NULL,
  price_id          text NOT NULL,
  currency          char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  unit_amount_minor bigint NOT NULL CHECK (unit_amount_minor >= 0 AND unit_amount_minor <= 9007199254740991),
  PRIMARY KEY (tenant_id, price_id, currency),
  FOREIGN KEY (tenant_id, price_id) REFERENCES prices (tenant_id, id)
);
CREATE TRIGGER price_currency_options_immutable BEFORE UPDATE OR DELETE ON price_currency_options
  FOR EACH STATEMENT EXECUTE FUNCTION reject_price_mutation();

-- Dated exchange rates: 1 unit of base = rate units of quote, from effective_at until a later row.
-- Uploaded by the tenant (API/CLI) or written by a provider; never fetched implicitly.
CREATE TABLE fx_rates (
  tenant_id    text NOT NULL REFERENCES tenants (id),
  base         char(3) NOT NULL CHECK (base ~ '^[A-Z]{3}$'),
  quote        char(3) NOT NULL CHECK (quote ~ '^[A-Z]{3}$' AND quote <> base),
  effective_at timestamptz NOT NULL,
  rate         numeric(24, 12) NOT NULL CHECK (rate > 0),
  source       text NOT NULL CHECK (length(source) BETWEEN 1 AND 100),
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, base, quote, effective_at)
);

-- Invoices: the tax decision, the parties as they were at finalization (a later address change never
-- rewrites an issued invoice), and the conversion to the reporting currency.
ALTER TABLE invoices DROP CONSTRAINT invoices_tax_minor_check;
ALTER TABLE invoices
  ADD COLUMN tax_date             date,
  ADD COLUMN tax_source           text,
  ADD COLUMN legal_notes          text[] NOT NULL DEFAULT '{}',
  ADD COLUMN seller_snapshot      jsonb,
  ADD COLUMN buyer_snapshot       jsonb,
  ADD COLUMN reporting_currency   char(3),
  ADD COLUMN fx_rate              numeric(24, 12),
  ADD COLUMN fx_rate_source       text,
  ADD COLUMN fx_effective_at      timestamptz,
  ADD COLUMN reporting_total_minor bigint,
  ADD COLUMN reporting_tax_minor  bigint,
  ADD CONSTRAINT invoices_fx_complete CHECK (
    (reporting_currency IS NULL) = (reporting_total_minor IS NULL)
    AND (fx_rate IS NULL) = (fx_rate_source IS NULL));

ALTER TABLE invoice_lines
  ADD COLUMN tax_category  text,
  ADD COLUMN tax_behavior  text CHECK (tax_behavior IN ('exclusive', 'inclusive')),
  ADD COLUMN net_amount_minor bigint,
  ADD COLUMN tax_minor     bigint NOT NULL DEFAULT 0,
  ADD COLUMN tax_treatment text,
  -- '19' or '5 + 9.975': what the document prints in the rate column.
  ADD COLUMN tax_rate_label text;

-- One row per (jurisdiction, tax, rate, treatment) on an invoice: the document's tax summary and the
-- source of the tax reports. issued_at, country and region are copied so a month's report is one
-- index range scan without joins.
CREATE TABLE invoice_tax_lines (
  tenant_id        text NOT NULL,
  invoice_id       text NOT NULL,
  position         integer NOT NULL CHECK (position >= 0),
  issued_at        timestamptz NOT NULL,
  currency         char(3) NOT NULL,
  jurisdiction     text NOT NULL,
  country          char(2) NOT NULL,
  region           text,
  tax_name         text NOT NULL,
  rate_percent     numeric(9, 4) NOT NULL CHECK (rate_percent >= 0),
  rate_kind        text NOT NULL,
  treatment        text NOT NULL,
  taxable_minor    bigint NOT NULL,
  tax_minor        bigint NOT NULL,
  reporting_currency char(3),
  reporting_taxable_minor bigint,
  reporting_tax_minor bigint,
  PRIMARY KEY (tenant_id, invoice_id, position),
  FOREIGN KEY (tenant_id, invoice_id) REFERENCES invoices (tenant_id, id)
);
CREATE INDEX invoice_tax_lines_report ON invoice_tax_lines (tenant_id, issued_at)
  INCLUDE (country, region, tax_name, rate_percent, treatment, currency, taxable_minor, tax_minor,
           reporting_currency, reporting_taxable_minor, reporting_tax_minor);
CREATE TRIGGER invoice_tax_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON invoice_tax_lines
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

-- Credit notes reverse the tax of what they credit, at the credited invoice's rates.
ALTER TABLE credit_notes
  ADD COLUMN net_amount_minor bigint,
  ADD COLUMN tax_minor bigint NOT NULL DEFAULT 0 CHECK (tax_minor >= 0);

-- A credit note's tax reversal per rate, in the credited invoice's rows' shape, so tax reports net
-- credits against the supplies they correct (amounts are negative).
CREATE TABLE credit_note_tax_lines (
  tenant_id        text NOT NULL,
  credit_note_id   text NOT NULL,
  position         integer NOT NULL CHECK (position >= 0),
  issued_at        timestamptz NOT NULL,
  currency         char(3) NOT NULL,
  jurisdiction     text NOT NULL,
  country          char(2) NOT NULL,
  region           text,
  tax_name         text NOT NULL,
  rate_percent     numeric(9, 4) NOT NULL CHECK (rate_percent >= 0),
  rate_kind        text NOT NULL,
  treatment        text NOT NULL,
  taxable_minor    bigint NOT NULL CHECK (taxable_minor <= 0),
  tax_minor        bigint NOT NULL CHECK (tax_minor <= 0),
  reporting_currency char(3),
  reporting_taxable_minor bigint,
  reporting_tax_minor bigint,
  PRIMARY KEY (tenant_id, credit_note_id, position),
  FOREIGN KEY (tenant_id, credit_note_id) REFERENCES credit_notes (tenant_id, id)
);
CREATE INDEX credit_note_tax_lines_report ON credit_note_tax_lines (tenant_id, issued_at);
CREATE TRIGGER credit_note_tax_lines_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON credit_note_tax_lines
  FOR EACH STATEMENT EXECUTE FUNCTION reject_journal_mutation();

-- The finalized-invoice guard now also covers the tax decision, the parties and the conversion.
CREATE OR REPLACE FUNCTION finalized_invoice_is_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
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
    OR NEW.number IS DISTINCT FROM OLD.number OR NEW.finalized_at IS DISTINCT FROM OLD.finalized_at
    OR NEW.tax_date IS DISTINCT FROM OLD.tax_date OR NEW.tax_source IS DISTINCT FROM OLD.tax_source
    OR NEW.legal_notes IS DISTINCT FROM OLD.legal_notes
    OR NEW.seller_snapshot IS DISTINCT FROM OLD.seller_snapshot
    OR NEW.buyer_snapshot IS DISTINCT FROM OLD.buyer_snapshot
    OR NEW.reporting_currency IS DISTINCT FROM OLD.reporting_currency OR NEW.fx_rate IS DISTINCT FROM OLD.fx_rate
    OR NEW.fx_rate_source IS DISTINCT FROM OLD.fx_rate_source
    OR NEW.fx_effective_at IS DISTINCT FROM OLD.fx_effective_at
    OR NEW.reporting_total_minor IS DISTINCT FROM OLD.reporting_total_minor
    OR NEW.reporting_tax_minor IS DISTINCT FROM OLD.reporting_tax_minor
    OR (OLD.status <> 'open' AND NEW.status IS DISTINCT FROM OLD.status)
    OR NEW.status = 'draft') THEN
    RAISE EXCEPTION 'invoice % is finalized (%); only its collection status may change — correct it with a credit note',
      OLD.id, OLD.number USING ERRCODE = 'restrict_violation';
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenant_tax_profiles', 'fx_rates', 'invoice_tax_lines', 'price_currency_options',
                           'credit_note_tax_lines'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_tenant_id()) '
                   'WITH CHECK (tenant_id = current_tenant_id())', t);
  END LOOP;
END $$;

GRANT SELECT, INSERT ON invoice_tax_lines, price_currency_options, credit_note_tax_lines TO ledgerline_app;
GRANT SELECT, INSERT, UPDATE ON tenant_tax_profiles, fx_rates TO ledgerline_app;
