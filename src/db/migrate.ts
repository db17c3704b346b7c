import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Pool } from 'pg';

// Both src/db and dist/db sit two levels below the repository root, so the SQL files are found
// from either without copying them into dist.
export const MIGRATIONS_DIR = path.resolve(__dirname, '../../src/db/migrations');

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
  readonly checksum: string;
}

export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((file) => file.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new Error(`Migration file name must look like 0001_name.sql: ${file}`);
    const sql = await readFile(path.join(dir, file), 'utf8');
    migrations.push({
      version: Number(match[1]),
      name: match[2] ?? file,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    });
  }
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `Migrations must be numbered 1..n without gaps; found ${migration.version} at position ${index + 1}`,
      );
    }
  });
  return migrations;
}

export interface MigrationReport {
  readonly applied: string[];
  readonly alreadyApplied: number;
}

/**
 * Applies pending migrations in order, each in its own transaction, as the schema owner.
 * A session advisory lock makes concurrent runners (two workers starting at once) wait rather than race,
 * and a changed checksum of an applied migration stops everything: history is never rewritten.
 */
export async function migrate(
  ownerPool: Pool,
  log: (line: string) => void = () => undefined,
): Promise<MigrationReport> {
  const migrations = await loadMigrations();
  const client = await ownerPool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext('ledgerline:migrations'))");
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM schema_migrations ORDER BY version',
    );
    const appliedChecksums = new Map(rows.map((row) => [row.version, row.checksum]));
    const applied: string[] = [];
    for (const migration of migrations) {
      const known = appliedChecksums.get(migration.version);
      if (known !== undefined) {
        if (known !== migration.checksum) {
          throw new Error(
            `Migration ${migration.version}_${migration.name} changed after it was applied; add a new migration instead`,
          );
        }
        continue;
      }
      log(`applying migration ${migration.version}_${migration.name}`);
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)', [
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(
          `Migration ${migration.version}_${migration.name} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      }
      applied.push(`${migration.version}_${migration.name}`);
    }
    return { applied, alreadyApplied: appliedChecksums.size };
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext('ledgerline:migrations'))").catch(() => undefined);
    client.release();
  }
}
