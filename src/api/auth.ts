import type { RequestHandler, Response } from 'express';
import type { Pool } from 'pg';
import { bearerToken, hashApiKey, looksLikeApiKey, tokensEqual, type ApiKeyMode } from './api-keys';
import { ProblemError } from './problem';

export interface AuthContext {
  readonly tenantId: string;
  readonly apiKeyId: string;
  readonly mode: ApiKeyMode;
}

export function authOf(res: Response): AuthContext {
  const auth = res.locals.auth as AuthContext | undefined;
  if (!auth) throw new Error('authOf called on a route without requireApiKey');
  return auth;
}

const unauthorized = (detail: string) => new ProblemError('unauthorized', detail, { field: 'Authorization' });

/** `Authorization: Bearer sk_…` → the key's tenant, looked up by hash through a SECURITY DEFINER function. */
export function requireApiKey(pool: Pool): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined) throw unauthorized('Send your API key as "Authorization: Bearer sk_…"');
    if (!looksLikeApiKey(token)) throw unauthorized('The API key is malformed');
    const { rows } = await pool.query<{ api_key_id: string; tenant_id: string; mode: ApiKeyMode }>(
      'SELECT api_key_id, tenant_id, mode FROM authenticate_api_key($1)',
      [hashApiKey(token)],
    );
    const row = rows[0];
    if (!row) throw unauthorized('The API key is unknown or revoked');
    const auth: AuthContext = { tenantId: row.tenant_id, apiKeyId: row.api_key_id, mode: row.mode };
    res.locals.auth = auth;
    next();
  };
}

export function requireAdminToken(adminToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined || !tokensEqual(token, adminToken)) {
      throw new ProblemError('unauthorized', 'Admin endpoints need "Authorization: Bearer <ADMIN_TOKEN>"', {
        field: 'Authorization',
      });
    }
    next();
  };
}
