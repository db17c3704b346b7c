import { renderInvoiceHtml } from '../../../src/documents';
import { escapeHtml } from '../../../src/documents/html';
import { convertedInvoice, creditNote, REVERSE_CHARGE_NOTE, reverseChargeInvoice } from './fixtures';

/** The page's visible text, tags dropped and entities decoded, whitespace collapsed. */
function visibleText(html: string): string {
  const body = html.slice(html.indexOf('<body>'));
  return body
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}

describe('renderInvoiceHtml', () => {
  it('shows the parties, their tax ids, the lines, the tax summary and the totals', () => {
    const text = visibleText(renderInvoiceHtml(reverseChargeInvoice()));
    for (const expected of [
      'Invoice',
      'INV-000042',
      'Ledgerline Demo SAS',
      '10 rue de la Paix',
      'France',
      'VAT: FR40303265045',
      'Bill to',
      'Beispiel Software GmbH',
      'Unter den Linden 5',
      'Germany',
      'VAT: DE136695976',
      'Issue date 1 March 2026',
      'Due date 15 March 2026',
      'Supply period 1–31 March 2026',
      'Pro plan 1–31 March 2026 1 490.00 0 % 490.00',
      'Reverse charge 0 % 490.00 0.00',
      'Subtotal EUR 490.00',
      'Total EUR 490.00',
      'Amount due EUR 490.00',
    ]) {
      expect(text).toContain(expected);
    }
  });

  it('prints the reverse-charge wording under the totals', () => {
    const html = renderInvoiceHtml(reverseChargeInvoice());
    expect(visibleText(html)).toContain(REVERSE_CHARGE_NOTE);
    expect(html.indexOf('Article 196')).toBeGreaterThan(html.indexOf('class="totals"'));
  });

  it('escapes every piece of user text', () => {
    const html = renderInvoiceHtml(
      reverseChargeInvoice({
        buyer: {
          legalName: '<script>alert("x")</script> & Co',
          addressLines: ['<img src=x onerror=alert(1)>'],
          country: 'DE',
          taxIds: [{ label: 'VAT', value: '"><b>' }],
          email: "o'brien@example.com",
        },
        lines: [
          {
            description: '</td><script>steal()</script>',
            periodStart: null,
            periodEnd: null,
            quantity: '1',
            unitPrice: '1.00',
            taxRatePercent: null,
            netAmountMinor: 100,
            taxAmountMinor: 0,
          },
        ],
        legalNotes: ['<iframe src="https://evil.example">'],
        footer: '<style>body{display:none}</style>',
      }),
    );
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<img/i);
    expect(html).not.toMatch(/<iframe/i);
    expect(html).not.toContain('<b>');
    expect(html.match(/<style>/g)).toHaveLength(1);
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co');
    expect(html).toContain('o&#39;brien@example.com');
    expect(visibleText(html)).toContain('<script>alert("x")</script> & Co');
  });

  it('escapes HTML’s special characters', () => {
    expect(escapeHtml(`<a href="x">Tom & Jerry's</a>`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;',
    );
  });

  it('is one self-contained page: a language, a charset, inline CSS and nothing to fetch', () => {
    const html = renderInvoiceHtml(convertedInvoice());
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toMatch(/<html lang="en">/);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<style>');
    expect(html).toContain('@media print');
    expect(html).not.toMatch(/<link|<script|<img|@import|url\(|src=/i);
    expect(html).not.toMatch(/https?:\/\//);
  });

  it('says a credit note is one and names the invoice it corrects', () => {
    const text = visibleText(renderInvoiceHtml(creditNote()));
    expect(text).toContain('Credit note');
    expect(text).toContain('CN-000003');
    expect(text).toContain('Corrects invoice INV-000042');
    expect(text).toContain('This credit note corrects invoice INV-000042.');
    expect(text).toContain('-252.90');
    expect(text).toContain('Total -EUR 252.90');
    expect(text).toContain('Amount credited -EUR 252.90');
    expect(text).not.toMatch(/\bInvoice\b(?! INV-000042)/);
  });

  it('prints the total in the accounting currency at the recorded rate', () => {
    const text = visibleText(renderInvoiceHtml(convertedInvoice()));
    expect(text).toContain('Total in EUR at 0.92345 (ECB, 2026-03-01): EUR 53.85, of which VAT EUR 8.60');
    expect(text).toContain('VAT USD 9.31');
    expect(text).toContain('Łódź Spółka z o.o.');
  });

  it('formats amounts with each currency’s exponent', () => {
    const jpy = visibleText(
      renderInvoiceHtml(
        reverseChargeInvoice({
          currency: 'JPY',
          lines: [
            {
              description: 'Team plan',
              periodStart: '2026-03-01',
              periodEnd: '2026-04-01',
              quantity: '10',
              unitPrice: '7000',
              taxRatePercent: '0',
              netAmountMinor: 70000,
              taxAmountMinor: 0,
            },
          ],
          taxSummary: [{ label: 'Reverse charge 0 %', taxableAmountMinor: 70000, taxAmountMinor: 0 }],
          subtotalMinor: 70000,
          taxMinor: 0,
          totalMinor: 70000,
          amountDueMinor: 70000,
        }),
      ),
    );
    expect(jpy).toContain('Team plan 1–31 March 2026 10 7,000 0 % 70,000');
    expect(jpy).toContain('Total JPY 70,000');
    expect(jpy).not.toContain('70,000.00');

    const bhd = visibleText(
      renderInvoiceHtml(reverseChargeInvoice({ currency: 'BHD', totalMinor: 12345, amountDueMinor: 12345 })),
    );
    expect(bhd).toContain('Total BHD 12.345');
  });

  it('marks a paid invoice as paid', () => {
    expect(visibleText(renderInvoiceHtml(reverseChargeInvoice({ status: 'paid' })))).toContain('Paid');
    expect(visibleText(renderInvoiceHtml(reverseChargeInvoice({ status: 'open' })))).not.toContain('Paid');
  });
});
