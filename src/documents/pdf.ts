import { readFileSync } from 'node:fs';
import PDFDocument from 'pdfkit';
import type { InvoiceDocument } from './invoice-document';
import { LABELS, printDocument, type PrintedDocument, type PrintedParty } from './labels';

// The document as an A4 PDF, laid out by hand with pdfkit. Text is set in DejaVu Sans (embedded,
// subset to the glyphs used), which covers every Latin, Greek and Cyrillic name in the EU and the
// currency signs, so 'Łódź Spółka z o.o.' prints as written and `pdftotext` reads it back. The
// output is byte-for-byte the same for the same document: its dates come from the document.

type Doc = PDFKit.PDFDocument;

const FONT_FILES = {
  regular: 'dejavu-fonts-ttf/ttf/DejaVuSans.ttf',
  bold: 'dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf',
} as const;
type FontName = keyof typeof FONT_FILES;

let fontData: Record<FontName, Buffer> | undefined;

/** The TTF files, read once per process. */
function fonts(): Record<FontName, Buffer> {
  fontData ??= {
    regular: readFileSync(require.resolve(FONT_FILES.regular)),
    bold: readFileSync(require.resolve(FONT_FILES.bold)),
  };
  return fontData;
}

const COLOR = {
  ink: '#1d2733',
  muted: '#5b6675',
  accent: '#1f3a5f',
  rule: '#d5dbe3',
  fill: '#f3f6fa',
  paid: '#1e7b4f',
  void: '#9b2c2c',
  noteBar: '#b7791f',
  noteFill: '#fffaf0',
  white: '#ffffff',
} as const;

const PAGE = { width: 595.28, height: 841.89 } as const;
const MARGIN: { readonly left: number; readonly right: number; readonly top: number } = {
  left: 48,
  right: 48,
  top: 46,
};
const LEFT = MARGIN.left;
const RIGHT = PAGE.width - MARGIN.right;
const CONTENT_WIDTH = RIGHT - LEFT;
const FOOTER_GAP = 14;
const FOOTER_BOTTOM = 30;

interface Style {
  readonly font?: FontName;
  readonly size?: number;
  readonly color?: string;
}

/** Layout state: the document, the vertical position and where the page's content must end. */
interface Cursor {
  readonly doc: Doc;
  y: number;
  readonly bottom: number;
  readonly view: PrintedDocument;
}

function use(doc: Doc, style: Style): void {
  doc
    .font(style.font ?? 'regular')
    .fontSize(style.size ?? 9)
    .fillColor(style.color ?? COLOR.ink);
}

/** Wrapped text at (x, y) within `width`; returns its height. */
function block(
  doc: Doc,
  text: string,
  x: number,
  y: number,
  width: number,
  style: Style,
  align: 'left' | 'right' = 'left',
): number {
  if (text === '') return 0;
  use(doc, style);
  const options = { width, align, lineGap: 1 };
  const height = doc.heightOfString(text, options);
  doc.text(text, x, y, options);
  return height;
}

function measure(doc: Doc, text: string, width: number, style: Style): number {
  if (text === '') return 0;
  use(doc, style);
  return doc.heightOfString(text, { width, lineGap: 1 });
}

/** One line of text ending at `right` (numbers, labels in a right-aligned column). */
function rightAligned(doc: Doc, text: string, right: number, y: number, style: Style): void {
  if (text === '') return;
  use(doc, style);
  doc.text(text, right - doc.widthOfString(text), y, { lineBreak: false });
}

function rule(doc: Doc, y: number, color: string = COLOR.rule, width = 0.6, from = LEFT, to = RIGHT): void {
  doc.save().moveTo(from, y).lineTo(to, y).lineWidth(width).strokeColor(color).stroke().restore();
}

function fillRect(doc: Doc, x: number, y: number, w: number, h: number, color: string): void {
  doc.save().rect(x, y, w, h).fill(color).restore();
}

/** Height of a party block: name, address, tax ids, email. */
function partyBlock(
  doc: Doc,
  party: PrintedParty,
  x: number,
  y: number,
  width: number,
  nameSize: number,
  dry: boolean,
): number {
  let h = 0;
  const put = (text: string, style: Style, gap = 0) => {
    if (text === '') return;
    h += gap;
    h += dry ? measure(doc, text, width, style) : block(doc, text, x, y + h, width, style);
  };
  put(party.name, { font: 'bold', size: nameSize, color: COLOR.accent });
  h += 2;
  for (const line of party.address) put(line, { size: 9, color: COLOR.muted });
  party.taxIds.forEach((id, index) => put(id, { size: 9 }, index === 0 ? 2 : 0));
  if (party.email !== null) put(party.email, { size: 8.5, color: COLOR.muted }, 2);
  return h;
}

function firstPageHeader(c: Cursor): void {
  const { doc, view } = c;
  const sellerWidth = 232;
  const sellerHeight = partyBlock(doc, view.seller, LEFT, c.y, sellerWidth, 13, false);

  // Title, number and the document's dates on the right.
  const boxLeft = LEFT + sellerWidth + 24;
  const boxWidth = RIGHT - boxLeft;
  let y = c.y - 4;
  rightAligned(doc, view.title.toUpperCase(), RIGHT, y, { font: 'bold', size: 22, color: COLOR.accent });
  y += 30;
  rightAligned(doc, view.number, RIGHT, y, { font: 'bold', size: 11.5 });
  y += 20;
  use(doc, { size: 8.5 });
  const labelWidth = Math.min(
    Math.max(...view.meta.map((row) => doc.widthOfString(row.label)), 0) + 12,
    boxWidth / 2,
  );
  for (const row of view.meta) {
    const valueWidth = boxWidth - labelWidth;
    const height = Math.max(
      measure(doc, row.label, labelWidth, { size: 8.5 }),
      measure(doc, row.value, valueWidth, { font: 'bold', size: 8.5 }),
    );
    block(doc, row.label, boxLeft, y, labelWidth, { size: 8.5, color: COLOR.muted });
    block(doc, row.value, boxLeft + labelWidth, y, valueWidth, { font: 'bold', size: 8.5 }, 'right');
    y += height + 2.5;
  }
  if (view.status !== null) {
    y += 6;
    const color = view.status === LABELS.status.paid ? COLOR.paid : COLOR.void;
    const label = view.status.toUpperCase();
    use(doc, { font: 'bold', size: 9 });
    const w = doc.widthOfString(label) + 16;
    doc
      .save()
      .roundedRect(RIGHT - w, y, w, 17, 3)
      .lineWidth(1.2)
      .strokeColor(color)
      .stroke()
      .restore();
    rightAligned(doc, label, RIGHT - 8, y + 4, { font: 'bold', size: 9, color });
    y += 17;
  }
  c.y = Math.max(c.y + sellerHeight, y) + 22;
  rule(c.doc, c.y, COLOR.rule, 0.6);
  c.y += 16;
}

function partiesRow(c: Cursor): void {
  const { doc, view } = c;
  const buyerWidth = 280;
  block(doc, LABELS.billTo.toUpperCase(), LEFT, c.y, buyerWidth, {
    font: 'bold',
    size: 7.5,
    color: COLOR.muted,
  });
  const buyerHeight = 13 + partyBlock(doc, view.buyer, LEFT, c.y + 13, buyerWidth, 11, false);

  // The amount due, where the eye looks for it.
  const boxWidth = 190;
  const boxLeft = RIGHT - boxWidth;
  const boxHeight = view.dueLine === null ? 50 : 64;
  fillRect(doc, boxLeft, c.y, boxWidth, boxHeight, COLOR.fill);
  fillRect(doc, boxLeft, c.y, 3, boxHeight, COLOR.accent);
  rightAligned(doc, view.amountDue.label.toUpperCase(), RIGHT - 12, c.y + 10, {
    font: 'bold',
    size: 7.5,
    color: COLOR.muted,
  });
  rightAligned(doc, view.amountDue.value, RIGHT - 12, c.y + 22, {
    font: 'bold',
    size: 15,
    color: COLOR.accent,
  });
  if (view.dueLine !== null)
    rightAligned(doc, view.dueLine, RIGHT - 12, c.y + 45, { size: 8.5, color: COLOR.muted });
  c.y += Math.max(buyerHeight, boxHeight) + 22;

  if (view.correctsSentence !== null) {
    c.y += block(doc, view.correctsSentence, LEFT, c.y, CONTENT_WIDTH, { font: 'bold', size: 9.5 }) + 12;
  }
}

/** Header of the pages after the first: who, what, and that it goes on. */
function continuationHeader(c: Cursor): void {
  const { doc, view } = c;
  block(doc, view.seller.name, LEFT, c.y, CONTENT_WIDTH / 2, { font: 'bold', size: 9, color: COLOR.accent });
  rightAligned(doc, `${view.heading} (${LABELS.continued})`, RIGHT, c.y, { size: 9, color: COLOR.muted });
  c.y += 16;
  rule(doc, c.y);
  c.y += 14;
}

function newPage(c: Cursor): void {
  c.doc.addPage();
  c.y = MARGIN.top;
  continuationHeader(c);
}

// The lines table: description (with the service period under it), quantity, unit price, tax rate, amount.
const COLUMNS = (() => {
  const amount = 84;
  const tax = 52;
  const unit = 78;
  const qty = 50;
  const description = CONTENT_WIDTH - amount - tax - unit - qty;
  const qtyRight = LEFT + description + qty;
  const unitRight = qtyRight + unit;
  const taxRight = unitRight + tax;
  return { description, qtyRight, unitRight, taxRight, amountRight: RIGHT };
})();
const PAD = 5;

function tableHeader(c: Cursor): void {
  const { doc, view } = c;
  const h = 20;
  fillRect(doc, LEFT, c.y, CONTENT_WIDTH, h, COLOR.fill);
  rule(doc, c.y + h, COLOR.accent, 1.2);
  const style: Style = { font: 'bold', size: 7.5, color: COLOR.muted };
  const y = c.y + 7;
  block(doc, view.columns.description.toUpperCase(), LEFT + PAD, y, COLUMNS.description - PAD, style);
  rightAligned(doc, view.columns.quantity.toUpperCase(), COLUMNS.qtyRight - PAD, y, style);
  rightAligned(doc, view.columns.unitPrice.toUpperCase(), COLUMNS.unitRight - PAD, y, style);
  rightAligned(doc, view.columns.taxRate.toUpperCase(), COLUMNS.taxRight - PAD, y, style);
  rightAligned(doc, view.columns.amount.toUpperCase(), COLUMNS.amountRight - PAD, y, style);
  c.y += h + 2;
}

function linesTable(c: Cursor): void {
  const { doc, view } = c;
  const descWidth = COLUMNS.description - 2 * PAD;
  const textStyle: Style = { size: 9 };
  const periodStyle: Style = { size: 7.5, color: COLOR.muted };
  if (c.y + 22 + 30 > c.bottom) newPage(c);
  tableHeader(c);
  for (const line of view.lines) {
    const descHeight = measure(doc, line.description, descWidth, textStyle);
    const periodHeight = line.period === '' ? 0 : measure(doc, line.period, descWidth, periodStyle) + 1;
    const height = Math.max(descHeight + periodHeight, 11) + 2 * PAD;
    if (c.y + height > c.bottom) {
      newPage(c);
      tableHeader(c);
    }
    const top = c.y + PAD;
    block(doc, line.description, LEFT + PAD, top, descWidth, textStyle);
    if (line.period !== '') block(doc, line.period, LEFT + PAD, top + descHeight + 1, descWidth, periodStyle);
    rightAligned(doc, line.quantity, COLUMNS.qtyRight - PAD, top, textStyle);
    rightAligned(doc, line.unitPrice, COLUMNS.unitRight - PAD, top, textStyle);
    rightAligned(doc, line.taxRate, COLUMNS.taxRight - PAD, top, textStyle);
    rightAligned(doc, line.amount, COLUMNS.amountRight - PAD, top, textStyle);
    c.y += height;
    rule(doc, c.y, COLOR.rule, 0.5);
  }
}

const TAX_TABLE = { width: 262, taxableRight: LEFT + 262 - 62, taxRight: LEFT + 262 } as const;
const TOTALS = { left: RIGHT - 214, width: 214 } as const;

function taxSummaryHeight(c: Cursor): number {
  if (c.view.taxRows.length === 0) return 0;
  const labelWidth = TAX_TABLE.taxableRight - 96 - LEFT - PAD;
  return (
    20 +
    c.view.taxRows.reduce(
      (sum, row) => sum + Math.max(measure(c.doc, row.label, labelWidth, { size: 8.5 }), 10) + 9,
      0,
    )
  );
}

function drawTaxSummary(c: Cursor, top: number): void {
  const { doc, view } = c;
  if (view.taxRows.length === 0) return;
  const labelWidth = TAX_TABLE.taxableRight - 96 - LEFT - PAD;
  const header: Style = { font: 'bold', size: 7, color: COLOR.muted };
  fillRect(doc, LEFT, top, TAX_TABLE.width, 18, COLOR.fill);
  rule(doc, top + 18, COLOR.accent, 1, LEFT, LEFT + TAX_TABLE.width);
  block(doc, view.taxColumns.label.toUpperCase(), LEFT + PAD, top + 6, labelWidth, header);
  rightAligned(doc, view.taxColumns.taxable.toUpperCase(), TAX_TABLE.taxableRight - PAD, top + 6, header);
  rightAligned(doc, view.taxColumns.tax.toUpperCase(), TAX_TABLE.taxRight - PAD, top + 6, header);
  let y = top + 20;
  for (const row of view.taxRows) {
    const h = Math.max(measure(doc, row.label, labelWidth, { size: 8.5 }), 10) + 9;
    block(doc, row.label, LEFT + PAD, y + 4.5, labelWidth, { size: 8.5 });
    rightAligned(doc, row.taxable, TAX_TABLE.taxableRight - PAD, y + 4.5, { size: 8.5 });
    rightAligned(doc, row.tax, TAX_TABLE.taxRight - PAD, y + 4.5, { size: 8.5 });
    y += h;
    rule(doc, y, COLOR.rule, 0.5, LEFT, LEFT + TAX_TABLE.width);
  }
}

const TOTAL_ROW = 17;
const DUE_ROW = 26;

function totalsHeight(c: Cursor): number {
  return c.view.totals.length * TOTAL_ROW + 6 + DUE_ROW;
}

function drawTotals(c: Cursor, top: number): void {
  const { doc, view } = c;
  let y = top + 2;
  view.totals.forEach((row, index) => {
    const last = index === view.totals.length - 1;
    if (last) rule(doc, y - 1, COLOR.ink, 0.8, TOTALS.left, RIGHT);
    const style: Style = last ? { font: 'bold', size: 9.5 } : { size: 9.5 };
    block(doc, row.label, TOTALS.left + PAD, y + 3, 110, last ? style : { ...style, color: COLOR.muted });
    rightAligned(doc, row.value, RIGHT - PAD, y + 3, style);
    y += TOTAL_ROW;
  });
  y += 6;
  fillRect(doc, TOTALS.left, y, TOTALS.width, DUE_ROW, COLOR.accent);
  const due: Style = { font: 'bold', size: 11, color: COLOR.white };
  block(doc, view.amountDue.label, TOTALS.left + PAD + 2, y + 7.5, 110, due);
  rightAligned(doc, view.amountDue.value, RIGHT - PAD - 2, y + 7.5, due);
}

function summary(c: Cursor): void {
  const height = Math.max(taxSummaryHeight(c), totalsHeight(c));
  c.y += 18;
  if (c.y + height > c.bottom) newPage(c);
  drawTaxSummary(c, c.y);
  drawTotals(c, c.y);
  c.y += height;
}

function conversion(c: Cursor): void {
  const text = c.view.conversion;
  if (text === null) return;
  const style: Style = { size: 8.5, color: COLOR.muted };
  const height = measure(c.doc, text, CONTENT_WIDTH, style);
  c.y += 10;
  if (c.y + height > c.bottom) newPage(c);
  c.y += block(c.doc, text, LEFT, c.y, CONTENT_WIDTH, style, 'right');
}

function legalNotes(c: Cursor): void {
  const { doc, view } = c;
  if (view.legalNotes.length === 0) return;
  const inner = CONTENT_WIDTH - 2 * 12 - 3;
  const noteStyle: Style = { font: 'bold', size: 9 };
  const heights = view.legalNotes.map((note) => measure(doc, note, inner, noteStyle));
  const height = 12 + 12 + heights.reduce((sum, h) => sum + h + 4, 0) + 7;
  c.y += 20;
  if (c.y + height > c.bottom) newPage(c);
  fillRect(doc, LEFT, c.y, CONTENT_WIDTH, height, COLOR.noteFill);
  doc.save().rect(LEFT, c.y, CONTENT_WIDTH, height).lineWidth(0.6).strokeColor('#ecd9b0').stroke().restore();
  fillRect(doc, LEFT, c.y, 3, height, COLOR.noteBar);
  block(doc, LABELS.notes.toUpperCase(), LEFT + 15, c.y + 10, inner, {
    font: 'bold',
    size: 7.5,
    color: COLOR.muted,
  });
  let y = c.y + 24;
  view.legalNotes.forEach((note, index) => {
    block(doc, note, LEFT + 15, y, inner, noteStyle);
    y += (heights[index] ?? 0) + 4;
  });
  c.y += height;
}

function footerHeight(doc: Doc, view: PrintedDocument): number {
  return Math.max(measure(doc, view.footer ?? '', CONTENT_WIDTH - 150, { size: 7.5 }), 10);
}

/** The footer of every page, once the page count is known. */
function footers(doc: Doc, view: PrintedDocument): void {
  const range = doc.bufferedPageRange();
  const height = footerHeight(doc, view);
  for (let i = range.start; i < range.start + range.count; i += 1) {
    doc.switchToPage(i);
    // Writing below the bottom margin would make pdfkit open a new page.
    const margins = doc.page.margins;
    doc.page.margins = { ...margins, bottom: 0 };
    const top = PAGE.height - FOOTER_BOTTOM - height;
    rule(doc, top - 7, COLOR.rule, 0.5);
    block(doc, view.footer ?? '', LEFT, top, CONTENT_WIDTH - 150, { size: 7.5, color: COLOR.muted });
    rightAligned(doc, `${view.number} · ${LABELS.page(i - range.start + 1, range.count)}`, RIGHT, top, {
      size: 7.5,
      color: COLOR.muted,
    });
    doc.page.margins = margins;
  }
}

/** Midnight UTC of a 'YYYY-MM-DD' date: the PDF's creation date, so the same document gives the same bytes. */
function documentDate(isoDate: string): Date {
  const date = new Date(`${isoDate}T00:00:00.000Z`);
  return Number.isNaN(date.getTime()) ? new Date(0) : date;
}

export function renderInvoicePdf(document: InvoiceDocument): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    try {
      const view = printDocument(document);
      const created = documentDate(document.issueDate);
      const doc = new PDFDocument({
        size: 'A4',
        margins: { top: MARGIN.top, left: MARGIN.left, right: MARGIN.right, bottom: 20 },
        bufferPages: true,
        autoFirstPage: false,
        lang: view.lang,
        displayTitle: true,
        info: {
          Title: `${view.heading} – ${view.seller.name}`,
          Author: view.seller.name,
          Subject: `${view.heading} for ${view.buyer.name}`,
          Creator: 'Ledgerline',
          Producer: 'Ledgerline (PDFKit)',
          CreationDate: created,
          ModDate: created,
        },
      });
      const chunks: Buffer[] = [];
      doc.on('data', (chunk: Buffer) => chunks.push(chunk));
      doc.on('end', () => resolve(Buffer.concat(chunks)));
      doc.on('error', reject);

      const data = fonts();
      doc.registerFont('regular', data.regular);
      doc.registerFont('bold', data.bold);
      doc.addPage();
      const bottom = PAGE.height - FOOTER_BOTTOM - footerHeight(doc, view) - FOOTER_GAP - 8;
      const cursor: Cursor = { doc, y: MARGIN.top, bottom, view };
      firstPageHeader(cursor);
      partiesRow(cursor);
      linesTable(cursor);
      summary(cursor);
      conversion(cursor);
      legalNotes(cursor);
      footers(doc, view);
      doc.end();
    } catch (error) {
      reject(error instanceof Error ? error : new Error(String(error)));
    }
  });
}
