// What a customer may use right now (docs/api.md, "Entitlements and quotas"):
//   GET /v1/entitlements?customer=…                   every feature, with quota figures for metered ones
//   GET /v1/entitlements/check?customer=…&feature=…   one feature: 200 allowed true|false, or 429
// Grants are read from Postgres on every request (one indexed query; no entitlement cache), so a plan
// change is visible as soon as the workflow's activity has persisted it. Usage comes from the
// real-time aggregate (Redis, rebuilt from Postgres rollups when missing).

import { Router, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { customerGrants } from '../../db/entitlements';
import { withTenant } from '../../db/with-tenant';
import {
  mergeEntitlements,
  quotaStatus,
  secondsUntil,
  usageWindow,
  type Entitlement,
  type MeteredAllowance,
  type QuotaStatus,
} from '../../domain/usage/entitlements';
import type { UsageService } from '../../usage/usage-service';
import { authOf } from '../auth';
import { parseOrThrow, PROBLEM_BASE_URI, ProblemError } from '../problem';
import { FeatureKey } from './plan-features';

export interface EntitlementRouteDeps {
  readonly pool: Pool;
  readonly usage: UsageService;
  readonly now?: () => Date;
}

const CustomerRef = z.string().min(1).max(255);

const ListQuery = z.strictObject({ customer: CustomerRef });

const CheckQuery = z.strictObject({
  customer: CustomerRef,
  feature: FeatureKey,
  /** Metered only: would this many more units fit? Default: is any allowance left. */
  quantity: z
    .string()
    .regex(/^\d{1,30}(\.\d{1,18})?$/, 'must be a non-negative decimal like "1" or "2.5"')
    .optional(),
});

type MeteredFigures = MeteredAllowance & QuotaStatus;

async function resolveCustomer(usage: UsageService, tenantId: string, ref: string): Promise<string> {
  const customerId = await usage.resolveCustomer(tenantId, ref);
  if (customerId === undefined) {
    throw new ProblemError('notFound', `No customer with id or external_id '${ref}'`, { field: 'customer' });
  }
  return customerId;
}

/** The allowance's current-period usage, read outside any transaction (a rebuild takes connections). */
async function figuresOf(
  usage: UsageService,
  tenantId: string,
  customerId: string,
  allowance: MeteredAllowance,
  nowMs: number,
  quantity?: string,
): Promise<MeteredFigures> {
  const meter = await usage.meter(tenantId, allowance.meterId);
  if (meter === undefined)
    throw new Error(`meter ${allowance.meterId} of feature ${allowance.feature} is gone`);
  const window = usageWindow(allowance.periodStart, allowance.periodEnd, nowMs);
  const used =
    window.toMs > window.fromMs ? (await usage.usage(tenantId, meter, customerId, window, [])).value : null;
  return { ...allowance, ...quotaStatus(allowance, used, quantity) };
}

const meteredBody = (m: MeteredFigures) => ({
  meter: m.meterId,
  limit: m.limit,
  used: m.used,
  remaining: m.remaining,
  enforcement: m.enforcement,
  period: { start: m.periodStart, end: m.periodEnd },
  resets_at: m.periodEnd,
  subscription: m.subscriptionId,
});

function entitlementResource(entitlement: Entitlement, figures: MeteredFigures | undefined) {
  if (entitlement.kind === 'boolean') {
    return {
      object: 'entitlement' as const,
      feature: entitlement.feature,
      kind: 'boolean' as const,
      subscriptions: entitlement.subscriptionIds,
    };
  }
  if (figures === undefined) throw new Error(`no usage figures for ${entitlement.feature}`);
  return {
    object: 'entitlement' as const,
    feature: entitlement.feature,
    kind: 'metered' as const,
    ...meteredBody(figures),
    exhausted: figures.exhausted,
  };
}

// problem.ts has no 429 kind; the body has the same RFC 9457 shape (like the events router's).
function sendQuotaExceeded(
  req: Request,
  res: Response,
  customerId: string,
  m: MeteredFigures,
  nowMs: number,
) {
  const retryAfterSeconds = secondsUntil(m.periodEnd, nowMs);
  res
    .status(429)
    .setHeader('Retry-After', String(retryAfterSeconds))
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `${PROBLEM_BASE_URI}quota-exceeded`,
        title: 'The feature’s usage limit is reached',
        status: 429,
        detail:
          `${m.feature}: ${m.used} of ${m.limit} used this period (hard limit); ` +
          `it resets at ${m.periodEnd}, in ${retryAfterSeconds} s`,
        instance: req.originalUrl,
        field: 'feature',
        customer: customerId,
        feature: m.feature,
        allowed: false,
        ...meteredBody(m),
      }),
    );
}

export function entitlementsRouter({ pool, usage, now }: EntitlementRouteDeps): Router {
  const router = Router();
  const nowMs = () => (now ? now().getTime() : Date.now());

  router.get('/', async (req, res) => {
    const { tenantId } = authOf(res);
    const query = parseOrThrow(ListQuery, req.query, 'query');
    const customerId = await resolveCustomer(usage, tenantId, query.customer);
    const at = nowMs();
    const grants = await withTenant(pool, tenantId, (db) => customerGrants(db, customerId));
    const entitlements = mergeEntitlements(grants);
    const data = await Promise.all(
      entitlements.map(async (entitlement) =>
        entitlementResource(
          entitlement,
          entitlement.kind === 'metered'
            ? await figuresOf(usage, tenantId, customerId, entitlement, at)
            : undefined,
        ),
      ),
    );
    res
      .status(200)
      .json({ object: 'list', url: '/v1/entitlements', customer: customerId, has_more: false, data });
  });

  router.get('/check', async (req, res) => {
    const { tenantId } = authOf(res);
    const query = parseOrThrow(CheckQuery, req.query, 'query');
    const customerId = await resolveCustomer(usage, tenantId, query.customer);
    const at = nowMs();
    const grants = await withTenant(pool, tenantId, (db) =>
      customerGrants(db, customerId, { onlyFeature: query.feature }),
    );
    const entitlement = mergeEntitlements(grants)[0];
    const base = { object: 'entitlement_check', customer: customerId, feature: query.feature };
    if (entitlement === undefined) {
      res.status(200).json({ ...base, allowed: false, reason: 'not_granted' });
      return;
    }
    if (entitlement.kind === 'boolean') {
      res.status(200).json({ ...base, allowed: true, kind: 'boolean' });
      return;
    }
    const figures = await figuresOf(usage, tenantId, customerId, entitlement, at, query.quantity);
    if (!figures.allowed) {
      sendQuotaExceeded(req, res, customerId, figures, at);
      return;
    }
    res.status(200).json({
      ...base,
      allowed: true,
      kind: 'metered',
      ...meteredBody(figures),
      // Only a soft limit can be over and still allowed.
      over_limit: figures.overLimit,
    });
  });
  return router;
}
