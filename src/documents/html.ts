import type { InvoiceDocument } from './invoice-document';
import { LABELS, printDocument, type PrintedParty } from './labels';

// The document as one self-contained HTML page: inline CSS, no scripts, no fonts, images or links
// to fetch, so it renders the same in a browser, an email client or a print dialog. Every piece of
// text from the document is escaped: legal names and descriptions are user input.

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text for an HTML element or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => ESCAPES[char] ?? char);
}

const STYLE = `
*{box-sizing:border-box}
html{background:#eef1f5}
body{margin:0;padding:32px 16px;font-family:"DejaVu Sans","Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
  font-size:13px;line-height:1.45;color:#1d2733;-webkit-print-color-adjust:exact;print-color-adjust:exact}
.sheet{max-width:820px;margin:0 auto;background:#fff;padding:44px 48px 32px;border-radius:6px;
  box-shadow:0 1px 3px rgba(16,24,40,.12)}
table{width:100%;border-collapse:collapse}
td,th{vertical-align:top;text-align:left}
.layout>tbody>tr>td{padding:0}
.layout>tbody>tr>td.right{text-align:right;padding-left:32px}
.muted{color:#5b6675}
.small{font-size:11.5px}
.seller .name{font-size:17px;font-weight:700;color:#1f3a5f;margin-bottom:4px}
h1{margin:0;font-size:28px;letter-spacing:.5px;color:#1f3a5f;font-weight:700;line-height:1.15}
.number{font-size:15px;font-weight:700;margin:2px 0 10px}
.meta{width:auto;margin-left:auto}
.meta th{font-weight:400;color:#5b6675;padding:1px 16px 1px 0;white-space:nowrap}
.meta td{font-weight:700;text-align:right;padding:1px 0;white-space:nowrap}
.badge{display:inline-block;margin-top:10px;padding:2px 10px;border:1.5px solid #1e7b4f;color:#1e7b4f;
  border-radius:4px;font-weight:700;text-transform:uppercase;letter-spacing:1px;font-size:11.5px}
.badge.void{border-color:#9b2c2c;color:#9b2c2c}
.rule{border:0;border-top:1px solid #d5dbe3;margin:24px 0 20px}
.caption{font-size:11px;text-transform:uppercase;letter-spacing:1px;color:#5b6675;margin:0 0 4px;font-weight:700}
.party .name{font-weight:700;font-size:14px;color:#1f3a5f}
.due{width:240px;margin-left:auto;background:#f3f6fa;border-left:4px solid #1f3a5f;padding:12px 16px;text-align:right}
.due .value{font-size:21px;font-weight:700;color:#1f3a5f;white-space:nowrap}
.corrects{margin:20px 0 0;font-weight:700}
.lines{margin-top:24px}
.lines th,.tax-summary th{font-size:11px;text-transform:uppercase;letter-spacing:.6px;color:#5b6675;font-weight:700;
  padding:8px;border-bottom:2px solid #1f3a5f;background:#f3f6fa;white-space:nowrap}
.lines td,.tax-summary td{padding:8px;border-bottom:1px solid #e3e7ed}
.lines thead{display:table-header-group}
.lines tr{page-break-inside:avoid;break-inside:avoid}
.lines td.desc{width:100%}
.lines th.num,.lines td.num,.tax-summary .num,.totals .num{text-align:right;white-space:nowrap}
.period{display:block;color:#5b6675;font-size:11.5px}
.summary{margin-top:24px;page-break-inside:avoid;break-inside:avoid}
.summary>tbody>tr>td.left{width:48%;padding-right:24px}
.tax-summary th,.tax-summary td{padding:6px 8px}
.tax-summary th{white-space:normal}
.summary>tbody>tr>td.right{padding-left:0}
.totals td{padding:4px 8px;white-space:nowrap}
.tax-summary td:first-child{white-space:nowrap}
.totals .label{color:#5b6675}
.totals .grand td{border-top:1px solid #1d2733;font-weight:700;color:#1d2733;padding-top:7px}
.totals .due-row td{background:#1f3a5f;color:#fff;font-weight:700;font-size:14px;padding:9px 8px}
.totals .spacer td{padding:3px}
.conversion{margin:14px 0 0;color:#5b6675;text-align:right}
.notes{margin-top:24px;padding:12px 16px;border:1px solid #ecd9b0;border-left:4px solid #b7791f;background:#fffaf0;
  page-break-inside:avoid;break-inside:avoid}
.notes p{margin:2px 0;font-weight:700}
.footer{margin-top:36px;border-top:1px solid #e3e7ed;color:#5b6675;font-size:11.5px}
.footer td{padding-top:10px}
.footer td.right{text-align:right;white-space:nowrap;padding-left:24px}
@page{size:A4;margin:14mm 12mm}
@media print{html{background:#fff}body{padding:0}.sheet{box-shadow:none;border-radius:0;padding:0;max-width:none}}
@media screen and (max-width:640px){.sheet{padding:24px 16px}.layout>tbody>tr>td{display:block;width:auto}
  .layout>tbody>tr>td.right{text-align:left;padding:16px 0 0}.meta{margin-left:0}.due{width:auto;text-align:left}
  .summary>tbody>tr>td.left{width:auto;padding:0 0 16px}}
`;

function lines(values: readonly string[], className = ''): string {
  const cls = className === '' ? '' : ` class="${className}"`;
  return values.map((value) => `<div${cls}>${escapeHtml(value)}</div>`).join('');
}

function party(p: PrintedParty): string {
  return [
    `<div class="name">${escapeHtml(p.name)}</div>`,
    `<div class="muted">${lines(p.address)}</div>`,
    lines(p.taxIds),
    p.email === null ? '' : `<div class="muted small">${escapeHtml(p.email)}</div>`,
  ].join('');
}

/** A two-column row (a table, so it holds in email clients and print engines that lack flexbox). */
function columns(className: string, left: string, right: string, leftClass = ''): string {
  const leftAttr = leftClass === '' ? '' : ` class="${leftClass}"`;
  return (
    `<table class="layout ${className}" role="presentation"><tbody><tr>` +
    `<td${leftAttr}>${left}</td><td class="right">${right}</td></tr></tbody></table>`
  );
}

export function renderInvoiceHtml(doc: InvoiceDocument): string {
  const v = printDocument(doc);
  const e = escapeHtml;
  const badge =
    v.status === null
      ? ''
      : `<div><span class="badge${doc.status === 'paid' ? '' : ' void'}">${e(v.status)}</span></div>`;
  const meta = v.meta
    .map((row) => `<tr><th scope="row">${e(row.label)}</th><td>${e(row.value)}</td></tr>`)
    .join('');
  const seller =
    `<div class="seller"><div class="name">${e(v.seller.name)}</div>` +
    `<div class="muted">${lines(v.seller.address)}</div><div class="small">${lines(v.seller.taxIds)}</div>` +
    (v.seller.email === null ? '' : `<div class="muted small">${e(v.seller.email)}</div>`) +
    '</div>';
  const title =
    `<h1>${e(v.title)}</h1><div class="number">${e(v.number)}</div>` +
    `<table class="meta"><tbody>${meta}</tbody></table>${badge}`;
  const buyer = `<div class="party"><div class="caption">${e(LABELS.billTo)}</div>${party(v.buyer)}</div>`;
  const due =
    `<div class="due"><div class="caption">${e(v.amountDue.label)}</div>` +
    `<div class="value">${e(v.amountDue.value)}</div>` +
    (v.dueLine === null ? '' : `<div class="muted small">${e(v.dueLine)}</div>`) +
    '</div>';
  const head =
    `<tr><th scope="col">${e(v.columns.description)}</th><th scope="col" class="num">${e(v.columns.quantity)}</th>` +
    `<th scope="col" class="num">${e(v.columns.unitPrice)}</th><th scope="col" class="num">${e(v.columns.taxRate)}</th>` +
    `<th scope="col" class="num">${e(v.columns.amount)}</th></tr>`;
  const lineRows = v.lines
    .map(
      (line) =>
        `<tr><td class="desc">${e(line.description)}` +
        (line.period === '' ? '' : `<span class="period">${e(line.period)}</span>`) +
        `</td><td class="num">${e(line.quantity)}</td><td class="num">${e(line.unitPrice)}</td>` +
        `<td class="num">${e(line.taxRate)}</td><td class="num">${e(line.amount)}</td></tr>`,
    )
    .join('\n');
  const taxSummary =
    v.taxRows.length === 0
      ? ''
      : `<table class="tax-summary"><thead><tr><th scope="col">${e(v.taxColumns.label)}</th>` +
        `<th scope="col" class="num">${e(v.taxColumns.taxable)}</th><th scope="col" class="num">${e(v.taxColumns.tax)}</th>` +
        '</tr></thead><tbody>' +
        v.taxRows
          .map(
            (row) =>
              `<tr><td>${e(row.label)}</td><td class="num">${e(row.taxable)}</td><td class="num">${e(row.tax)}</td></tr>`,
          )
          .join('') +
        '</tbody></table>';
  const totals =
    '<table class="totals"><tbody>' +
    v.totals
      .map((row, index) =>
        index === v.totals.length - 1
          ? `<tr class="grand"><td>${e(row.label)}</td><td class="num">${e(row.value)}</td></tr>`
          : `<tr><td class="label">${e(row.label)}</td><td class="num">${e(row.value)}</td></tr>`,
      )
      .join('') +
    '<tr class="spacer"><td colspan="2"></td></tr>' +
    `<tr class="due-row"><td>${e(v.amountDue.label)}</td><td class="num">${e(v.amountDue.value)}</td></tr>` +
    '</tbody></table>';
  const notes =
    v.legalNotes.length === 0
      ? ''
      : `<section class="notes"><div class="caption">${e(LABELS.notes)}</div>` +
        v.legalNotes.map((note) => `<p>${e(note)}</p>`).join('') +
        '</section>';
  const footer = columns(
    'footer',
    v.footer === null ? '' : e(v.footer),
    `${e(v.seller.name)} · ${e(v.number)}`,
  );
  return `<!DOCTYPE html>
<html lang="${e(v.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(v.heading)} – ${e(v.seller.name)}</title>
<style>${STYLE}</style>
</head>
<body>
<main class="sheet">
${columns('top', seller, title)}
<hr class="rule">
${columns('parties', buyer, due)}
${v.correctsSentence === null ? '' : `<p class="corrects">${e(v.correctsSentence)}</p>`}
<table class="lines">
<thead>${head}</thead>
<tbody>
${lineRows}
</tbody>
</table>
${columns('summary', taxSummary, totals, 'left')}
${v.conversion === null ? '' : `<p class="conversion">${e(v.conversion)}</p>`}
${notes}
${footer}
</main>
</body>
</html>
`;
}
