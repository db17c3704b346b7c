import type { Router } from 'express';
import type { Pool, PoolClient } from 'pg';
import { withTenant } from '../db/with-tenant';
import { renderInvoiceHtml, renderInvoicePdf } from '../documents';
import type { InvoiceDocument } from '../documents/invoice-document';
import { authOf } from './auth';
import { notFound } from './problem';

/**
 * `GET /:id/pdf` and `GET /:id/html` for a document resource (invoices, credit notes): HTML for a
 * browser or an email body, PDF to send or archive. Both are rendered from what was recorded when the
 * document was issued, so they are the same every time they are asked for. `load` answers null for
 * what is not a document (an unknown id, or a draft, which has no number yet): a 404.
 */
export function addDocumentRoutes(
  router: Router,
  pool: Pool,
  resource: 'invoice' | 'credit_note',
  load: (db: PoolClient, id: string) => Promise<InvoiceDocument | null>,
): void {
  const documentOrThrow = async (tenantId: string, id: string): Promise<InvoiceDocument> => {
    const document = await withTenant(pool, tenantId, (db) => load(db, id));
    if (document === null) throw notFound(resource, id);
    return document;
  };
  router.get('/:id/pdf', async (req, res) => {
    const document = await documentOrThrow(authOf(res).tenantId, String(req.params.id));
    const pdf = await renderInvoicePdf(document);
    res
      .status(200)
      .type('application/pdf')
      .set('Content-Disposition', `inline; filename="${document.number}.pdf"`)
      .send(pdf);
  });
  router.get('/:id/html', async (req, res) => {
    const document = await documentOrThrow(authOf(res).tenantId, String(req.params.id));
    res.status(200).type('text/html; charset=utf-8').send(renderInvoiceHtml(document));
  });
}
