import type { PoolClient } from 'pg';
import { newId } from './ids';

// Notifications for tenants (webhooks) and their customers (email), written in the transaction of the
// change they describe. A second write of the same idempotency key is a no-op, so retried activities
// and replayed workflows never notify twice. Delivery is the dispatcher's job (events issue).

export interface OutboxEventRow {
  readonly type: string;
  readonly idempotencyKey: string;
  readonly occurredAt: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly emailCustomer: boolean;
  readonly subscriptionId?: string | null;
  readonly customerId?: string | null;
}

export async function insertOutboxEvents(
  client: PoolClient,
  tenantId: string,
  events: readonly OutboxEventRow[],
): Promise<number> {
  let inserted = 0;
  for (const event of events) {
    const result = await client.query(
      `INSERT INTO outbox_events (id, tenant_id, event_type, idempotency_key, subscription_id, customer_id,
                                  payload, email_customer, occurred_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (tenant_id, idempotency_key) DO NOTHING`,
      [
        newId('outboxEvent'),
        tenantId,
        event.type,
        event.idempotencyKey,
        event.subscriptionId ?? null,
        event.customerId ?? null,
        JSON.stringify({ type: event.type, data: event.data }),
        event.emailCustomer,
        event.occurredAt,
      ],
    );
    inserted += result.rowCount ?? 0;
  }
  return inserted;
}
