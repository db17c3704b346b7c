// Invoices and credit notes as documents a customer receives: the data contract and its renderers.
export type { DocumentLine, DocumentParty, DocumentTaxRow, InvoiceDocument } from './invoice-document';
export { renderInvoiceHtml } from './html';
export { renderInvoicePdf } from './pdf';
