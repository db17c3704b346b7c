// Rollup deltas a fold could not fold, set aside (migration 0013): their events are stored but not
// counted, and the tenant's usage invoices are held, until the cause is fixed and they are requeued.
// Listed for operators and finance; requeued in one call (a delta that still fails is set aside again).

import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { tenantRead, tenantWrite } from '../handlers';
import { parseOrThrow } from '../problem';

const DeltaId = z.string().regex(/^[1-9][0-9]{0,18}$/, 'must be a delta id (a positive integer as a string)');
const RequeueBody = z.strictObject({
  /** The deltas to requeue; all of the tenant's when absent. */
  ids: z.array(DeltaId).min(1).max(1000).optional(),
});

interface QuarantinedRow {
  id: string;
  created_at: Date;
  quarantined_at: Date;
  error: string;
}

const resource = (row: QuarantinedRow) => ({
  object: 'quarantined_usage_delta',
  id: row.id,
  /** When its ingestion batch was stored. */
  created_at: row.created_at.toISOString(),
  quarantined_at: row.quarantined_at.toISOString(),
  error: row.error,
});

export function quarantinedDeltasRouter(pool: Pool): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ db }) => {
      const { rows } = await db.query<QuarantinedRow>(
        `SELECT id::text AS id, created_at, quarantined_at, error
           FROM usage_rollup_deltas_quarantined ORDER BY id LIMIT 1000`,
      );
      return {
        status: 200,
        body: {
          object: 'list',
          url: '/v1/usage/quarantined-deltas',
          has_more: rows.length === 1000,
          data: rows.map(resource),
        },
      };
    }),
  );
  router.post(
    '/requeue',
    tenantWrite(pool, async ({ req, db }) => {
      const body = parseOrThrow(RequeueBody, req.body ?? {});
      const { rows } = await db.query<{ requeued: number }>(
        'SELECT usage_requeue_quarantined_deltas($1::bigint[]) AS requeued',
        [body.ids ?? null],
      );
      return { status: 200, body: { object: 'usage_delta_requeue', requeued: rows[0]?.requeued ?? 0 } };
    }),
  );
  return router;
}
