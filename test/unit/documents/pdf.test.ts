import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { renderInvoicePdf, type InvoiceDocument } from '../../../src/documents';
import {
  convertedInvoice,
  creditNote,
  manyLines,
  REVERSE_CHARGE_NOTE,
  reverseChargeInvoice,
} from './fixtures';

// The PDF read back as text with poppler's pdftotext, as a customer's tools (search, copy, screen
// readers, accounting imports) would read it.

const run = promisify(execFile);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'ledgerline-pdf-unit-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface PdfText {
  /** pdftotext -layout output, pages separated by form feeds. */
  readonly raw: string;
  /** Whitespace collapsed, as the integration test reads it. */
  readonly flat: string;
  readonly pages: number;
}

let counter = 0;
async function pdfText(doc: InvoiceDocument): Promise<PdfText> {
  const pdf = await renderInvoicePdf(doc);
  expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
  counter += 1;
  const file = path.join(dir, `document-${counter}.pdf`);
  await writeFile(file, pdf);
  const { stdout } = await run('pdftotext', ['-layout', '-enc', 'UTF-8', file, '-']).catch(
    (error: unknown) => {
      throw new Error(`pdftotext failed (install it with scripts/bootstrap/poppler.sh): ${String(error)}`);
    },
  );
  const pages = stdout.split('\f').filter((page) => page.trim() !== '').length;
  return { raw: stdout, flat: stdout.replace(/\s+/g, ' '), pages };
}

describe('renderInvoicePdf', () => {
  it('a reverse-charge invoice carries the number, the parties, their tax ids, the tax row, the totals and the note', async () => {
    const { flat, raw, pages } = await pdfText(reverseChargeInvoice());
    expect(pages).toBe(1);
    for (const expected of [
      'INVOICE',
      'INV-000042',
      'Ledgerline Demo SAS',
      '10 rue de la Paix',
      '75002 Paris',
      'VAT: FR40303265045',
      'BILL TO',
      'Beispiel Software GmbH',
      'Unter den Linden 5',
      '10117 Berlin',
      'VAT: DE136695976',
      'Issue date 1 March 2026',
      'Supply period 1–31 March 2026',
      'Pro plan',
      'Subtotal EUR 490.00',
      'Total EUR 490.00',
      'Amount due EUR 490.00',
      'Article 196',
      'Page 1 of 1',
    ]) {
      expect(flat).toContain(expected);
    }
    // The tax summary row on one line: label, taxable amount, tax.
    expect(raw).toMatch(/Reverse charge 0 %\s+490\.00\s+0\.00/);
    // The line: description, quantity, unit price, rate, net amount.
    expect(raw).toMatch(/Pro plan\s+1\s+490\.00\s+0 ?%\s+490\.00/);
    // The legal note is printed whole (it may wrap).
    expect(flat).toContain(REVERSE_CHARGE_NOTE.replace(/\s+/g, ' '));
    // …and under the totals.
    expect(flat.indexOf('Article 196')).toBeGreaterThan(flat.indexOf('Amount due EUR 490.00'));
  });

  it('prints names from all over the EU as written (embedded Unicode font)', async () => {
    const names = [
      'Łódź Spółka z o.o.',
      'Győri Kft.',
      'Ελληνική Εταιρεία Α.Ε.',
      'Žalgiris UAB',
      'Ștefan & Țiței SRL',
    ];
    const { flat } = await pdfText(
      convertedInvoice({
        buyer: {
          legalName: names[0] as string,
          addressLines: ['ul. Piotrkowska 104', '90-926 Łódź'],
          country: 'PL',
          taxIds: [{ label: 'VAT', value: 'PL5260250274' }],
        },
        lines: names.map((name, index) => ({
          description: `Seat for ${name}`,
          periodStart: '2026-03-01',
          periodEnd: '2026-04-01',
          quantity: '1',
          unitPrice: '10.00',
          taxRatePercent: '19',
          netAmountMinor: 1000 + index,
          taxAmountMinor: 190,
        })),
        footer: 'Geschäftsführer: Jürgen Weiß · Amtsgericht Charlottenburg HRB 12345 · ₹ € £',
      }),
    );
    expect(flat).toContain('Łódź Spółka z o.o.');
    expect(flat).toContain('90-926 Łódź');
    expect(flat).toContain('Poland');
    expect(flat).toContain('Friedrichstraße 68');
    for (const name of names) expect(flat).toContain(`Seat for ${name}`);
    expect(flat).toContain('Jürgen Weiß');
    expect(flat).toContain('₹ € £');
  });

  it('prints the total in the accounting currency at the recorded rate', async () => {
    const { flat } = await pdfText(convertedInvoice({ status: 'paid' }));
    expect(flat).toContain('Total in EUR at 0.92345 (ECB, 2026-03-01): EUR 53.85, of which VAT EUR 8.60');
    expect(flat).toContain('VAT DE 19 % 49.00 9.31');
    expect(flat).toContain('Amount due USD 58.31');
    expect(flat).toContain('PAID');
  });

  it('a credit note says so, names the invoice it corrects and prints negative amounts', async () => {
    const { flat } = await pdfText(creditNote());
    expect(flat).toContain('CREDIT NOTE');
    expect(flat).toContain('CN-000003');
    expect(flat).toContain('Corrects invoice INV-000042');
    expect(flat).toContain('This credit note corrects invoice INV-000042.');
    expect(flat).toContain('-252.90');
    expect(flat).toContain('Total -EUR 252.90');
    expect(flat).toContain('Amount credited -EUR 252.90');
    expect(flat).toContain('Supply period 16–31 March 2026');
  });

  it('runs onto further pages with the table header repeated, every line present', async () => {
    const lines = manyLines(120);
    const { raw, flat, pages } = await pdfText(reverseChargeInvoice({ lines }));
    expect(pages).toBeGreaterThan(1);
    for (let i = 1; i <= 120; i += 1) {
      expect(flat).toContain(`Usage item ${String(i).padStart(3, '0')}`);
    }
    expect(flat).toContain('quota, billed per thousand requests in arrears');
    const pageTexts = raw.split('\f').filter((page) => page.trim() !== '');
    pageTexts.forEach((page, index) => {
      expect(page).toMatch(/DESCRIPTION\s+QTY\s+UNIT PRICE\s+TAX\s+AMOUNT \(EUR\)|TAX SUMMARY/);
      expect(page).toContain(`Page ${index + 1} of ${pages}`);
      if (index > 0) expect(page).toContain('Invoice INV-000042 (continued)');
    });
    // The totals and the note come once, after the last line.
    const last = pageTexts[pageTexts.length - 1] as string;
    expect(last.replace(/\s+/g, ' ')).toContain('Amount due EUR 490.00');
    expect(flat.match(/Subtotal/g)).toHaveLength(1);
    expect(flat.lastIndexOf('Usage item 120')).toBeLessThan(flat.lastIndexOf('Subtotal'));
    expect(flat).toContain('Article 196');
  });

  it('is the same bytes every time for the same document', async () => {
    const doc = reverseChargeInvoice();
    const [first, second] = await Promise.all([renderInvoicePdf(doc), renderInvoicePdf(doc)]);
    expect(first.equals(second)).toBe(true);
  });
});
