import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { z } from 'zod';
import type { IssueCreditNoteInput } from '../../activities/contracts';
import { createInvoicingActivities } from '../../activities/invoicing';
import { loadCreditNoteDocument } from '../../db/credit-note-documents';
import { majorUnits } from '../../db/invoice-documents';
import { trimDecimal } from '../../db/numeric-text';
import { createTableTaxProvider } from '../../domain/tax/table-tax-provider';
import type { TaxProvider } from '../../domain/tax/types';
import { addDocumentRoutes } from '../document-routes';
import { tenantRead, tenantWrite } from '../handlers';
import type { ListEnvelope } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { AmountMinor, idOf, ListQuery } from '../schemas';

// Credit notes: finance's correction of a finalized invoice (which itself never changes). The note is
// numbered in its own gapless series (CN-000001), reverses tax at the credited invoice's own rate and
// credits the customer's balance, which pays their next invoices. Issuing is the invoicing activity's
// job (the subscription workflow calls the same one on a prorated cancel); this router validates,
// checks the invoice, calls it and shows the result.

/** The reasons the credit_notes table accepts (its CHECK constraint) and the activity's contract. */
const REASONS = [
  'subscription_canceled',
  'pause',
  'other',
] as const satisfies readonly IssueCreditNoteInput['reason'][];

const MAX_KEY_LENGTH = 255;

const CreditNoteLine = z.strictObject({
  description: z.string().trim().min(1).max(500),
  /** In the invoice's price terms: net when its prices were tax-exclusive, gross when inclusive. */
  amount: AmountMinor.min(1, 'must be a positive integer number of minor units'),
});

const CreateCreditNoteBody = z
  .strictObject({
    invoice: idOf('inv'),
    lines: z.array(CreditNoteLine).min(1, 'needs at least one line').max(50, 'at most 50 lines'),
    reason: z.enum(REASONS),
    memo: z.string().trim().min(1).max(1000).optional(),
  })
  .superRefine((body, ctx) => {
    const sum = body.lines.reduce((total, line) => total + line.amount, 0);
    if (!Number.isSafeInteger(sum)) {
      ctx.addIssue({
        code: 'custom',
        path: ['lines'],
        message: 'the lines add up to more than a safe integer',
      });
    }
  });

const ListCreditNotesQuery = ListQuery.extend({
  invoice: idOf('inv').optional(),
  customer: idOf('cus').optional(),
});

export interface CreditNoteRouteDeps {
  readonly pool: Pool;
  readonly taxProvider?: TaxProvider;
  readonly now?: () => Date;
}

interface CreditNoteRow {
  id: string;
  number: string;
  invoice_id: string;
  invoice_number: string | null;
  customer_id: string;
  currency: string;
  amount_minor: number;
  net_amount_minor: number | null;
  tax_minor: number;
  reason: string;
  memo: string | null;
  issued_at: Date;
  created_at: Date;
}

const CREDIT_NOTE_SELECT = `
  SELECT cn.id, cn.number, cn.invoice_id, i.number AS invoice_number, cn.customer_id, cn.currency, cn.amount_minor,
         cn.net_amount_minor, cn.tax_minor, cn.reason, m.memo, cn.issued_at, cn.created_at
    FROM credit_notes cn
    JOIN invoices i ON i.id = cn.invoice_id
    LEFT JOIN credit_note_memos m ON m.credit_note_id = cn.id`;

export function creditNotesRouter({
  pool,
  taxProvider,
  now = () => new Date(),
}: CreditNoteRouteDeps): Router {
  // issueCreditNote decides no tax (it reverses what the invoice recorded); the factory wants a provider.
  const invoicing = createInvoicingActivities({ pool, taxProvider: taxProvider ?? createTableTaxProvider() });
  const router = Router();

  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreateCreditNoteBody, req.body ?? {});
      // Two credit notes against one invoice at once would each see the same "still creditable"
      // amount: the API's own requests take turns per invoice (until the request's transaction ends,
      // i.e. after the activity committed its note).
      await db.query("SELECT pg_advisory_xact_lock(hashtext('ledgerline:credit_note'), hashtext($1))", [
        body.invoice,
      ]);
      const { rows } = await db.query<{
        id: string;
        number: string | null;
        status: string;
        customer_id: string;
        currency: string;
      }>('SELECT id, number, status, customer_id, currency FROM invoices WHERE id = $1', [body.invoice]);
      const invoice = rows[0];
      if (!invoice) {
        throw new ProblemError('notFound', `No invoice with id '${body.invoice}'`, { field: 'invoice' });
      }
      if ((invoice.status !== 'open' && invoice.status !== 'paid') || invoice.number === null) {
        throw new ProblemError(
          'conflict',
          `Invoice ${invoice.number ?? invoice.id} is ${invoice.status}; only finalized invoices (open or paid) can be credited`,
          { field: 'invoice' },
        );
      }
      const input: IssueCreditNoteInput = {
        tenantId: auth.tenantId,
        customerId: invoice.customer_id,
        invoiceId: invoice.id,
        currency: invoice.currency,
        idempotencyKey: activityKey(req.get('idempotency-key')),
        lines: body.lines.map((line) => ({ description: line.description, amountMinor: line.amount })),
        reason: body.reason,
        issuedAt: now().toISOString(),
      };
      let issued;
      try {
        issued = await invoicing.issueCreditNote(input);
      } catch (error) {
        throw creditProblem(error, invoice) ?? error;
      }
      const [row] = await creditNoteRows(db, { id: issued.creditNoteId });
      if (!row) throw new Error(`credit note ${issued.creditNoteId} was issued but is not visible`);
      // The activity matches its key on the lines' sum only: should an expired Idempotency-Key ever
      // come back for another invoice, it must not answer with the old invoice's note.
      if (row.invoice_id !== invoice.id) {
        throw new ProblemError(
          'idempotencyKeyReused',
          'This Idempotency-Key already issued a credit note against another invoice; use a new key',
          { field: 'Idempotency-Key' },
        );
      }
      if (body.memo !== undefined) {
        // The note committed in the activity's own transaction. A retry with the same
        // Idempotency-Key (same body, so the same memo) lands here again: the first memo stays.
        await db.query(
          `INSERT INTO credit_note_memos (tenant_id, credit_note_id, memo) VALUES (current_tenant_id(), $1, $2)
           ON CONFLICT (tenant_id, credit_note_id) DO NOTHING`,
          [row.id, body.memo],
        );
      }
      const [resource] = await creditNoteResources(db, await creditNoteRows(db, { id: row.id }));
      return { status: 201, body: resource };
    }),
  );

  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ListCreditNotesQuery, req.query, 'query');
      const rows = await creditNoteRows(db, {
        invoiceId: query.invoice,
        customerId: query.customer,
        startingAfter: query.starting_after,
        limit: query.limit + 1,
      });
      const body: ListEnvelope<CreditNoteResource> = {
        object: 'list',
        url: '/v1/credit_notes',
        has_more: rows.length > query.limit,
        data: await creditNoteResources(db, rows.slice(0, query.limit)),
      };
      return { status: 200, body };
    }),
  );

  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const id = String(req.params.id);
      const [resource] = await creditNoteResources(db, await creditNoteRows(db, { id }));
      if (resource === undefined) throw notFound('credit_note', id);
      return { status: 200, body: resource };
    }),
  );

  // The credit note as a document, like an invoice's: rendered from what was recorded at issue.
  addDocumentRoutes(router, pool, 'credit_note', loadCreditNoteDocument);

  return router;
}

/**
 * The activity's idempotency key: the request's Idempotency-Key when it has one (a retry after a
 * failure between the activity's commit and the stored response then finds the same note), hashed
 * when it would not fit the column; else a fresh one.
 */
function activityKey(header: string | undefined): string {
  if (header === undefined) return `credit_note:api:${randomUUID()}`;
  const key = `credit_note:api:${header}`;
  return key.length <= MAX_KEY_LENGTH
    ? key
    : `credit_note:api:sha256:${createHash('sha256').update(header).digest('hex')}`;
}

/** The activity's refusals as problems; undefined for anything else (a bug or an outage). */
function creditProblem(
  error: unknown,
  invoice: { readonly id: string; readonly number: string | null; readonly currency: string },
): ProblemError | undefined {
  if (!(error instanceof ApplicationFailure)) return undefined;
  if (error.type === 'InvoiceNotFound') {
    return new ProblemError('notFound', `No invoice with id '${invoice.id}'`, { field: 'invoice' });
  }
  if (error.type !== 'CreditExceedsInvoiced') return undefined;
  const name = invoice.number ?? invoice.id;
  // "credit note of 2916 (tax included) exceeds the 2915 still creditable for the period of invoice …"
  const amounts = /of (\d+) \(tax included\) exceeds the (-?\d+) still creditable/.exec(error.message);
  const money = (minor: number) => `${invoice.currency} ${majorUnits(minor, invoice.currency)}`;
  const detail =
    amounts === null
      ? `The credit exceeds what is still creditable on invoice ${name}: ${error.message}`
      : `The credit comes to ${money(Number(amounts[1]))} including tax, but only ${money(
          Math.max(Number(amounts[2]), 0),
        )} (${Math.max(Number(amounts[2]), 0)} minor units, tax included) is still creditable on invoice ${name}`;
  return new ProblemError('unprocessable', detail, { field: 'lines' });
}

async function creditNoteRows(
  db: PoolClient,
  filter: {
    readonly id?: string;
    readonly invoiceId?: string | undefined;
    readonly customerId?: string | undefined;
    readonly startingAfter?: string | undefined;
    readonly limit?: number;
  },
): Promise<CreditNoteRow[]> {
  const params: unknown[] = [];
  const conditions: string[] = [];
  const add = (sql: (placeholder: string) => string, value: unknown) => {
    params.push(value);
    conditions.push(sql(`$${params.length}`));
  };
  if (filter.id !== undefined) add((p) => `cn.id = ${p}`, filter.id);
  if (filter.invoiceId !== undefined) add((p) => `cn.invoice_id = ${p}`, filter.invoiceId);
  if (filter.customerId !== undefined) add((p) => `cn.customer_id = ${p}`, filter.customerId);
  // Keyset pagination on (created_at, id), newest first, as the other lists (src/api/pagination.ts).
  if (filter.startingAfter !== undefined) {
    add(
      (p) => `(cn.created_at, cn.id) < (SELECT created_at, id FROM credit_notes WHERE id = ${p})`,
      filter.startingAfter,
    );
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  let limit = '';
  if (filter.limit !== undefined) {
    params.push(filter.limit);
    limit = `LIMIT $${params.length}`;
  }
  const { rows } = await db.query<CreditNoteRow>(
    `${CREDIT_NOTE_SELECT} ${where} ORDER BY cn.created_at DESC, cn.id DESC ${limit}`,
    params,
  );
  return rows;
}

type CreditNoteResource = Awaited<ReturnType<typeof creditNoteResources>>[number];

/**
 * The resources of `rows`, their lines and tax reversal rows read in one query each. Amounts are the
 * credit, positive like `amount`: `tax_summary` shows per rate what `tax` reverses (the tax report and
 * the document show the same rows as negative amounts).
 */
async function creditNoteResources(db: PoolClient, rows: readonly CreditNoteRow[]) {
  const ids = rows.map((row) => row.id);
  const { rows: lines } = await db.query<{
    credit_note_id: string;
    description: string;
    amount_minor: number;
  }>(
    `SELECT credit_note_id, description, amount_minor FROM credit_note_lines
      WHERE credit_note_id = ANY($1::text[]) ORDER BY credit_note_id, position`,
    [ids],
  );
  const { rows: taxRows } = await db.query<{
    credit_note_id: string;
    jurisdiction: string;
    tax_name: string;
    rate_percent: string;
    rate_kind: string;
    treatment: string;
    taxable_minor: number;
    tax_minor: number;
  }>(
    `SELECT credit_note_id, jurisdiction, tax_name, rate_percent::text AS rate_percent, rate_kind, treatment,
            taxable_minor, tax_minor
       FROM credit_note_tax_lines WHERE credit_note_id = ANY($1::text[]) ORDER BY credit_note_id, position`,
    [ids],
  );
  return rows.map((row) => ({
    object: 'credit_note' as const,
    id: row.id,
    number: row.number,
    invoice: row.invoice_id,
    invoice_number: row.invoice_number,
    customer: row.customer_id,
    currency: row.currency,
    amount: row.amount_minor,
    subtotal: row.net_amount_minor ?? row.amount_minor - row.tax_minor,
    tax: row.tax_minor,
    reason: row.reason,
    memo: row.memo,
    issued_at: row.issued_at.toISOString(),
    created_at: row.created_at.toISOString(),
    lines: lines
      .filter((line) => line.credit_note_id === row.id)
      .map((line) => ({ description: line.description, amount: line.amount_minor })),
    tax_summary: taxRows
      .filter((tax) => tax.credit_note_id === row.id)
      .map((tax) => ({
        jurisdiction: tax.jurisdiction,
        tax_name: tax.tax_name,
        rate_percent: trimDecimal(tax.rate_percent),
        rate_kind: tax.rate_kind,
        treatment: tax.treatment,
        // Recorded negative (the reports net them against the invoice's rows).
        taxable_amount: Math.abs(tax.taxable_minor),
        tax_amount: Math.abs(tax.tax_minor),
      })),
  }));
}
