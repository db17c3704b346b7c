import { createPool } from './pool';
import { migrate } from './migrate';

/** `npm run migrate`: applies pending migrations as the schema owner (MIGRATION_DATABASE_URL). */
async function main(): Promise<void> {
  const url = process.env.MIGRATION_DATABASE_URL;
  if (url === undefined || url === '')
    throw new Error('MIGRATION_DATABASE_URL is not set (see .env.example)');
  const pool = createPool(url, { max: 1 });
  try {
    const report = await migrate(pool, (line) => console.log(`    ${line}`));
    console.log(
      `    migrations: ${report.applied.length} applied, ${report.alreadyApplied} already in place`,
    );
  } finally {
    await pool.end();
  }
}

main().catch((error: unknown) => {
  console.error(`ERROR: ${(error as Error).message}`);
  process.exit(1);
});
