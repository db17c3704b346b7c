import express, { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import type { EventFieldError } from '../../domain/usage/usage-event';
import type { IngestReport } from '../../usage/ingest';
import type { BodyShape, IngestOutcome } from '../../usage/ingest-body';
import type { UsageService } from '../../usage/usage-service';
import { authOf, requireApiKey } from '../auth';
import { PROBLEM_BASE_URI, PROBLEM_TYPES, ProblemError, type FieldError } from '../problem';

export interface EventRouteDeps {
  readonly pool: Pool;
  readonly usage: UsageService;
}

/**
 * A 10,000-event batch is several megabytes: this router brings its own body reader (mounted before
 * the global 1 MB JSON parser) and authenticates first, so an unauthenticated body is never read. It
 * reads the raw bytes: parsing them is per-event work, done where the events are ingested (an ingest
 * thread in the API server; ingest-body.ts).
 */
export const EVENTS_BODY_LIMIT = '16mb';

/** Field paths as the client wrote them: `events[3].timestamp`, or `timestamp` for a single event. */
function prefixed(prefix: string, errors: readonly EventFieldError[]): FieldError[] {
  return errors.map(({ field, message }) => ({
    field: field === '' ? prefix.replace(/\.$/, '') || 'body' : `${prefix}${field}`,
    message,
  }));
}

function rejectedEntry(index: number, errors: readonly EventFieldError[]) {
  const fieldErrors = prefixed(`events[${index}].`, errors);
  const first = fieldErrors[0] ?? { field: `events[${index}]`, message: 'invalid' };
  return {
    index,
    type: `${PROBLEM_BASE_URI}${PROBLEM_TYPES.validation.slug}`,
    title: PROBLEM_TYPES.validation.title,
    status: PROBLEM_TYPES.validation.status,
    detail: `${first.field}: ${first.message}`,
    field: first.field,
    errors: fieldErrors,
  };
}

function rateLimited(retryAfterSeconds: number): ProblemError {
  return new ProblemError(
    'rateLimited',
    `The tenant's ingestion rate limit is exhausted; retry after ${retryAfterSeconds} s`,
    { field: 'events', retry_after: retryAfterSeconds },
  );
}

/** The raw body, or a 415 unless it is JSON in UTF-8 (the one charset JSON allows, RFC 8259). */
function jsonBytes(req: Request): Uint8Array {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.get('content-type') ?? '')?.[1];
  if (!req.is('application/json') || (charset !== undefined && !/^utf-?8$/i.test(charset))) {
    throw new ProblemError('unsupportedMediaType', 'Send the body as application/json in UTF-8', {
      field: 'Content-Type',
    });
  }
  // express.raw leaves {} when there was no body at all.
  return Buffer.isBuffer(req.body) ? req.body : new Uint8Array(0);
}

/** The outcomes every shape answers alike: not JSON, the wrong shape, the rate limit. */
function ingestedOrThrow(outcome: IngestOutcome): Extract<IngestOutcome, { kind: 'ingested' }> {
  switch (outcome.kind) {
    case 'ingested':
      return outcome;
    case 'malformed':
      throw new ProblemError('malformedJson', 'The body could not be parsed as JSON', { field: 'body' });
    case 'rateLimited':
      throw rateLimited(outcome.retryAfterSeconds);
    case 'invalid': {
      const first = outcome.errors[0] ?? { field: 'body', message: 'invalid' };
      throw new ProblemError('validation', `${first.field}: ${first.message}`, {
        field: first.field,
        errors: [...outcome.errors],
      });
    }
  }
}

function batchBody(report: IngestReport) {
  return {
    object: 'event_ingestion',
    accepted_count: report.accepted.length,
    duplicate_count: report.duplicates.length,
    rejected_count: report.rejected.length,
    accepted: report.accepted,
    duplicates: report.duplicates,
    rejected: report.rejected.map(({ index, errors }) => rejectedEntry(index, errors)),
  };
}

export function eventsRouter({ pool, usage }: EventRouteDeps): Router {
  const router = Router();
  router.use(requireApiKey(pool));
  router.use(express.raw({ type: 'application/json', limit: EVENTS_BODY_LIMIT }));

  const ingest = async (req: Request, res: Response, shape: BodyShape) =>
    ingestedOrThrow(await usage.ingestBody(authOf(res).tenantId, jsonBytes(req), shape));

  router.post('/batch', async (req, res) => {
    const { report } = await ingest(req, res, 'batch');
    if (report.accepted.length === 0 && report.duplicates.length === 0) {
      // Nothing in the batch could be stored: an error, not a partial success.
      const errors = report.rejected.flatMap(({ index, errors: e }) => prefixed(`events[${index}].`, e));
      const first = errors[0] ?? { field: 'events', message: 'invalid' };
      throw new ProblemError(
        'validation',
        `No event was accepted; first problem: ${first.field}: ${first.message}`,
        {
          field: first.field,
          errors,
        },
      );
    }
    res.status(200).json(batchBody(report));
  });

  router.post('/', async (req, res) => {
    const { report, eventId } = await ingest(req, res, 'single');
    const rejected = report.rejected[0];
    if (rejected || eventId === undefined) {
      const errors = prefixed('', rejected?.errors ?? []);
      const first = errors[0] ?? { field: 'body', message: 'invalid' };
      throw new ProblemError('validation', `${first.field}: ${first.message}`, {
        field: first.field,
        errors,
      });
    }
    const duplicate = report.duplicates.length > 0;
    res
      .status(duplicate ? 200 : 201)
      .json({ object: 'event', id: eventId, status: duplicate ? 'duplicate' : 'accepted' });
  });
  return router;
}
