import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { ProblemError } from './problem';

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface IdempotencyClaim {
  readonly key: string;
  readonly fingerprint: string;
}

/** Same method, path and JSON body ⇒ same fingerprint (key order in the body does not matter). */
export function requestFingerprint(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(`${method} ${path}\n`).update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (header.length < 1 || header.length > 255 || !/^[\x21-\x7e]+$/.test(header)) {
    throw new ProblemError('validation', 'Idempotency-Key must be 1–255 printable ASCII characters', {
      field: 'Idempotency-Key',
    });
  }
  return header;
}

/**
 * Claims the key inside the request's own transaction. The business writes and the stored response
 * then commit or roll back together, so a crash can never leave "done but not recorded". A concurrent
 * duplicate blocks on the primary key until the first transaction ends, then replays its response.
 */
export async function claimOrReplay(
  client: PoolClient,
  claim: IdempotencyClaim,
): Promise<StoredResponse | undefined> {
  const inserted = await client.query(
    `INSERT INTO idempotency_keys (tenant_id, idempotency_key, request_fingerprint)
     VALUES (current_tenant_id(), $1, $2)
     ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
    [claim.key, claim.fingerprint],
  );
  if (inserted.rowCount === 1) return undefined;
  const { rows } = await client.query<{
    request_fingerprint: string;
    response_status: number | null;
    response_body: unknown;
  }>(
    'SELECT request_fingerprint, response_status, response_body FROM idempotency_keys WHERE idempotency_key = $1',
    [claim.key],
  );
  const row = rows[0];
  if (!row || row.response_status === null) {
    throw new Error(`idempotency key ${claim.key} is claimed but has no stored response`);
  }
  if (row.request_fingerprint !== claim.fingerprint) {
    throw new ProblemError(
      'idempotencyKeyReused',
      'This Idempotency-Key was used for a different request; use a new key for a new request',
      { field: 'Idempotency-Key' },
    );
  }
  return { status: row.response_status, body: row.response_body };
}

export async function storeResponse(
  client: PoolClient,
  key: string,
  response: StoredResponse,
): Promise<void> {
  await client.query(
    'UPDATE idempotency_keys SET response_status = $2, response_body = $3 WHERE idempotency_key = $1',
    [key, response.status, JSON.stringify(response.body)],
  );
}
