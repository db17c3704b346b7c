// GET /v1/reports/conversions?from=…&to=…: free-to-paid conversions per (kind, from plan, to plan),
// from plan_conversions (written by the activity that persists the change; docs/api.md).

import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { conversionCounts } from '../../db/entitlements';
import { tenantRead } from '../handlers';
import { parseOrThrow } from '../problem';

const DAY_MS = 86_400_000;

const Instant = z.iso
  .datetime({ offset: true, error: 'must be an ISO-8601 instant, e.g. 2026-05-01T00:00:00Z' })
  .transform((text) => new Date(Date.parse(text)).toISOString());

const ReportQuery = z
  .strictObject({ from: Instant, to: Instant })
  .refine((q) => q.to > q.from, { path: ['to'], message: 'must be after from' })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 366 * DAY_MS, {
    path: ['to'],
    message: 'range is at most 366 days',
  });

export function conversionsRouter(pool: Pool): Router {
  const router = Router();
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => {
      const query = parseOrThrow(ReportQuery, req.query, 'query');
      const counts = await conversionCounts(db, query.from, query.to);
      return {
        status: 200,
        body: {
          object: 'conversion_report',
          from: query.from,
          to: query.to,
          total: counts.reduce((sum, row) => sum + row.count, 0),
          data: counts.map((row) => ({
            kind: row.kind,
            from_plan: row.fromPlanId,
            to_plan: row.toPlanId,
            count: row.count,
          })),
        },
      };
    }),
  );
  return router;
}
