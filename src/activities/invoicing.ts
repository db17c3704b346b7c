import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { customerCreditBalanceMinor } from '../db/customer-balance';
import { newId } from '../db/ids';
import { allocateNumber } from '../db/invoice-numbers';
import { postJournalEntry } from '../db/ledger';
import { insertOutboxEvents } from '../db/outbox';
import { insertUsageBilled } from '../db/usage-charges';
import { withTenant } from '../db/with-tenant';
import { sumLinesMinor } from '../domain/invoice-lines';
import { creditAppliedEntry, creditNoteEntry, invoiceIssuedEntry } from '../domain/ledger';
import { allocateMinor, convertMinor } from '../domain/money';
import { divideRounded } from '../domain/rounding';
import { trimDecimal } from '../db/numeric-text';
import type { TaxProvider } from '../domain/tax/types';
import { splitJurisdiction, taxInvoice, tenantRoundingMode, type InvoiceTax } from './invoice-tax';
import type { IssueCreditNoteInput, IssuedCreditNote, IssuedInvoice, IssueInvoiceInput } from './contracts';

interface InvoiceRow {
  id: string;
  number: string | null;
  status: IssuedInvoice['status'];
  subtotal_minor: number;
  total_minor: number;
  amount_due_minor: number;
  credit_applied_minor: number;
}

const INVOICE_COLUMNS =
  'id, number, status, subtotal_minor, total_minor, amount_due_minor, credit_applied_minor';

export function createInvoicingActivities({
  pool,
  taxProvider,
}: {
  readonly pool: Pool;
  readonly taxProvider: TaxProvider;
}) {
  return {
    /**
     * Writes, numbers and finalizes one invoice in a single transaction: lines, gapless number, the
     * ledger entry, the customer's credit balance applied, and the outbox events. Idempotent on
     * input.idempotencyKey: a retry returns the invoice the first attempt committed.
     */
    async issueInvoice(input: IssueInvoiceInput): Promise<IssuedInvoice> {
      if (input.lines.length === 0) throw new Error(`invoice ${input.idempotencyKey} has no lines`);
      const lineSumMinor = sumLinesMinor(input.lines);
      return withTenant(pool, input.tenantId, async (db) => {
        const tax = await taxInvoice(db, taxProvider, input);
        const subtotalMinor = tax.netMinor;
        const totalMinor = tax.netMinor + tax.taxMinor;
        const invoiceId = newId('invoice');
        const inserted = await db.query(
          `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency, period_start,
                                 period_end, subtotal_minor, tax_minor, total_minor, billing_reason, idempotency_key,
                                 issued_at)
           VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $12, $13, $9, $10, $11)
           ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
          [
            invoiceId,
            input.tenantId,
            input.customerId,
            input.subscriptionId,
            input.currency,
            input.period.start,
            input.period.end,
            subtotalMinor,
            input.billingReason,
            input.idempotencyKey,
            input.issuedAt,
            tax.taxMinor,
            totalMinor,
          ],
        );
        if (inserted.rowCount !== 1) return existingInvoice(db, input.idempotencyKey, lineSumMinor);

        await insertLines(db, input, invoiceId, tax);
        // Usage billed by this invoice: recorded with it, so late usage is never billed twice.
        if (input.usageBilled !== undefined) {
          await insertUsageBilled(
            db,
            {
              tenantId: input.tenantId,
              subscriptionId: input.subscriptionId,
              invoiceId,
              billedAt: input.issuedAt,
            },
            input.usageBilled,
          );
        }
        await recordTaxDecision(db, input, invoiceId, tax);
        const { number } = await allocateNumber(db, input.tenantId, 'invoice');
        const event = { customerId: input.customerId, currency: input.currency, occurredAt: input.issuedAt };
        const entry = invoiceIssuedEntry({
          ...event,
          invoiceId,
          netMinor: subtotalMinor,
          taxMinor: tax.taxMinor,
        });
        if (entry !== null) await postJournalEntry(db, input.tenantId, entry);
        // The customer's credit balance pays what it can, before any card is charged.
        let creditAppliedMinor = 0;
        if (totalMinor > 0) {
          const balanceMinor = await customerCreditBalanceMinor(db, input.customerId, input.currency);
          creditAppliedMinor = Math.min(Math.max(balanceMinor, 0), totalMinor);
          if (creditAppliedMinor > 0) {
            await postJournalEntry(
              db,
              input.tenantId,
              creditAppliedEntry({ ...event, invoiceId, amountMinor: creditAppliedMinor }),
            );
          }
        }
        const amountDueMinor = Math.max(totalMinor, 0) - creditAppliedMinor;
        const status = amountDueMinor === 0 ? 'paid' : 'open';
        const { rows } = await db.query<InvoiceRow>(
          `UPDATE invoices
              SET status = $2, number = $3, finalized_at = $4, credit_applied_minor = $5, amount_due_minor = $6,
                  paid_at = CASE WHEN $2 = 'paid' THEN $4::timestamptz END
            WHERE id = $1
        RETURNING ${INVOICE_COLUMNS}`,
          [invoiceId, status, number, input.issuedAt, creditAppliedMinor, amountDueMinor],
        );
        const row = rows[0];
        if (!row) throw new Error(`invoice ${invoiceId} vanished while finalizing`);
        const data = {
          invoice: invoiceId,
          number,
          subscription: input.subscriptionId,
          billing_reason: input.billingReason,
          subtotal: subtotalMinor,
          tax: tax.taxMinor,
          total: totalMinor,
          amount_due: amountDueMinor,
          currency: input.currency,
        };
        await insertOutboxEvents(db, input.tenantId, [
          {
            type: 'invoice.finalized',
            idempotencyKey: `invoice.finalized:${invoiceId}`,
            occurredAt: input.issuedAt,
            data,
            emailCustomer: true,
            subscriptionId: input.subscriptionId,
            customerId: input.customerId,
          },
          ...(status === 'paid'
            ? [
                {
                  type: 'invoice.paid',
                  idempotencyKey: `invoice.paid:${invoiceId}`,
                  occurredAt: input.issuedAt,
                  data,
                  emailCustomer: false,
                  subscriptionId: input.subscriptionId,
                  customerId: input.customerId,
                },
              ]
            : []),
        ]);
        return toIssued(row, true);
      });
    },

    /**
     * A numbered credit note (its own gapless series) against an invoice; the credit goes to the
     * customer's balance and pays their next invoices. Idempotent on input.idempotencyKey.
     */
    async issueCreditNote(input: IssueCreditNoteInput): Promise<IssuedCreditNote> {
      const linesMinor = sumLinesMinor(input.lines);
      if (input.lines.length === 0 || input.lines.some((line) => !(line.amountMinor > 0))) {
        throw new Error(`credit note ${input.idempotencyKey} needs positive lines`);
      }
      return withTenant(pool, input.tenantId, async (db) => {
        const existing = await db.query<{
          id: string;
          number: string;
          amount_minor: number;
          lines_minor: string;
        }>(
          `SELECT id, number, amount_minor,
                  (SELECT coalesce(sum(l.amount_minor), 0) FROM credit_note_lines l
                    WHERE l.credit_note_id = credit_notes.id) AS lines_minor
             FROM credit_notes WHERE idempotency_key = $1`,
          [input.idempotencyKey],
        );
        const found = existing.rows[0];
        if (found) {
          if (Number(found.lines_minor) !== linesMinor) {
            throw new Error(
              `credit note ${input.idempotencyKey} exists with lines of ${found.lines_minor}, not ${linesMinor}`,
            );
          }
          return {
            creditNoteId: found.id,
            number: found.number,
            amountMinor: found.amount_minor,
            created: false,
          };
        }
        const target = await lockCreditTarget(db, input.invoiceId);
        if (target === null) {
          throw ApplicationFailure.create({
            type: 'InvoiceNotFound',
            message: `invoice ${input.invoiceId} not found for credit note`,
            nonRetryable: true,
          });
        }
        if (target.status === 'draft' || target.status === 'void') {
          throw ApplicationFailure.create({
            type: 'InvoiceNotCreditable',
            message: `invoice ${input.invoiceId} is ${target.status}: only finalized invoices are credited`,
            nonRetryable: true,
          });
        }
        if (target.customerId !== input.customerId || target.currency !== input.currency) {
          // A caller's mistake would credit another customer's balance or the wrong currency.
          throw ApplicationFailure.create({
            type: 'CreditNoteMismatch',
            message: `invoice ${input.invoiceId} belongs to ${target.customerId} in ${target.currency}, not ${input.customerId} in ${input.currency}`,
            nonRetryable: true,
          });
        }
        const reversal = await taxReversal(db, input.invoiceId, linesMinor);
        if (reversal === null) {
          throw ApplicationFailure.create({
            type: 'InvoiceNotFound',
            message: `invoice ${input.invoiceId} not found for credit note`,
            nonRetryable: true,
          });
        }
        const amountMinor = reversal.grossMinor;
        const creditable = await creditableForPeriodMinor(db, input.invoiceId);
        if (creditable === null) {
          throw ApplicationFailure.create({
            type: 'InvoiceNotFound',
            message: `invoice ${input.invoiceId} not found for credit note`,
            nonRetryable: true,
          });
        }
        if (amountMinor > creditable) {
          // Retrying cannot change the invoices already issued: fail the caller at once.
          throw ApplicationFailure.create({
            type: 'CreditExceedsInvoiced',
            message: `credit note of ${amountMinor} (tax included) exceeds the ${creditable} still creditable for the period of invoice ${input.invoiceId}`,
            nonRetryable: true,
            details: [{ amountMinor, creditableMinor: creditable }],
          });
        }
        const creditNoteId = newId('creditNote');
        const { number } = await allocateNumber(db, input.tenantId, 'credit_note');
        await db.query(
          `INSERT INTO credit_notes (id, tenant_id, invoice_id, customer_id, number, currency, amount_minor, reason,
                                     idempotency_key, issued_at, net_amount_minor, tax_minor)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
          [
            creditNoteId,
            input.tenantId,
            input.invoiceId,
            input.customerId,
            number,
            input.currency,
            amountMinor,
            input.reason,
            input.idempotencyKey,
            input.issuedAt,
            amountMinor - reversal.taxMinor,
            reversal.taxMinor,
          ],
        );
        await db.query(
          `INSERT INTO credit_note_lines (tenant_id, credit_note_id, position, description, amount_minor)
           SELECT $1, $2, l.position - 1, l.description, l.amount_minor
             FROM unnest($3::text[], $4::bigint[]) WITH ORDINALITY AS l (description, amount_minor, position)`,
          [
            input.tenantId,
            creditNoteId,
            input.lines.map((line) => line.description),
            input.lines.map((line) => line.amountMinor),
          ],
        );
        await recordCreditNoteTax(db, {
          tenantId: input.tenantId,
          creditNoteId,
          invoiceId: input.invoiceId,
          issuedAt: input.issuedAt,
          netMinor: amountMinor - reversal.taxMinor,
          taxMinor: reversal.taxMinor,
        });
        await postJournalEntry(
          db,
          input.tenantId,
          creditNoteEntry({
            creditNoteId,
            customerId: input.customerId,
            currency: input.currency,
            occurredAt: input.issuedAt,
            amountMinor,
            taxMinor: reversal.taxMinor,
            creditTo: 'balance',
          }),
        );
        await insertOutboxEvents(db, input.tenantId, [
          {
            type: 'credit_note.created',
            idempotencyKey: `credit_note.created:${creditNoteId}`,
            occurredAt: input.issuedAt,
            data: {
              credit_note: creditNoteId,
              number,
              invoice: input.invoiceId,
              amount: amountMinor,
              tax: reversal.taxMinor,
              reason: input.reason,
            },
            emailCustomer: true,
            customerId: input.customerId,
          },
        ]);
        return { creditNoteId, number, amountMinor, created: true };
      });
    },
  };
}

/**
 * Serializes credit notes for one service period (what is still creditable is counted across the
 * period's invoices, so two concurrent notes must not both see the same remainder) and returns the
 * invoice's owner, currency and status. Null when the invoice does not exist.
 */
async function lockCreditTarget(
  db: PoolClient,
  invoiceId: string,
): Promise<{ customerId: string; currency: string; status: string } | null> {
  const { rows } = await db.query<{ customer_id: string; currency: string; status: string; scope: string }>(
    `SELECT customer_id, currency, status,
            coalesce(subscription_id || ':' || period_end::text, id) AS scope
       FROM invoices WHERE id = $1`,
    [invoiceId],
  );
  const row = rows[0];
  if (!row) return null;
  await db.query(`SELECT pg_advisory_xact_lock(hashtextextended('credit_note:' || $1, 0))`, [row.scope]);
  return { customerId: row.customer_id, currency: row.currency, status: row.status };
}

/**
 * What a credit note against `invoiceId` may still credit: everything the subscription invoiced for
 * that service period (the period invoice plus any mid-period change invoices ending with it), less
 * the credit notes already issued against those invoices. Null when the invoice does not exist.
 */
async function creditableForPeriodMinor(db: PoolClient, invoiceId: string): Promise<number | null> {
  const { rows } = await db.query<{ invoiced: string | null; credited: string | null; found: boolean }>(
    `WITH target AS (SELECT subscription_id, period_end FROM invoices WHERE id = $1),
          period_invoices AS (
            SELECT i.id, i.total_minor FROM invoices i, target t
             WHERE i.id = $1
                OR (t.subscription_id IS NOT NULL AND i.subscription_id = t.subscription_id
                    AND i.period_end = t.period_end AND i.status <> 'void'))
     SELECT (SELECT count(*) > 0 FROM target) AS found,
            (SELECT sum(total_minor) FROM period_invoices) AS invoiced,
            (SELECT sum(cn.amount_minor) FROM credit_notes cn WHERE cn.invoice_id IN (SELECT id FROM period_invoices))
              AS credited`,
    [invoiceId],
  );
  const row = rows[0];
  if (!row?.found) return null;
  return Number(row.invoiced ?? 0) - Number(row.credited ?? 0);
}

/**
 * The credit note's reversal spread over the credited invoice's tax rows (largest remainder, so the
 * rows add up exactly), converted at the invoice's own rate: reports then net the credit against the
 * very supply it corrects.
 */
async function recordCreditNoteTax(
  db: PoolClient,
  note: {
    readonly tenantId: string;
    readonly creditNoteId: string;
    readonly invoiceId: string;
    readonly issuedAt: string;
    readonly netMinor: number;
    readonly taxMinor: number;
  },
): Promise<void> {
  const { rows } = await db.query<{
    currency: string;
    jurisdiction: string;
    country: string;
    region: string | null;
    tax_name: string;
    rate_percent: string;
    rate_kind: string;
    treatment: string;
    taxable_minor: number;
    tax_minor: number;
    reporting_currency: string | null;
    fx_rate: string | null;
  }>(
    `SELECT t.currency, t.jurisdiction, t.country, t.region, t.tax_name, t.rate_percent::text AS rate_percent,
            t.rate_kind, t.treatment, t.taxable_minor, t.tax_minor, t.reporting_currency, i.fx_rate::text AS fx_rate
       FROM invoice_tax_lines t JOIN invoices i ON i.id = t.invoice_id
      WHERE t.invoice_id = $1 ORDER BY t.position`,
    [note.invoiceId],
  );
  const positive = rows.filter((row) => row.taxable_minor > 0);
  if (positive.length === 0) return;
  const taxable = allocateMinor(
    -note.netMinor,
    positive.map((row) => row.taxable_minor),
  );
  const taxWeights = positive.map((row) => row.tax_minor);
  const tax = taxWeights.some((weight) => weight > 0)
    ? allocateMinor(
        -note.taxMinor,
        taxWeights.map((weight) => Math.max(weight, 0)),
      )
    : positive.map(() => 0);
  const mode = await tenantRoundingMode(db);
  const convert = (row: (typeof positive)[number], minor: number): number | null =>
    row.reporting_currency === null || row.fx_rate === null
      ? null
      : convertMinor(minor, row.currency, row.reporting_currency, trimDecimal(row.fx_rate), mode);
  for (const [index, row] of positive.entries()) {
    const taxableMinor = taxable[index] ?? 0;
    const taxMinor = tax[index] ?? 0;
    await db.query(
      `INSERT INTO credit_note_tax_lines (tenant_id, credit_note_id, position, issued_at, currency, jurisdiction,
                                          country, region, tax_name, rate_percent, rate_kind, treatment, taxable_minor,
                                          tax_minor, reporting_currency, reporting_taxable_minor, reporting_tax_minor)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        note.tenantId,
        note.creditNoteId,
        index,
        note.issuedAt,
        row.currency,
        row.jurisdiction,
        row.country,
        row.region,
        row.tax_name,
        row.rate_percent,
        row.rate_kind,
        row.treatment,
        taxableMinor,
        taxMinor,
        row.reporting_currency,
        convert(row, taxableMinor),
        convert(row, taxMinor),
      ],
    );
  }
}

/**
 * The tax a credit reverses, at the credited invoice's own effective rate (so the credit note never
 * reverses more or less tax than was charged on that supply). `linesMinor` is in the prices' terms:
 * net when the invoice's prices were tax-exclusive (tax is added on top), gross when inclusive.
 */
async function taxReversal(
  db: PoolClient,
  invoiceId: string,
  linesMinor: number,
): Promise<{ grossMinor: number; taxMinor: number } | null> {
  const { rows } = await db.query<{ subtotal_minor: number; tax_minor: number; inclusive: boolean | null }>(
    `SELECT i.subtotal_minor, i.tax_minor,
            (SELECT bool_and(l.tax_behavior = 'inclusive') FROM invoice_lines l WHERE l.invoice_id = i.id) AS inclusive
       FROM invoices i WHERE i.id = $1`,
    [invoiceId],
  );
  const row = rows[0];
  if (!row) return null;
  if (row.tax_minor === 0 || row.subtotal_minor <= 0) return { grossMinor: linesMinor, taxMinor: 0 };
  const mode = await tenantRoundingMode(db);
  if (row.inclusive === true) {
    const taxMinor = Number(
      divideRounded(
        BigInt(linesMinor) * BigInt(row.tax_minor),
        BigInt(row.subtotal_minor + row.tax_minor),
        mode,
      ),
    );
    return { grossMinor: linesMinor, taxMinor };
  }
  const taxMinor = Number(
    divideRounded(BigInt(linesMinor) * BigInt(row.tax_minor), BigInt(row.subtotal_minor), mode),
  );
  return { grossMinor: linesMinor + taxMinor, taxMinor };
}

async function insertLines(
  db: PoolClient,
  input: IssueInvoiceInput,
  invoiceId: string,
  tax: InvoiceTax,
): Promise<void> {
  const { lines } = input;
  const taxed = (index: number) => {
    const line = tax.lines[index];
    if (line === undefined) throw new Error(`no tax decision for line ${index}`);
    return line;
  };
  await db.query(
    `INSERT INTO invoice_lines (id, tenant_id, invoice_id, position, kind, description, quantity, unit_amount_minor,
                                amount_minor, period_start, period_end, price_id, item_id, plan_id,
                                proration_numerator, proration_denominator, tax_category, tax_behavior,
                                net_amount_minor, tax_minor, tax_treatment, tax_rate_label)
     SELECT l.id, $1, $2, l.position - 1, l.kind, l.description, l.quantity, l.unit_amount_minor, l.amount_minor,
            l.period_start, l.period_end, l.price_id, l.item_id, p.plan_id, l.num, l.den, l.category, l.behavior,
            l.net, l.tax, l.treatment, l.rate_label
       FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::timestamptz[],
                   $10::timestamptz[], $11::text[], $12::text[], $13::bigint[], $14::bigint[], $15::text[],
                   $16::text[], $17::bigint[], $18::bigint[], $19::text[], $20::text[])
            WITH ORDINALITY AS l (id, kind, description, quantity, unit_amount_minor, amount_minor, period_start,
                                  period_end, price_id, item_id, num, den, category, behavior, net, tax, treatment,
                                  rate_label, position)
       LEFT JOIN prices p ON p.id = l.price_id`,
    [
      input.tenantId,
      invoiceId,
      lines.map(() => newId('invoiceLine')),
      lines.map((line) => line.kind),
      lines.map((line) => line.description),
      lines.map((line) => line.quantity),
      lines.map((line) => line.unitAmountMinor),
      lines.map((line) => line.amountMinor),
      lines.map((line) => line.periodStart),
      lines.map((line) => line.periodEnd),
      lines.map((line) => line.priceId),
      lines.map((line) => line.itemId),
      lines.map((line) => line.prorationFraction?.numerator ?? null),
      lines.map((line) => line.prorationFraction?.denominator ?? null),
      lines.map((_, index) => taxed(index).category),
      lines.map((_, index) => taxed(index).behavior),
      lines.map((_, index) => taxed(index).netAmountMinor),
      lines.map((_, index) => taxed(index).taxMinor),
      lines.map((_, index) => taxed(index).treatment),
      lines.map((_, index) => taxed(index).rateLabel),
    ],
  );
}

/** The tax summary rows (the reports' source), the parties as printed, and the conversion. */
async function recordTaxDecision(
  db: PoolClient,
  input: IssueInvoiceInput,
  invoiceId: string,
  tax: InvoiceTax,
): Promise<void> {
  const conversion = tax.conversion;
  await db.query(
    `UPDATE invoices
        SET tax_date = $2, tax_source = $3, legal_notes = $4, seller_snapshot = $5, buyer_snapshot = $6,
            reporting_currency = $7, fx_rate = $8, fx_rate_source = $9, fx_effective_at = $10,
            reporting_total_minor = $11, reporting_tax_minor = $12
      WHERE id = $1`,
    [
      invoiceId,
      tax.taxDate,
      tax.source,
      tax.legalNotes,
      tax.seller === null
        ? null
        : { party: tax.seller.party, tax: tax.seller.tax, footer: tax.seller.footer },
      tax.buyer === null ? null : { party: tax.buyer.party, tax: tax.buyer.tax },
      conversion?.reportingCurrency ?? null,
      conversion?.rate ?? null,
      conversion?.source ?? null,
      conversion?.effectiveAt ?? null,
      conversion?.totalMinor ?? null,
      conversion?.taxMinor ?? null,
    ],
  );
  if (tax.summary.length === 0) return;
  const rows = tax.summary.map((row, index) => ({
    ...row,
    ...splitJurisdiction(row.jurisdiction),
    reporting: conversion?.summary[index] ?? null,
  }));
  await db.query(
    `INSERT INTO invoice_tax_lines (tenant_id, invoice_id, position, issued_at, currency, jurisdiction, country, region,
                                    tax_name, rate_percent, rate_kind, treatment, taxable_minor, tax_minor,
                                    reporting_currency, reporting_taxable_minor, reporting_tax_minor)
     SELECT $1, $2, r.position - 1, $3, $4, r.jurisdiction, r.country, r.region, r.tax_name, r.rate, r.rate_kind,
            r.treatment, r.taxable, r.tax, $5, r.reporting_taxable, r.reporting_tax
       FROM unnest($6::text[], $7::text[], $8::text[], $9::text[], $10::numeric[], $11::text[], $12::text[],
                   $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[])
            WITH ORDINALITY AS r (jurisdiction, country, region, tax_name, rate, rate_kind, treatment, taxable, tax,
                                  reporting_taxable, reporting_tax, position)`,
    [
      input.tenantId,
      invoiceId,
      input.issuedAt,
      input.currency,
      conversion?.reportingCurrency ?? null,
      rows.map((row) => row.jurisdiction),
      rows.map((row) => row.country),
      rows.map((row) => row.region),
      rows.map((row) => row.taxName),
      rows.map((row) => row.ratePercent),
      rows.map((row) => row.rateKind),
      rows.map((row) => row.treatment),
      rows.map((row) => row.taxableAmountMinor),
      rows.map((row) => row.taxAmountMinor),
      rows.map((row) => row.reporting?.taxableMinor ?? null),
      rows.map((row) => row.reporting?.taxMinor ?? null),
    ],
  );
}

async function existingInvoice(
  db: PoolClient,
  idempotencyKey: string,
  lineSumMinor: number,
): Promise<IssuedInvoice> {
  const { rows } = await db.query<InvoiceRow & { line_sum: string }>(
    `SELECT ${INVOICE_COLUMNS},
            (SELECT coalesce(sum(l.amount_minor), 0) FROM invoice_lines l WHERE l.invoice_id = invoices.id) AS line_sum
       FROM invoices WHERE idempotency_key = $1`,
    [idempotencyKey],
  );
  const row = rows[0];
  if (!row) throw new Error(`invoice ${idempotencyKey} conflicted but is not visible`);
  if (Number(row.line_sum) !== lineSumMinor) {
    // The same key with other lines means the caller's state diverged: a bug, never silently accepted.
    throw new Error(
      `invoice ${idempotencyKey} exists with lines summing to ${row.line_sum}, not ${lineSumMinor}`,
    );
  }
  return toIssued(row, false);
}

function toIssued(row: InvoiceRow, created: boolean): IssuedInvoice {
  return {
    invoiceId: row.id,
    number: row.number,
    status: row.status,
    totalMinor: row.total_minor,
    subtotalMinor: row.subtotal_minor,
    amountDueMinor: row.amount_due_minor,
    creditAppliedMinor: row.credit_applied_minor,
    created,
  };
}
