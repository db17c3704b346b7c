import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { type z } from 'zod';

/** RFC 9457 problem types. The `type` URI is stable: clients may switch on it. */
export const PROBLEM_TYPES = {
  validation: { slug: 'validation-error', title: 'Request validation failed', status: 400 },
  malformedJson: { slug: 'malformed-json', title: 'Request body is not valid JSON', status: 400 },
  unauthorized: { slug: 'unauthorized', title: 'Missing or invalid credentials', status: 401 },
  notFound: { slug: 'not-found', title: 'Resource not found', status: 404 },
  paymentMethodRejected: {
    slug: 'payment-method-rejected',
    title: 'The payment provider refused the payment method',
    status: 402,
  },
  paymentDeclined: { slug: 'payment-declined', title: 'The payment was declined', status: 402 },
  conflict: { slug: 'conflict', title: 'Conflicts with an existing resource', status: 409 },
  unsupportedMediaType: {
    slug: 'unsupported-media-type',
    title: 'Body must be application/json',
    status: 415,
  },
  unprocessable: {
    slug: 'unprocessable',
    title: 'The request is well-formed but cannot be applied',
    status: 422,
  },
  idempotencyKeyReused: {
    slug: 'idempotency-key-reused',
    title: 'Idempotency-Key was already used with a different request',
    status: 422,
  },
  invalidWebhookSignature: {
    slug: 'invalid-webhook-signature',
    title: 'Webhook signature verification failed',
    status: 400,
  },
  rateLimited: { slug: 'rate-limited', title: 'Too many requests', status: 429 },
  unavailable: { slug: 'service-unavailable', title: 'A dependency is unavailable', status: 503 },
  internal: { slug: 'internal-error', title: 'Internal server error', status: 500 },
} as const;
export type ProblemKind = keyof typeof PROBLEM_TYPES;

export const PROBLEM_BASE_URI = 'https://ledgerline.dev/problems/';

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** Members added to the problem body; names are the wire names. */
export interface ProblemExtensions {
  readonly field?: string;
  readonly errors?: FieldError[];
  /** For payment-method-rejected: the provider's decline code (`card_declined`, `incorrect_cvc`). */
  readonly decline_code?: string;
  /** For rate-limited: seconds until a retry can succeed; also sent as the Retry-After header. */
  readonly retry_after?: number;
}

/** An expected failure that becomes a problem+json response; anything else thrown is a bug (500). */
export class ProblemError extends Error {
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extensions: ProblemExtensions = {},
  ) {
    super(detail);
    this.name = 'ProblemError';
  }
}

export function notFound(resource: string, id: string): ProblemError {
  return new ProblemError('notFound', `No ${resource} with id '${id}'`, { field: 'id' });
}

/**
 * The path as the client wrote it: dotted keys, bracketed array indices (`items[0].price`,
 * `dunning.retry_schedule_days[2]`), or `body` for the body itself.
 */
export function fieldPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'body';
  return path.reduce<string>((out, segment, index) => {
    if (typeof segment === 'number') return `${out}[${segment}]`;
    return index === 0 ? String(segment) : `${out}.${String(segment)}`;
  }, '');
}

export function validationProblem(error: z.ZodError, location: 'body' | 'query' = 'body'): ProblemError {
  const errors = error.issues.flatMap((issue): FieldError[] => {
    // An unknown key is reported on its parent; name the key itself so the client sees which one.
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: fieldPath([...issue.path, key]), message: 'Unknown field' }));
    }
    return [{ field: issue.path.length === 0 ? location : fieldPath(issue.path), message: issue.message }];
  });
  const first = errors[0] ?? { field: location, message: 'invalid' };
  return new ProblemError('validation', `${first.field}: ${first.message}`, { field: first.field, errors });
}

export function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  location: 'body' | 'query' = 'body',
): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationProblem(parsed.error, location);
  return parsed.data;
}

export function problemBody(problem: ProblemError, instance: string): Record<string, unknown> {
  const type = PROBLEM_TYPES[problem.kind];
  return {
    type: `${PROBLEM_BASE_URI}${type.slug}`,
    title: type.title,
    status: type.status,
    detail: problem.detail,
    instance,
    ...problem.extensions,
  };
}

export function sendProblem(
  res: Parameters<RequestHandler>[1],
  problem: ProblemError,
  instance: string,
): void {
  const status = PROBLEM_TYPES[problem.kind].status;
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="ledgerline"');
  if (problem.kind === 'rateLimited' && problem.extensions.retry_after !== undefined)
    res.setHeader('Retry-After', String(problem.extensions.retry_after));
  res
    .status(status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(problem, instance)));
}

interface BodyParserError {
  type?: string;
  status?: number;
}

/** Turns every error into problem+json; stack traces go to the log, never to the client. */
export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    const parserError = error as BodyParserError;
    if (error instanceof ProblemError) {
      sendProblem(res, error, req.originalUrl);
    } else if (parserError.type === 'entity.parse.failed') {
      sendProblem(
        res,
        new ProblemError('malformedJson', 'The body could not be parsed as JSON', { field: 'body' }),
        req.originalUrl,
      );
    } else if (parserError.type === 'entity.too.large') {
      sendProblem(
        res,
        new ProblemError('validation', 'The body is larger than the limit', { field: 'body' }),
        req.originalUrl,
      );
    } else {
      logger.error({ err: error, method: req.method, url: req.originalUrl }, 'unhandled error');
      sendProblem(
        res,
        new ProblemError('internal', 'An unexpected error occurred; it has been logged'),
        req.originalUrl,
      );
    }
  };
}
