import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { loadConfig, stripeGatewayConfig } from '../config/env';
import { createLogger } from '../config/logger';
import { createPool } from '../db/pool';
import { StripeGateway } from '../gateways/stripe-gateway';

/** Worker process: runs subscription workflows and their activities on the subscriptions task queue. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL, 'ledgerline-worker');
  const gateway = new StripeGateway(stripeGatewayConfig(config));
  const pool = createPool(config.DATABASE_URL);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ pool, gateway }),
    shutdownGraceTime: '10 seconds',
  });
  logger.info(
    { taskQueue: config.TEMPORAL_TASK_QUEUE, stripe: config.STRIPE_API_BASE?.host ?? 'api.stripe.com' },
    'worker started',
  );
  // Worker.run() resolves after SIGINT/SIGTERM (the SDK installs those handlers) once in-flight tasks finish.
  await worker.run();
  await Promise.allSettled([pool.end(), connection.close()]);
  logger.info('worker stopped');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
