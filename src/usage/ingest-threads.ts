// Ingestion's per-event work on worker threads. Parsing a batch's JSON, validating each event, summing
// its contributions and writing the segment's text took the API's event loop to full utilisation at
// ~100,000 events/s while part of the machine idled (ADR 0008 §30): everything that runs per event
// now runs on one of these threads, each with its own event loop and Postgres pool. The event loop
// that serves HTTP keeps what is per request: authentication, the rate limit (its tokens are asked
// for by the thread once it has counted the events, and taken here, where the limit's configuration
// lives), the response, and the threshold watcher's queue.
//
// Correctness does not depend on the threads: the dedupe decision is the database's unique key, as on
// the event loop. They share the recent-ids memory (a SharedArrayBuffer), so a retry is predicted
// "seen" whichever thread receives it, as it was with one event loop.

import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BodyShape, IngestOutcome, TakeTokens } from './ingest-body';
import type { RateDecision } from './rate-limit';
import type { RecentEventIdsMemory } from './recent-event-ids';
import { errorOfThread, type ThreadError } from './thread-errors';

export interface IngestThreadsOptions {
  /** Threads to start (each a V8 isolate of ~20 MB and its own Postgres pool). */
  readonly count: number;
  readonly databaseUrl: string;
  /** Postgres connections per thread (default 4). */
  readonly poolSize?: number;
  /**
   * The thread's entry module: by default the compiled ingest-thread-main.js next to this file. Tests
   * pass one that loads the TypeScript sources (test/support/ingest-thread-entry.js).
   */
  readonly entry?: string;
  /** Each thread's young generation (default DEFAULT_YOUNG_GENERATION_MB). */
  readonly youngGenerationMb?: number;
}

/**
 * 48 MB (16 MB semi-spaces) rather than the process's --max-semi-space-size=64 (meant for the HTTP
 * event loop): a thread's live request data is a few batches, and the smaller nursery stays in cache.
 * Measured at batch 1,000 (20 s runs, alternating): 2–15 % more events/s in each of 4 pairs.
 */
export const DEFAULT_YOUNG_GENERATION_MB = 48;

/** What each thread is started with (workerData). */
export interface IngestThreadData {
  readonly databaseUrl: string;
  readonly poolSize: number;
  readonly meterCacheTtlMs: number;
  readonly recentIds: RecentEventIdsMemory;
}

export type HostMessage =
  | {
      readonly op: 'ingest';
      readonly id: number;
      readonly tenantId: string;
      readonly shape: BodyShape;
      readonly body: Uint8Array;
    }
  | { readonly op: 'tokens'; readonly id: number; readonly decision: RateDecision }
  /** The host gave up on the request (its tokens could not be taken): the thread drops it. */
  | { readonly op: 'abort'; readonly id: number }
  | { readonly op: 'invalidateMeters'; readonly tenantId: string }
  | { readonly op: 'stop' };

export type ThreadMessage =
  | { readonly op: 'tokens'; readonly id: number; readonly events: number }
  | { readonly op: 'done'; readonly id: number; readonly outcome: IngestOutcome }
  | { readonly op: 'failed'; readonly id: number; readonly error: ThreadError };

interface InFlight {
  readonly thread: Thread;
  readonly takeTokens: TakeTokens;
  readonly resolve: (outcome: IngestOutcome) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  inFlight: number;
  /** False once it exited: it takes no requests, and a replacement is on its way. */
  alive: boolean;
  readonly exited: Promise<void>;
}

/** A thread that dies sooner than this after its start is replaced only after RESPAWN_DELAY_MS. */
const STABLE_AFTER_MS = 10_000;
const RESPAWN_DELAY_MS = 1_000;

export class IngestThreads {
  private readonly threads: Thread[];
  private readonly requests = new Map<number, InFlight>();
  private nextId = 1;
  private stopping: Promise<void> | null = null;

  constructor(
    options: IngestThreadsOptions,
    shared: { readonly recentIds: RecentEventIdsMemory; readonly meterCacheTtlMs: number },
    private readonly onError: (error: unknown) => void,
  ) {
    if (!Number.isInteger(options.count) || options.count < 1) throw new RangeError('count must be ≥ 1');
    const data: IngestThreadData = {
      databaseUrl: options.databaseUrl,
      poolSize: options.poolSize ?? 4,
      meterCacheTtlMs: shared.meterCacheTtlMs,
      recentIds: shared.recentIds,
    };
    const entry = options.entry ?? path.join(__dirname, 'ingest-thread-main.js');
    const spawn = (index: number): Thread => {
      const startedAt = Date.now();
      const worker = new Worker(entry, {
        workerData: data,
        resourceLimits: {
          maxYoungGenerationSizeMb: options.youngGenerationMb ?? DEFAULT_YOUNG_GENERATION_MB,
        },
      });
      const thread: Thread = {
        worker,
        inFlight: 0,
        alive: true,
        exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())),
      };
      worker.on('message', (message: ThreadMessage) => this.receive(thread, message));
      worker.on('error', (error) => this.onError(error));
      worker.on('exit', (code) => {
        thread.alive = false;
        if (this.stopping !== null) return;
        // A crash, not an ingest error (those come back as 'failed'): its requests get a 500, what
        // they had committed stays committed (the client's retry is deduplicated), and a new thread
        // takes its place — after a pause if it died young, so a thread that cannot start (a missing
        // build, a bad DATABASE_URL) does not spin.
        this.onError(new Error(`ingest thread exited with code ${code}; starting another`));
        for (const [id, request] of this.requests) {
          if (request.thread === thread) {
            this.settle(id, (r) => r.reject(new Error('the ingest thread stopped during the request')));
          }
        }
        const respawn = () => {
          if (this.stopping === null) this.threads[index] = spawn(index);
        };
        if (Date.now() - startedAt >= STABLE_AFTER_MS) respawn();
        else setTimeout(respawn, RESPAWN_DELAY_MS).unref();
      });
      return thread;
    };
    this.threads = Array.from({ length: options.count }, (_, index) => spawn(index));
  }

  /** Ingests one request's body on the least busy thread. */
  ingest(
    tenantId: string,
    body: Uint8Array,
    shape: BodyShape,
    takeTokens: TakeTokens,
  ): Promise<IngestOutcome> {
    if (this.stopping !== null) return Promise.reject(new Error('the ingest threads are stopping'));
    let thread: Thread | undefined;
    for (const candidate of this.threads) {
      if (candidate.alive && (thread === undefined || candidate.inFlight < thread.inFlight))
        thread = candidate;
    }
    if (thread === undefined) return Promise.reject(new Error('no ingest thread is running (see the log)'));
    const id = this.nextId;
    this.nextId += 1;
    // A body that owns its whole ArrayBuffer moves to the thread without a copy; a slice of a pooled
    // buffer (small bodies) is copied, since moving it would take its neighbours along.
    const own =
      body.byteOffset === 0 &&
      body.byteLength === body.buffer.byteLength &&
      body.buffer instanceof ArrayBuffer
        ? body
        : new Uint8Array(body);
    const message: HostMessage = { op: 'ingest', id, tenantId, shape, body: own };
    const chosen = thread;
    return new Promise<IngestOutcome>((resolve, reject) => {
      this.requests.set(id, { thread: chosen, takeTokens, resolve, reject });
      chosen.inFlight += 1;
      chosen.worker.postMessage(message, [own.buffer as ArrayBuffer]);
    });
  }

  /** A meter was created: every thread reloads the tenant's meters before its next batch. */
  invalidateMeters(tenantId: string): void {
    const message: HostMessage = { op: 'invalidateMeters', tenantId };
    for (const { worker, alive } of this.threads) if (alive) worker.postMessage(message);
  }

  /** Lets every request in flight finish, then ends the threads (and their pools). */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const message: HostMessage = { op: 'stop' };
      for (const { worker } of this.threads) worker.postMessage(message);
      await Promise.all(this.threads.map((thread) => thread.exited));
    })();
    return this.stopping;
  }

  private receive(thread: Thread, message: ThreadMessage): void {
    const request = this.requests.get(message.id);
    if (request === undefined) return;
    if (message.op === 'tokens') {
      void request.takeTokens(message.events).then(
        (decision) =>
          thread.worker.postMessage({ op: 'tokens', id: message.id, decision } satisfies HostMessage),
        // The limiter fails open (rate-limit.ts); anything else is a bug worth a 500, not a hang.
        (error: unknown) => {
          thread.worker.postMessage({ op: 'abort', id: message.id } satisfies HostMessage);
          this.settle(message.id, (r) => r.reject(asError(error)));
        },
      );
      return;
    }
    if (message.op === 'done') this.settle(message.id, (r) => r.resolve(message.outcome));
    else this.settle(message.id, (r) => r.reject(errorOfThread(message.error)));
  }

  private settle(id: number, finish: (request: InFlight) => void): void {
    const request = this.requests.get(id);
    if (request === undefined) return;
    this.requests.delete(id);
    request.thread.inFlight -= 1;
    finish(request);
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
