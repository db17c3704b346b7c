import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Express } from 'express';
import type { Pool } from 'pg';
import request from 'supertest';
import { accountBalances } from '../../src/db/ledger';
import { withTenant } from '../../src/db/with-tenant';
import { apiAs, type ApiHarness } from './api-harness';
import { createTestTenant } from './db';

// Sellers, ledger reads and document text shared by the tax and credit-note specifications.

const run = promisify(execFile);

/** A German company registered for the EU One-Stop Shop, accounting in EUR. */
export const GERMAN_SELLER = {
  legal_name: 'Ledgerline Demo GmbH',
  address: { line1: 'Friedrichstraße 68', postal_code: '10117', city: 'Berlin', country: 'DE' },
  tax_ids: [{ type: 'eu_vat', value: 'DE136695976' }],
  registrations: { eu_oss: true },
  reporting_currency: 'EUR',
};

/** A French company registered for the EU One-Stop Shop, accounting in EUR. */
export const FRENCH_SELLER = {
  legal_name: 'Ledgerline Demo SAS',
  address: { line1: '10 rue de la Paix', postal_code: '75002', city: 'Paris', country: 'FR' },
  tax_ids: [{ type: 'eu_vat', value: 'FR40303265045' }],
  registrations: { eu_oss: true },
  reporting_currency: 'EUR',
};

export interface Seller {
  readonly tenantId: string;
  readonly secret: string;
  readonly api: ReturnType<typeof apiAs>;
}

/** A new tenant whose tax profile is `profile` (PUT /v1/tax_profile). */
export async function sellerWith(h: Pick<ApiHarness, 'app' | 'pools'>, profile: object): Promise<Seller> {
  const created = await createTestTenant(h.pools.app);
  const api = apiAs(h, { id: created.tenant.id, key: created.apiKey.secret });
  const saved = await api.put('/v1/tax_profile', profile);
  if (saved.status !== 200) throw new Error(`PUT /v1/tax_profile: ${JSON.stringify(saved.body)}`);
  return { tenantId: created.tenant.id, secret: created.apiKey.secret, api };
}

/** What the tenant owes tax offices in `currency`, from its ledger. */
export async function taxPayableMinor(pool: Pool, tenantId: string, currency: string): Promise<number> {
  const balances = await withTenant(pool, tenantId, (db) => accountBalances(db, { currency }));
  return balances.filter((row) => row.code === 'tax_payable').reduce((sum, row) => sum + row.balanceMinor, 0);
}

/** A PDF served at `url`, as its reader's tools see it: pdftotext -layout, whitespace collapsed. */
export async function pdfTextAt(app: Express, secret: string, url: string): Promise<string> {
  const res = await request(app)
    .get(url)
    .set('Authorization', `Bearer ${secret}`)
    .buffer(true)
    .parse((response, callback) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => callback(null, Buffer.concat(chunks)));
    });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  if (!String(res.headers['content-type']).startsWith('application/pdf')) {
    throw new Error(`GET ${url}: ${String(res.headers['content-type'])} is not a PDF`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ledgerline-pdf-'));
  try {
    const file = path.join(dir, 'document.pdf');
    await writeFile(file, res.body as Buffer);
    const { stdout } = await run('pdftotext', ['-layout', file, '-']).catch((error: unknown) => {
      throw new Error(`pdftotext failed (install it with scripts/bootstrap/poppler.sh): ${String(error)}`);
    });
    return stdout.replace(/\s+/g, ' ');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
