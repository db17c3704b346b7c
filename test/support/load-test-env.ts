import os from 'node:os';
import path from 'node:path';

// Defaults that match scripts/test.sh, so `npx jest test/integration/...` works once `npm test` has
// brought the services up at least once. scripts/test.sh exports the same names explicitly.
const cache = process.env.LEDGERLINE_CACHE ?? path.join(os.homedir(), '.cache', 'ledgerline');
const defaults: Record<string, string> = {
  TEST_DATABASE_URL: 'postgres://ledgerline_app:ledgerline_app@127.0.0.1:5432/ledgerline_test',
  TEST_MIGRATION_DATABASE_URL: 'postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:5432/ledgerline_test',
  TEST_REDIS_URL: 'redis://127.0.0.1:6379/15',
  TEMPORAL_CLI_PATH: path.join(cache, 'bin', 'temporal'),
  TEMPORAL_TEST_SERVER_PATH: path.join(cache, 'bin', 'temporal-test-server'),
};
for (const [name, value] of Object.entries(defaults)) process.env[name] ??= value;
