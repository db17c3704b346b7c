// Entry point of the compaction worker thread (compaction-thread.ts): runs the loop until the host
// posts 'stop', and reports each error to the host, which logs it.

import { parentPort, workerData } from 'node:worker_threads';
import { runCompactionLoop, type CompactionLoopConfig } from './compaction-loop';
import { threadErrorOf } from './thread-errors';

const port = parentPort;
if (port === null) throw new Error('compaction-thread-main runs only as a worker thread');

const loop = runCompactionLoop(workerData as CompactionLoopConfig, (error) =>
  port.postMessage(threadErrorOf(error)),
);

port.on('message', (message) => {
  if (message !== 'stop') return;
  void loop.stop().then(() => port.close());
});
