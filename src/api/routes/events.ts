import express, { Router, type Request } from 'express';
import type { Pool } from 'pg';
import type { EventFieldError } from '../../domain/usage/usage-event';
import { MAX_BATCH_EVENTS, type IngestReport } from '../../usage/ingest';
import type { UsageService } from '../../usage/usage-service';
import { authOf, requireApiKey } from '../auth';
import { PROBLEM_BASE_URI, PROBLEM_TYPES, ProblemError, type FieldError } from '../problem';

export interface EventRouteDeps {
  readonly pool: Pool;
  readonly usage: UsageService;
}

/**
 * A 10,000-event batch is several megabytes: this router brings its own body parser (mounted before
 * the global 1 MB one) and authenticates first, so an unauthenticated body is never read.
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

function requireJson(req: Request): void {
  if (!req.is('application/json')) {
    throw new ProblemError('unsupportedMediaType', 'Send the body as application/json', {
      field: 'Content-Type',
    });
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
  router.use(express.json({ limit: EVENTS_BODY_LIMIT }));

  router.post('/batch', async (req, res) => {
    requireJson(req);
    const body: unknown = req.body;
    const events =
      typeof body === 'object' && body !== null ? (body as { events?: unknown }).events : undefined;
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_BATCH_EVENTS) {
      throw new ProblemError('validation', `events: must be an array of 1..${MAX_BATCH_EVENTS} events`, {
        field: 'events',
        errors: [{ field: 'events', message: `must be an array of 1..${MAX_BATCH_EVENTS} events` }],
      });
    }
    const unknownKeys = Object.keys(body as object).filter((key) => key !== 'events');
    if (unknownKeys.length > 0) {
      throw new ProblemError('validation', `${unknownKeys[0]}: Unknown field`, {
        field: unknownKeys[0],
        errors: unknownKeys.map((field) => ({ field, message: 'Unknown field' })),
      });
    }
    const { tenantId } = authOf(res);
    const decision = await usage.takeIngestTokens(tenantId, events.length);
    if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
    const report = await usage.ingest(tenantId, events);
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
    requireJson(req);
    const { tenantId } = authOf(res);
    const decision = await usage.takeIngestTokens(tenantId, 1);
    if (!decision.allowed) throw rateLimited(decision.retryAfterSeconds);
    const report = await usage.ingest(tenantId, [req.body as unknown]);
    const rejected = report.rejected[0];
    if (rejected) {
      const errors = prefixed('', rejected.errors);
      const first = errors[0] ?? { field: 'body', message: 'invalid' };
      throw new ProblemError('validation', `${first.field}: ${first.message}`, {
        field: first.field,
        errors,
      });
    }
    const id = (req.body as { id: string }).id;
    const duplicate = report.duplicates.length > 0;
    res
      .status(duplicate ? 200 : 201)
      .json({ object: 'event', id, status: duplicate ? 'duplicate' : 'accepted' });
  });
  return router;
}
