import { Router } from 'express';
import type { Pool } from 'pg';
import { DatabaseError } from 'pg';
import { z } from 'zod';
import { newId } from '../../db/ids';
import { tenantRead, tenantWrite } from '../handlers';
import { listPage } from '../pagination';
import { notFound, parseOrThrow, ProblemError } from '../problem';
import { customerResource, type CustomerRow } from '../resources';
import { ListQuery, Metadata } from '../schemas';

const CreateCustomerBody = z.strictObject({
  email: z.email().max(320).optional(),
  name: z.string().trim().min(1).max(200).optional(),
  /** The tenant's own id for this customer; unique per tenant, usable wherever a customer is referenced. */
  external_id: z.string().min(1).max(200).optional(),
  metadata: Metadata,
});

const UNIQUE_VIOLATION = '23505';

export function customersRouter(pool: Pool): Router {
  const router = Router();
  router.post(
    '/',
    tenantWrite(pool, async ({ req, auth, db }) => {
      const body = parseOrThrow(CreateCustomerBody, req.body);
      try {
        const { rows } = await db.query<CustomerRow>(
          `INSERT INTO customers (id, tenant_id, external_id, email, name, metadata)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
          [
            newId('customer'),
            auth.tenantId,
            body.external_id ?? null,
            body.email ?? null,
            body.name ?? null,
            body.metadata ?? {},
          ],
        );
        return { status: 201, body: customerResource(rows[0] as CustomerRow) };
      } catch (error) {
        if (error instanceof DatabaseError && error.code === UNIQUE_VIOLATION) {
          throw new ProblemError(
            'conflict',
            `A customer with external_id '${body.external_id}' already exists`,
            {
              field: 'external_id',
            },
          );
        }
        throw error;
      }
    }),
  );
  router.get(
    '/',
    tenantRead(pool, async ({ req, db }) => ({
      status: 200,
      body: await listPage(
        db,
        'customers',
        parseOrThrow(ListQuery, req.query, 'query'),
        '/v1/customers',
        customerResource,
      ),
    })),
  );
  router.get(
    '/:id',
    tenantRead(pool, async ({ req, db }) => {
      const { rows } = await db.query<CustomerRow>('SELECT * FROM customers WHERE id = $1', [req.params.id]);
      const row = rows[0];
      if (!row) throw notFound('customer', String(req.params.id));
      return { status: 200, body: customerResource(row) };
    }),
  );
  return router;
}
