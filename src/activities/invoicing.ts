import { ApplicationFailure } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import { customerCreditBalanceMinor } from '../db/customer-balance';
import { newId } from '../db/ids';
import { allocateNumber } from '../db/invoice-numbers';
import { postJournalEntry } from '../db/ledger';
import { insertOutboxEvents } from '../db/outbox';
import { withTenant } from '../db/with-tenant';
import { sumLinesMinor } from '../domain/invoice-lines';
import {
  creditAppliedEntry,
  creditNoteEntry,
  invoiceCreditedEntry,
  invoiceFinalizedEntry,
} from '../domain/ledger';
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

export function createInvoicingActivities({ pool }: { readonly pool: Pool }) {
  return {
    /**
     * Writes, numbers and finalizes one invoice in a single transaction: lines, gapless number, the
     * ledger entry, the customer's credit balance applied, and the outbox events. Idempotent on
     * input.idempotencyKey: a retry returns the invoice the first attempt committed.
     */
    async issueInvoice(input: IssueInvoiceInput): Promise<IssuedInvoice> {
      if (input.lines.length === 0) throw new Error(`invoice ${input.idempotencyKey} has no lines`);
      const subtotalMinor = sumLinesMinor(input.lines);
      return withTenant(pool, input.tenantId, async (db) => {
        const invoiceId = newId('invoice');
        const inserted = await db.query(
          `INSERT INTO invoices (id, tenant_id, customer_id, subscription_id, status, currency, period_start,
                                 period_end, subtotal_minor, total_minor, billing_reason, idempotency_key, issued_at)
           VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8, $8, $9, $10, $11)
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
          ],
        );
        if (inserted.rowCount !== 1) return existingInvoice(db, input.idempotencyKey, subtotalMinor);

        await insertLines(db, input, invoiceId);
        const { number } = await allocateNumber(db, input.tenantId, 'invoice');
        const event = { customerId: input.customerId, currency: input.currency, occurredAt: input.issuedAt };
        if (subtotalMinor > 0) {
          const entry = invoiceFinalizedEntry({
            ...event,
            invoiceId,
            subtotalMinor,
            taxMinor: 0,
            totalMinor: subtotalMinor,
          });
          if (entry !== null) await postJournalEntry(db, input.tenantId, entry);
        } else if (subtotalMinor < 0) {
          await postJournalEntry(
            db,
            input.tenantId,
            invoiceCreditedEntry({ ...event, invoiceId, creditMinor: -subtotalMinor }),
          );
        }
        // The customer's credit balance pays what it can, before any card is charged.
        let creditAppliedMinor = 0;
        if (subtotalMinor > 0) {
          const balanceMinor = await customerCreditBalanceMinor(db, input.customerId, input.currency);
          creditAppliedMinor = Math.min(Math.max(balanceMinor, 0), subtotalMinor);
          if (creditAppliedMinor > 0) {
            await postJournalEntry(
              db,
              input.tenantId,
              creditAppliedEntry({ ...event, invoiceId, amountMinor: creditAppliedMinor }),
            );
          }
        }
        const amountDueMinor = Math.max(subtotalMinor, 0) - creditAppliedMinor;
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
          total: subtotalMinor,
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
      const amountMinor = sumLinesMinor(input.lines);
      if (input.lines.length === 0 || input.lines.some((line) => !(line.amountMinor > 0))) {
        throw new Error(`credit note ${input.idempotencyKey} needs positive lines`);
      }
      return withTenant(pool, input.tenantId, async (db) => {
        const existing = await db.query<{ id: string; number: string; amount_minor: number }>(
          'SELECT id, number, amount_minor FROM credit_notes WHERE idempotency_key = $1',
          [input.idempotencyKey],
        );
        const found = existing.rows[0];
        if (found) {
          if (found.amount_minor !== amountMinor) {
            throw new Error(
              `credit note ${input.idempotencyKey} exists with amount ${found.amount_minor}, not ${amountMinor}`,
            );
          }
          return { creditNoteId: found.id, number: found.number, amountMinor, created: false };
        }
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
            message: `credit note of ${amountMinor} exceeds the ${creditable} still creditable for the period of invoice ${input.invoiceId}`,
            nonRetryable: true,
          });
        }
        const creditNoteId = newId('creditNote');
        const { number } = await allocateNumber(db, input.tenantId, 'credit_note');
        await db.query(
          `INSERT INTO credit_notes (id, tenant_id, invoice_id, customer_id, number, currency, amount_minor, reason,
                                     idempotency_key, issued_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
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
        await postJournalEntry(
          db,
          input.tenantId,
          creditNoteEntry({
            creditNoteId,
            customerId: input.customerId,
            currency: input.currency,
            occurredAt: input.issuedAt,
            amountMinor,
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

async function insertLines(db: PoolClient, input: IssueInvoiceInput, invoiceId: string): Promise<void> {
  const { lines } = input;
  await db.query(
    `INSERT INTO invoice_lines (id, tenant_id, invoice_id, position, kind, description, quantity, unit_amount_minor,
                                amount_minor, period_start, period_end, price_id, item_id, plan_id,
                                proration_numerator, proration_denominator)
     SELECT l.id, $1, $2, l.position - 1, l.kind, l.description, l.quantity, l.unit_amount_minor, l.amount_minor,
            l.period_start, l.period_end, l.price_id, l.item_id, p.plan_id, l.num, l.den
       FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::bigint[], $8::bigint[], $9::timestamptz[],
                   $10::timestamptz[], $11::text[], $12::text[], $13::bigint[], $14::bigint[])
            WITH ORDINALITY AS l (id, kind, description, quantity, unit_amount_minor, amount_minor, period_start,
                                  period_end, price_id, item_id, num, den, position)
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
    ],
  );
}

async function existingInvoice(
  db: PoolClient,
  idempotencyKey: string,
  subtotalMinor: number,
): Promise<IssuedInvoice> {
  const { rows } = await db.query<InvoiceRow>(
    `SELECT ${INVOICE_COLUMNS} FROM invoices WHERE idempotency_key = $1`,
    [idempotencyKey],
  );
  const row = rows[0];
  if (!row) throw new Error(`invoice ${idempotencyKey} conflicted but is not visible`);
  if (row.subtotal_minor !== subtotalMinor) {
    // The same key with other lines means the caller's state diverged: a bug, never silently accepted.
    throw new Error(
      `invoice ${idempotencyKey} exists with subtotal ${row.subtotal_minor}, not ${subtotalMinor}`,
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
