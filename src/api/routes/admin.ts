import { Router } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { createTenantWithApiKey } from '../../db/tenants';
import { requireAdminToken } from '../auth';
import { parseOrThrow } from '../problem';

const CreateTenantBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  mode: z.enum(['test', 'live']).default('test'),
});

/** Operator-only bootstrap: create a tenant and receive its first API key (shown once). */
export function adminRouter(pool: Pool, adminToken: string): Router {
  const router = Router();
  router.use(requireAdminToken(adminToken));
  router.post('/tenants', async (req, res) => {
    const body = parseOrThrow(CreateTenantBody, req.body ?? {});
    const created = await createTenantWithApiKey(pool, body);
    res.status(201).json({
      object: 'tenant',
      ...created.tenant,
      api_key: { object: 'api_key', ...created.apiKey },
    });
  });
  return router;
}
