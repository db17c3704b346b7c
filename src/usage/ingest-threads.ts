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
}

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

/** An error thrown on a thread, as it crosses back: the host rethrows it as an Error of that name. */
export interface ThreadError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** A Postgres SQLSTATE, when the error is the database's. */
  readonly code?: string;
}

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
  readonly exited: Promise<void>;
}

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
      const worker = new Worker(entry, { workerData: data });
      const thread: Thread = {
        worker,
        inFlight: 0,
        exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())),
      };
      worker.on('message', (message: ThreadMessage) => this.receive(thread, message));
      worker.on('error', (error) => this.onError(error));
      worker.on('exit', (code) => {
        if (this.stopping !== null) return;
        // A crash, not an ingest error (those come back as 'failed'): its requests get a 500, what
        // they had committed stays committed (the client's retry is deduplicated), and a new thread
        // takes its place.
        this.onError(new Error(`ingest thread exited with code ${code}; starting another`));
        for (const [id, request] of this.requests) {
          if (request.thread === thread) {
            this.settle(id, (r) => r.reject(new Error('the ingest thread stopped during the request')));
          }
        }
        this.threads[index] = spawn(index);
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
    const thread = this.threads.reduce((best, candidate) =>
      candidate.inFlight < best.inFlight ? candidate : best,
    );
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
    return new Promise<IngestOutcome>((resolve, reject) => {
      this.requests.set(id, { thread, takeTokens, resolve, reject });
      thread.inFlight += 1;
      thread.worker.postMessage(message, [own.buffer as ArrayBuffer]);
    });
  }

  /** A meter was created: every thread reloads the tenant's meters before its next batch. */
  invalidateMeters(tenantId: string): void {
    const message: HostMessage = { op: 'invalidateMeters', tenantId };
    for (const { worker } of this.threads) worker.postMessage(message);
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
    else this.settle(message.id, (r) => r.reject(errorOf(message.error)));
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

function errorOf(thrown: ThreadError): Error {
  const error = new Error(thrown.message) as Error & { code?: string };
  error.name = thrown.name;
  if (thrown.stack !== undefined) error.stack = thrown.stack;
  if (thrown.code !== undefined) error.code = thrown.code;
  return error;
}
