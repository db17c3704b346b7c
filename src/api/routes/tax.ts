import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import { withTenant } from '../../db/with-tenant';
import { trimDecimal } from '../../db/numeric-text';
import { CANADIAN_PROVINCES, EU_TABLES, NATIONAL_TABLES, US_STATES } from '../../domain/tax/rates';
import { TAX_ID_TYPES } from '../../domain/tax/vat-id';
import { taxReport, taxReportCsv, TAX_REPORT_KINDS } from '../../db/tax-reports';
import { authOf } from '../auth';
import { tenantRead, tenantWrite } from '../handlers';
import { parseOrThrow, ProblemError } from '../problem';
import { Currency } from '../schemas';

// The seller's legal identity and tax registrations, the FX rates it uploads, and its tax reports.

const Country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code')
  .transform((code) => code.toUpperCase());
const Region = z
  .string()
  .regex(/^[A-Za-z0-9]{1,3}$/, 'must be an ISO 3166-2 subdivision code without the country (e.g. CA, ON, MH)')
  .transform((code) => code.toUpperCase());

/** Where tax depends on the subdivision, so an address without one could not be taxed at all. */
const REGION_REQUIRED: Record<string, ReadonlySet<string> | null> = {
  US: new Set(US_STATES.keys()),
  CA: new Set(CANADIAN_PROVINCES.keys()),
  IN: null,
};

export const AddressBody = z
  .strictObject({
    line1: z.string().trim().min(1).max(200),
    line2: z.string().trim().max(200).optional(),
    city: z.string().trim().max(100).optional(),
    postal_code: z.string().trim().max(20).optional(),
    /** State, province or region code: required where tax depends on it (US, CA, IN). */
    state: Region.optional(),
    country: Country,
  })
  .superRefine((address, ctx) => {
    const known = REGION_REQUIRED[address.country];
    if (known === undefined) return;
    if (address.state === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: `is required for ${address.country} addresses: tax depends on it`,
      });
    } else if (known !== null && !known.has(address.state)) {
      ctx.addIssue({
        code: 'custom',
        path: ['state'],
        message: `'${address.state}' is not a ${address.country} state or province code`,
      });
    }
  });
export type AddressBody = z.infer<typeof AddressBody>;

export const TaxIdBody = z.strictObject({
  type: z.enum(TAX_ID_TYPES),
  value: z.string().trim().min(2).max(40),
});

/** A registration the built-in tables can tax under; any other would fail every invoice later. */
const RegistrationCountry = Country.refine(
  (country) => EU_TABLES.has(country) || NATIONAL_TABLES.has(country) || country === 'CA' || country === 'IN',
  'must be a country the tax tables cover (EU member states, GB, CH, NO, AU, NZ, SG, JP, CA, IN)',
);

const TaxProfileBody = z.strictObject({
  legal_name: z.string().trim().min(1).max(200),
  address: AddressBody,
  email: z.email().max(320).optional(),
  tax_ids: z.array(TaxIdBody).max(10).default([]),
  registrations: z
    .strictObject({
      /** Countries where the seller is registered for VAT/GST besides its own (GB, CH, NO, AU, CA, …). */
      countries: z.array(RegistrationCountry).max(60).default([]),
      /** Registered for the EU One-Stop Shop: B2C digital sales are taxed at the buyer's rate. */
      eu_oss: z.boolean().default(false),
      /** US states where the seller has sales-tax nexus. */
      us_nexus_states: z.array(Region).max(60).default([]),
      /** The Indian state of the seller's GSTIN. */
      in_gst_state: Region.optional(),
    })
    .default({ countries: [], eu_oss: false, us_nexus_states: [] }),
  reporting_currency: Currency,
  invoice_footer: z.string().max(1000).optional(),
});

interface TaxProfileRow {
  legal_name: string;
  address: AddressBody;
  address_lines: string[];
  country: string;
  region: string | null;
  postal_code: string | null;
  email: string | null;
  tax_ids: { type: string; value: string }[];
  registrations: { countries: string[]; euOss: boolean; usNexusStates: string[]; inGstState?: string };
  reporting_currency: string;
  invoice_footer: string | null;
  updated_at: Date;
}

/** Printed address lines: street lines, then "postal code city", the way invoices show them. */
export function addressLines(address: AddressBody): string[] {
  const cityLine = [address.postal_code, address.city]
    .filter((part) => part !== undefined && part !== '')
    .join(' ');
  return [address.line1, address.line2, cityLine, address.state].filter(
    (line): line is string => line !== undefined && line !== '',
  );
}

export function taxProfileRouter(pool: Pool): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ db }) => {
      const row = await readProfile(db);
      if (row === undefined) {
        throw new ProblemError('notFound', 'No tax profile yet: PUT one to start taxing invoices', {
          field: 'tax_profile',
        });
      }
      return { status: 200, body: taxProfileResource(row) };
    }),
  );
  router.put(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(TaxProfileBody, req.body);
      const { rows } = await db.query<TaxProfileRow>(
        `INSERT INTO tenant_tax_profiles (tenant_id, legal_name, address_lines, country, region, postal_code, email,
                                          tax_ids, registrations, reporting_currency, invoice_footer, address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (tenant_id) DO UPDATE SET
           legal_name = EXCLUDED.legal_name, address = EXCLUDED.address, address_lines = EXCLUDED.address_lines,
           country = EXCLUDED.country,
           region = EXCLUDED.region, postal_code = EXCLUDED.postal_code, email = EXCLUDED.email,
           tax_ids = EXCLUDED.tax_ids, registrations = EXCLUDED.registrations,
           reporting_currency = EXCLUDED.reporting_currency, invoice_footer = EXCLUDED.invoice_footer,
           updated_at = now()
         RETURNING *`,
        [
          auth.tenantId,
          body.legal_name,
          addressLines(body.address),
          body.address.country,
          body.address.state ?? null,
          body.address.postal_code ?? null,
          body.email ?? null,
          JSON.stringify(body.tax_ids),
          JSON.stringify({
            countries: body.registrations.countries,
            euOss: body.registrations.eu_oss,
            usNexusStates: body.registrations.us_nexus_states,
            ...(body.registrations.in_gst_state === undefined
              ? {}
              : { inGstState: body.registrations.in_gst_state }),
          }),
          body.reporting_currency,
          body.invoice_footer ?? null,
          JSON.stringify(body.address),
        ],
      );
      return { status: 200, body: taxProfileResource(rows[0] as TaxProfileRow) };
    }),
  );
  return router;
}

async function readProfile(db: PoolClient): Promise<TaxProfileRow | undefined> {
  const { rows } = await db.query<TaxProfileRow>('SELECT * FROM tenant_tax_profiles');
  return rows[0];
}

function taxProfileResource(row: TaxProfileRow) {
  return {
    object: 'tax_profile',
    legal_name: row.legal_name,
    address: row.address,
    address_lines: row.address_lines,
    email: row.email,
    tax_ids: row.tax_ids,
    registrations: {
      countries: row.registrations.countries,
      eu_oss: row.registrations.euOss,
      us_nexus_states: row.registrations.usNexusStates,
      in_gst_state: row.registrations.inGstState ?? null,
    },
    reporting_currency: row.reporting_currency,
    invoice_footer: row.invoice_footer,
    updated_at: row.updated_at.toISOString(),
  };
}

// ------------------------------------------------------------------------------------------------
// FX rates

const RATE_PATTERN = /^\d{1,12}(\.\d{1,12})?$/;
const FxRateBody = z.strictObject({
  base: Currency,
  quote: Currency,
  /** Exact decimal string: 1 base = rate quote. A JSON number would already have been rounded. */
  rate: z
    .string()
    .regex(RATE_PATTERN, "must be a decimal string like '0.92345' (at most 12 decimals)")
    .refine((rate) => /[1-9]/.test(rate), 'must be greater than zero'),
  effective_at: z.iso.datetime({ offset: true }),
  source: z.string().trim().min(1).max(100),
});
const UploadFxRatesBody = z.strictObject({ rates: z.array(FxRateBody).min(1).max(10_000) });

const ListFxRatesQuery = z.strictObject({
  base: Currency.optional(),
  quote: Currency.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

interface FxRateRow {
  base: string;
  quote: string;
  rate: string;
  effective_at: Date;
  source: string;
}

export function fxRatesRouter(pool: Pool): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(UploadFxRatesBody, req.body);
      for (const [index, rate] of body.rates.entries()) {
        if (rate.base === rate.quote) {
          throw new ProblemError('validation', 'base and quote must differ', {
            field: `rates[${index}].quote`,
          });
        }
      }
      // A rate, once used by an invoice, must stay what the invoice recorded: re-uploading the same
      // (pair, instant) with another value is a conflict, the same value is a no-op.
      const { rows } = await db.query<FxRateRow & { inserted: boolean }>(
        `INSERT INTO fx_rates (tenant_id, base, quote, effective_at, rate, source)
         SELECT $1, r.base, r.quote, r.effective_at, r.rate, r.source
           FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::numeric[], $6::text[])
                AS r (base, quote, effective_at, rate, source)
         ON CONFLICT (tenant_id, base, quote, effective_at) DO NOTHING
         RETURNING base, quote, rate::text AS rate, effective_at, source, true AS inserted`,
        [
          auth.tenantId,
          body.rates.map((rate) => rate.base),
          body.rates.map((rate) => rate.quote),
          body.rates.map((rate) => rate.effective_at),
          body.rates.map((rate) => rate.rate),
          body.rates.map((rate) => rate.source),
        ],
      );
      if (rows.length < body.rates.length) {
        const { rows: clashes } = await db.query<{ index: number }>(
          `SELECT r.index - 1 AS index
             FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::numeric[]) WITH ORDINALITY
                  AS r (base, quote, effective_at, rate, index)
             JOIN fx_rates f ON f.base = r.base AND f.quote = r.quote AND f.effective_at = r.effective_at
            WHERE f.rate <> r.rate`,
          [
            body.rates.map((rate) => rate.base),
            body.rates.map((rate) => rate.quote),
            body.rates.map((rate) => rate.effective_at),
            body.rates.map((rate) => rate.rate),
          ],
        );
        const clash = clashes[0];
        if (clash !== undefined) {
          throw new ProblemError(
            'conflict',
            'A different rate is already stored for this pair and instant; upload a new effective_at instead',
            { field: `rates[${clash.index}].rate` },
          );
        }
      }
      return {
        status: 201,
        body: { object: 'list', inserted: rows.length, unchanged: body.rates.length - rows.length },
      };
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListFxRatesQuery, req.query, 'query');
      const { rows } = await db.query<FxRateRow>(
        `SELECT base, quote, rate::text AS rate, effective_at, source FROM fx_rates
          WHERE ($1::text IS NULL OR base = $1) AND ($2::text IS NULL OR quote = $2)
          ORDER BY effective_at DESC, base, quote LIMIT $3`,
        [query.base ?? null, query.quote ?? null, query.limit],
      );
      return {
        status: 200,
        body: {
          object: 'list',
          data: rows.map((row) => ({
            object: 'fx_rate',
            base: row.base,
            quote: row.quote,
            rate: trimDecimal(row.rate),
            effective_at: row.effective_at.toISOString(),
            source: row.source,
          })),
        },
      };
    }),
  );
  return router;
}

// ------------------------------------------------------------------------------------------------
// Reports

const TaxReportQuery = z
  .strictObject({
    kind: z.enum(TAX_REPORT_KINDS),
    /** [from, to): instants or dates (UTC). */
    from: z.iso.date().or(z.iso.datetime({ offset: true })),
    to: z.iso.date().or(z.iso.datetime({ offset: true })),
    format: z.enum(['json', 'csv']).default('json'),
  })
  .refine((query) => Date.parse(query.from) < Date.parse(query.to), {
    path: ['to'],
    message: 'must be after from',
  })
  .refine((query) => Date.parse(query.to) - Date.parse(query.from) <= 366 * 86_400_000, {
    path: ['to'],
    message: 'a report covers at most 366 days',
  });

export function taxReportsRouter(pool: Pool): Router {
  const router = Router();
  router.get('/tax', async (req, res) => {
    const query = parseOrThrow(TaxReportQuery, req.query, 'query');
    const auth = authOf(res);
    const report = await withTenant(pool, auth.tenantId, (db) =>
      taxReport(db, { kind: query.kind, from: new Date(query.from), to: new Date(query.to) }),
    );
    if (query.format === 'csv') {
      res
        .status(200)
        .type('text/csv; charset=utf-8')
        .set('Content-Disposition', `attachment; filename="tax-${query.kind}-${query.from}-${query.to}.csv"`)
        .send(taxReportCsv(report));
      return;
    }
    res.status(200).json(report);
  });
  return router;
}
