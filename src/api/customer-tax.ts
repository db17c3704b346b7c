import { z } from 'zod';
import { EXEMPTION_REASONS } from '../domain/tax/types';
import { validateTaxId } from '../domain/tax/vat-id';
import { AddressBody, addressLines, TaxIdBody } from './routes/tax';
import { Currency } from './schemas';

// A customer's tax-relevant details on the wire: where they are (the place of supply), their tax id
// (which makes a sale B2B and may reverse-charge it), an exemption with its certificate, and the
// currency they are billed in. A tax id is checked offline (format and checksum) before it is stored:
// a wrong id would silently turn a taxed sale into a reverse-charged one.

const ValidTaxId = TaxIdBody.superRefine((taxId, ctx) => {
  const check = validateTaxId(taxId);
  if (!check.valid) {
    ctx.addIssue({
      code: 'custom',
      path: ['value'],
      message: `is not a valid ${taxId.type} number${check.reason === undefined ? '' : `: ${check.reason}`}`,
    });
  }
});

const TaxExemptBody = z.strictObject({
  reason: z.enum(EXEMPTION_REASONS),
  /** The exemption certificate's reference, printed on every invoice the exemption applies to. */
  certificate: z.string().trim().min(1).max(100),
});

export const CustomerTaxFields = {
  /** The registered name printed on invoices (defaults to `name`). */
  legal_name: z.string().trim().min(1).max(200).optional(),
  address: AddressBody.optional(),
  tax_id: ValidTaxId.optional(),
  tax_exempt: TaxExemptBody.optional(),
  billing_currency: Currency.optional(),
};

export const CustomerTaxUpdateFields = {
  legal_name: z.string().trim().min(1).max(200).nullable().optional(),
  address: AddressBody.nullable().optional(),
  tax_id: ValidTaxId.nullable().optional(),
  tax_exempt: TaxExemptBody.nullable().optional(),
  billing_currency: Currency.nullable().optional(),
};

interface CustomerTaxInput {
  legal_name?: string | null | undefined;
  address?: AddressBody | null | undefined;
  tax_id?: { type: string; value: string } | null | undefined;
  tax_exempt?: { reason: string; certificate: string } | null | undefined;
  billing_currency?: string | null | undefined;
}

/** The columns a body sets (undefined leaves a column alone, null clears it). */
export function customerTaxColumns(body: CustomerTaxInput): { columns: string[]; values: unknown[] } {
  const columns: string[] = [];
  const values: unknown[] = [];
  const set = (column: string, value: unknown) => {
    columns.push(column);
    values.push(value);
  };
  if (body.legal_name !== undefined) set('legal_name', body.legal_name);
  if (body.address !== undefined) {
    const address = body.address;
    set('address', address === null ? null : JSON.stringify(address));
    set('address_lines', address === null ? [] : addressLines(address));
    set('country', address?.country ?? null);
    set('region', address?.state ?? null);
    set('postal_code', address?.postal_code ?? null);
  }
  if (body.tax_id !== undefined) {
    set('tax_id_type', body.tax_id?.type ?? null);
    set('tax_id_value', body.tax_id === null ? null : validateTaxId(body.tax_id).normalized);
  }
  if (body.tax_exempt !== undefined) {
    set('tax_exempt_reason', body.tax_exempt?.reason ?? null);
    set('tax_exempt_certificate', body.tax_exempt?.certificate ?? null);
  }
  if (body.billing_currency !== undefined) set('billing_currency', body.billing_currency);
  return { columns, values };
}
