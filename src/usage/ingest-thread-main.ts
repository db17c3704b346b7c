// Entry point of an ingest thread (ingest-threads.ts): ingests the bodies the host posts, each with the
// same code as the event loop would (ingest-body.ts), with this thread's own Postgres pool, customer
// resolutions and meter cache, and the process's shared recent-ids memory.

import { parentPort, workerData } from 'node:worker_threads';
import { createPool } from '../db/pool';
import { CustomerResolver } from './customer-resolver';
import { ingestBody } from './ingest-body';
import type { HostMessage, IngestThreadData, ThreadMessage } from './ingest-threads';
import { MeterCache } from './meter-repository';
import type { RateDecision } from './rate-limit';
import { RecentEventIds } from './recent-event-ids';
import { threadErrorOf } from './thread-errors';

const port = parentPort;
if (port === null) throw new Error('ingest-thread-main runs only as a worker thread');

const data = workerData as IngestThreadData;
const pool = createPool(data.databaseUrl, { max: data.poolSize });
// Postgres closing an idle connection is not a crash of this thread.
pool.on('error', () => undefined);
const customers = new CustomerResolver(pool, 100_000);
const meters = new MeterCache(pool, data.meterCacheTtlMs, Date.now);
const deps = {
  pool,
  customers,
  metersOf: (tenantId: string) => meters.metersOf(tenantId),
  recentIds: new RecentEventIds({ shared: data.recentIds }),
};

/** Requests waiting for the host's rate-limit decision. */
const awaitingTokens = new Map<number, { resolve: (d: RateDecision) => void; reject: (e: Error) => void }>();
const inFlight = new Set<Promise<void>>();

const post = (message: ThreadMessage) => port.postMessage(message);

async function ingest(message: Extract<HostMessage, { op: 'ingest' }>): Promise<void> {
  const { id } = message;
  try {
    const outcome = await ingestBody(
      deps,
      message.tenantId,
      message.body,
      message.shape,
      (events) =>
        new Promise<RateDecision>((resolve, reject) => {
          awaitingTokens.set(id, { resolve, reject });
          post({ op: 'tokens', id, events });
        }),
      Date.now,
    );
    post({ op: 'done', id, outcome });
  } catch (error) {
    post({ op: 'failed', id, error: threadErrorOf(error) });
  }
}

port.on('message', (message: HostMessage) => {
  switch (message.op) {
    case 'ingest': {
      const work = ingest(message).finally(() => inFlight.delete(work));
      inFlight.add(work);
      break;
    }
    case 'tokens':
    case 'abort': {
      const waiting = awaitingTokens.get(message.id);
      awaitingTokens.delete(message.id);
      if (message.op === 'tokens') waiting?.resolve(message.decision);
      else waiting?.reject(new Error('the host abandoned the request'));
      break;
    }
    case 'invalidateMeters':
      meters.invalidate(message.tenantId);
      break;
    case 'stop':
      void Promise.allSettled([...inFlight])
        .then(() => pool.end())
        .finally(() => port.close());
      break;
  }
});
