import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createPool } from '../db/pool';

/** Worker process: runs subscription workflows and their activities on the subscriptions task queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'ledgerline-worker');
  const pool = createPool(config.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ pool }),
    shutdownGraceTime: '10 seconds',
  });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE }, 'worker started');
  // Worker.run() resolves after SIGINT/SIGTERM (the SDK installs those handlers) once in-flight tasks finish.
  await worker.run();
  await Promise.allSettled([pool.end(), connection.close()]);
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
