import path from 'node:path';
import type { Pool } from 'pg';
import type { IngestThreadsOptions } from '../../src/usage/ingest-threads';
import { migrate } from '../../src/db/migrate';
import { createPool } from '../../src/db/pool';
import { createTenantWithApiKey, type CreatedTenant } from '../../src/db/tenants';

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set; run the tests with npm test`);
  return value;
}

/**
 * Two ingest threads on the test database, running the real thread code from the TypeScript sources
 * (test/support/ingest-thread-entry.js), as the API server runs the compiled one.
 */
export function testIngestThreads(): IngestThreadsOptions {
  return {
    count: 2,
    databaseUrl: required('TEST_DATABASE_URL'),
    poolSize: 2,
    entry: path.join(__dirname, 'ingest-thread-entry.js'),
  };
}

/** Migrates the test database as the owner, then hands out a pool of the non-owner application role. */
export async function migratedAppPool(): Promise<{ app: Pool; owner: Pool }> {
  const owner = createPool(required('TEST_MIGRATION_DATABASE_URL'), { max: 2 });
  await migrate(owner);
  const app = createPool(required('TEST_DATABASE_URL'), { max: 10 });
  return { app, owner };
}

/** Every test makes its own tenants, so tests never see each other's rows and need no cleanup. */
export async function createTestTenant(pool: Pool, name = 'Test tenant'): Promise<CreatedTenant> {
  return createTenantWithApiKey(pool, { name, mode: 'test' });
}
