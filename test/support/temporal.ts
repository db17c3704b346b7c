import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { existsSync } from 'node:fs';
import { SearchAttributes } from '../../src/workflows/contracts';

function executable(envName: string, hint: string): string {
  const path = process.env[envName];
  if (path === undefined || !existsSync(path)) {
    throw new Error(`${envName} (${path ?? 'unset'}) does not exist: run \`npm test\` (it runs ${hint})`);
  }
  return path;
}

/**
 * The official Java time-skipping server, installed by scripts/bootstrap/test-server.sh; never downloaded.
 * It starts with no custom search attributes, and workflows upsert SubscriptionStatus, so register ours.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: {
      executable: {
        type: 'existing-path',
        path: executable('TEMPORAL_TEST_SERVER_PATH', 'scripts/bootstrap/test-server.sh'),
      },
    },
  });
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.values(SearchAttributes).map((key) => [key.name, keyword])),
  });
  return env;
}

/** The Temporal CLI dev server (real visibility, search attributes, updates), on a free port, in memory. */
export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: {
        type: 'existing-path',
        path: executable('TEMPORAL_CLI_PATH', 'scripts/bootstrap/temporal-cli.sh'),
      },
      ip: '127.0.0.1',
      searchAttributes: Object.values(SearchAttributes),
      extraArgs: ['--log-level', 'warn'],
    },
  });
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** Bundling takes seconds; do it once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: require.resolve('../../src/workflows'),
    logger: quietLogger,
  });
  return bundle;
}

const noop = (): void => undefined;
const quietLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, log: noop };
