import type { Pool } from 'pg';
import { generateApiKey, type ApiKeyMode } from '../api/api-keys';
import { newId } from './ids';
import { withTenant } from './with-tenant';

export interface CreatedTenant {
  readonly tenant: { id: string; name: string; created_at: string };
  readonly apiKey: { id: string; mode: ApiKeyMode; secret: string; display_hint: string };
}

/**
 * Creates a tenant and its first API key. Runs as the new tenant itself, so row-level security's
 * WITH CHECK accepts exactly these rows and nothing else: even tenant creation needs no bypass.
 */
export async function createTenantWithApiKey(
  pool: Pool,
  input: { name: string; mode: ApiKeyMode; tenantId?: string },
): Promise<CreatedTenant> {
  const tenantId = input.tenantId ?? newId('tenant');
  const key = generateApiKey(input.mode);
  const apiKeyId = newId('apiKey');
  return withTenant(pool, tenantId, async (client) => {
    const { rows } = await client.query<{ created_at: Date }>(
      'INSERT INTO tenants (id, name) VALUES ($1, $2) RETURNING created_at',
      [tenantId, input.name],
    );
    await client.query(
      `INSERT INTO api_keys (id, tenant_id, mode, name, secret_sha256, display_hint)
       VALUES ($1, $2, $3, 'default', $4, $5)`,
      [apiKeyId, tenantId, input.mode, key.sha256, key.displayHint],
    );
    const createdAt = rows[0]?.created_at ?? new Date();
    return {
      tenant: { id: tenantId, name: input.name, created_at: createdAt.toISOString() },
      apiKey: { id: apiKeyId, mode: input.mode, secret: key.secret, display_hint: key.displayHint },
    };
  });
}
