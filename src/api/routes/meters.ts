import { Router } from 'express';
import { z } from 'zod';
import { METER_AGGREGATIONS } from '../../domain/usage/meter';
import { HOUR_MS } from '../../domain/usage/rollup';
import { meterOf, type MeterRow } from '../../usage/meter-repository';
import type { UsageService } from '../../usage/usage-service';
import type { Pool } from 'pg';
import { withTenant } from '../../db/with-tenant';
import { authOf } from '../auth';
import { tenantRead, tenantWrite } from '../handlers';
import { notFound, parseOrThrow, ProblemError } from '../problem';

export interface MeterRouteDeps {
  readonly pool: Pool;
  readonly usage: UsageService;
}

const PropertyName = z.string().min(1).max(200);

const CreateMeterBody = z
  .strictObject({
    name: z.string().trim().min(1).max(200),
    /** Events with this event_name are candidates for the meter. */
    event_name: z.string().regex(/^[A-Za-z0-9_.:\-/]{1,200}$/, 'must be 1..200 of A-Z a-z 0-9 _ . : - /'),
    aggregation: z.enum(METER_AGGREGATIONS),
    /** The property aggregated by sum, max, latest and unique_count; not allowed for count. */
    value_property: PropertyName.optional(),
    /** Equality filters: the event counts only if every property equals the value. */
    filters: z
      .record(PropertyName, z.union([z.string().max(1000), z.number(), z.boolean()]))
      .refine((filters) => Object.keys(filters).length <= 20, 'at most 20 filters')
      .default({}),
    /** Dimensions usage can be split by (e.g. ["region", "model"]). */
    group_by: z
      .array(PropertyName)
      .max(5)
      .refine((names) => new Set(names).size === names.length, 'must not repeat a property')
      .default([]),
  })
  .superRefine((meter, ctx) => {
    if (meter.aggregation === 'count' && meter.value_property !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value_property'],
        message: 'count meters take no value_property',
      });
    }
    if (meter.aggregation !== 'count' && meter.value_property === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['value_property'],
        message: `is required for ${meter.aggregation}`,
      });
    }
  });

const WholeHour = z.iso
  .datetime({ offset: true })
  .transform((text) => Date.parse(text))
  .refine(
    (ms) => ms % HOUR_MS === 0,
    'must be a whole UTC hour (rollups are hourly), e.g. 2026-05-01T00:00:00Z',
  );

const UsageQuery = z
  .strictObject({
    customer: z.string().min(1).max(255),
    from: WholeHour,
    to: WholeHour,
    /** Comma-separated subset of the meter's group_by. */
    group_by: z.string().max(1000).optional(),
    /**
     * strong (default): pending rollup deltas are folded first, so every acknowledged event counts.
     * eventual: the real-time cache as it is (an acknowledged event shows within ~1 s, p99).
     */
    consistency: z.enum(['strong', 'eventual']).default('strong'),
  })
  .refine((q) => q.to > q.from, { path: ['to'], message: 'must be after from' })
  .refine((q) => q.to - q.from <= 366 * 24 * HOUR_MS, { path: ['to'], message: 'range is at most 366 days' });

const meterResource = (row: MeterRow) => ({
  id: row.id,
  object: 'meter' as const,
  name: row.name,
  event_name: row.event_name,
  aggregation: row.aggregation,
  value_property: row.value_property,
  filters: row.filters,
  group_by: row.group_by,
  created_at: row.created_at.toISOString(),
});

export function metersRouter({ pool, usage }: MeterRouteDeps): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, db, auth }) => {
      const body = parseOrThrow(CreateMeterBody, req.body);
      const row = await usage.createMeter(db, auth.tenantId, {
        name: body.name,
        eventName: body.event_name,
        aggregation: body.aggregation,
        valueProperty: body.value_property ?? null,
        filters: body.filters,
        groupBy: body.group_by,
      });
      return { status: 201, body: meterResource(row) };
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ db }) => {
      const rows = await usage.listMeters(db);
      return {
        status: 200,
        body: { object: 'list', url: '/v1/meters', has_more: false, data: rows.map(meterResource) },
      };
    }),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const row = await usage.findMeter(db, String(req.params.id));
      if (!row) throw notFound('meter', String(req.params.id));
      return { status: 200, body: meterResource(row) };
    }),
  );
  // Not inside tenantRead: the read may rebuild from Postgres on other connections, and holding one
  // connection while waiting for another is how a pool deadlocks under load.
  router.get('/:id/usage', async (req, res) => {
    const { tenantId } = authOf(res);
    const query = parseOrThrow(UsageQuery, req.query, 'query');
    const meterId = String(req.params.id);
    const row = await withTenant(pool, tenantId, (db) => usage.findMeter(db, meterId));
    if (!row) throw notFound('meter', meterId);
    const dimensions = query.group_by === undefined || query.group_by === '' ? [] : query.group_by.split(',');
    const unknown = dimensions.find((name) => !row.group_by.includes(name));
    if (unknown !== undefined) {
      throw new ProblemError('validation', `group_by: '${unknown}' is not one of the meter's group_by`, {
        field: 'group_by',
      });
    }
    const customerId = await usage.resolveCustomer(tenantId, query.customer);
    if (customerId === undefined) {
      throw new ProblemError('notFound', `No customer with id or external_id '${query.customer}'`, {
        field: 'customer',
      });
    }
    const range = { fromMs: query.from, toMs: query.to };
    const result = await usage.usage(
      tenantId,
      meterOf(row),
      customerId,
      range,
      dimensions,
      query.consistency,
    );
    res.status(200).json({
      object: 'meter_usage',
      meter: row.id,
      customer: customerId,
      aggregation: row.aggregation,
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
      value: result.value,
      group_by: dimensions,
      groups: result.groups,
      source: result.source,
      consistency: query.consistency,
    });
  });
  return router;
}
