// Entry point of the compaction worker thread (compaction-thread.ts): runs the loop until the host
// posts 'stop', and reports each error to the host, which logs it.

import { parentPort, workerData } from 'node:worker_threads';
import { runCompactionLoop, type CompactionLoopConfig } from './compaction-loop';
import type { CompactionThreadError } from './compaction-thread';

const port = parentPort;
if (port === null) throw new Error('compaction-thread-main runs only as a worker thread');

const loop = runCompactionLoop(workerData as CompactionLoopConfig, (error) => {
  const message: CompactionThreadError =
    error instanceof Error
      ? {
          kind: 'error',
          name: error.name,
          message: error.message,
          ...(error.stack === undefined ? {} : { stack: error.stack }),
        }
      : { kind: 'error', message: String(error) };
  port.postMessage(message);
});

port.on('message', (message) => {
  if (message !== 'stop') return;
  void loop.stop().then(() => port.close());
});
