import type { Request, RequestHandler, Response } from 'express';
import type { Pool, PoolClient } from 'pg';
import { withTenant } from '../db/with-tenant';
import { authOf, type AuthContext } from './auth';
import {
  claimOrReplay,
  parseIdempotencyKey,
  requestFingerprint,
  storeResponse,
  type StoredResponse,
} from './idempotency';
import { ProblemError } from './problem';

export interface TenantRequestContext {
  readonly req: Request;
  readonly auth: AuthContext;
  /** A transaction scoped to the caller's tenant by row-level security. */
  readonly db: PoolClient;
  /** Registers an undo step for an effect outside the database (e.g. a started workflow). */
  readonly onRollback: (compensate: () => Promise<void>) => void;
}

export type TenantHandler = (ctx: TenantRequestContext) => Promise<StoredResponse>;

/** GET-style handler: one tenant-scoped transaction, JSON out. */
export function tenantRead(pool: Pool, handler: TenantHandler): RequestHandler {
  return async (req, res) => {
    const auth = authOf(res);
    const result = await withTenant(pool, auth.tenantId, (db) =>
      handler({ req, auth, db, onRollback: noCompensation }),
    );
    send(res, result, false);
  };
}

/**
 * POST handler: one tenant-scoped transaction that also claims the Idempotency-Key, so a retried
 * request replays the first response instead of repeating its writes.
 */
export function tenantWrite(pool: Pool, handler: TenantHandler): RequestHandler {
  return async (req, res) => {
    const auth = authOf(res);
    if (
      !req.is('application/json') &&
      req.get('content-length') !== undefined &&
      req.get('content-length') !== '0'
    ) {
      throw new ProblemError('unsupportedMediaType', 'Send the body as application/json', {
        field: 'Content-Type',
      });
    }
    const key = parseIdempotencyKey(req.get('idempotency-key'));
    let replayed = false;
    const compensations: Array<() => Promise<void>> = [];
    const onRollback = (compensate: () => Promise<void>) => void compensations.push(compensate);
    try {
      const result = await withTenant(pool, auth.tenantId, async (db) => {
        if (key === undefined) return handler({ req, auth, db, onRollback });
        const claim = { key, fingerprint: requestFingerprint(req.method, req.baseUrl + req.path, req.body) };
        const previous = await claimOrReplay(db, claim);
        if (previous) {
          replayed = true;
          return previous;
        }
        const response = await handler({ req, auth, db, onRollback });
        await storeResponse(db, key, response);
        return response;
      });
      send(res, result, replayed);
    } catch (error) {
      // The transaction rolled back, so undo what it cannot: newest first, each attempted.
      for (const compensate of compensations.reverse()) await compensate().catch(() => undefined);
      throw error;
    }
  };
}

const noCompensation = (): void => {
  throw new Error('read handlers have nothing to compensate');
};

function send(res: Response, result: StoredResponse, replayed: boolean): void {
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(result.status).json(result.body);
}
