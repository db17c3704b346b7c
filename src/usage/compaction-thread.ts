// The background rollup compactor on its own thread. Folding deltas and publishing them to Redis is
// a steady load that grows with the number of active (meter, customer, hour) rows, not with requests;
// on the API's event loop it competed with ingestion for one core (BENCHMARKS.md, ADR 0008 §23). A
// worker thread gives it its own event loop, pool and Redis connection inside the same process, so a
// deployment still starts one API process per container.
//
// Correctness does not depend on where the loop runs: folds of one tenant are serialised by its
// advisory lock, and every fold queues its result until published, so an exact read in the API thread
// publishes whatever a fold elsewhere has committed but not yet published (rollup-compactor.ts).

import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { errorOfThread, type ThreadError } from './thread-errors';

export interface CompactionThreadConfig {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly intervalMs: number;
}

export interface CompactionThread {
  /** Asks the loop to finish its pass and publishes, then waits for the thread to exit. */
  stop(): Promise<void>;
}

/**
 * Starts the loop in a worker thread running compaction-thread-main.js from the compiled output (the
 * thread cannot run TypeScript; tests drive runCompactionLoop in compaction-loop.ts directly).
 */
export function startCompactionThread(
  config: CompactionThreadConfig,
  onError: (error: Error) => void,
): CompactionThread {
  const worker = new Worker(path.join(__dirname, 'compaction-thread-main.js'), { workerData: config });
  // Each error of a pass, posted by the thread; the host logs it (by name: thread-errors.ts).
  worker.on('message', (message: ThreadError) => onError(errorOfThread(message)));
  worker.on('error', onError);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    stop: async () => {
      worker.postMessage('stop');
      await exited;
    },
  };
}
