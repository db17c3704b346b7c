import type { Pool } from 'pg';
import { createTableTaxProvider } from '../domain/tax/table-tax-provider';
import type { TaxProvider } from '../domain/tax/types';
import type { PaymentGateway } from '../gateways/payment-gateway';
import { createCollectionActivities } from './collection';
import type { SubscriptionActivities } from './contracts';
import { createInvoicingActivities } from './invoicing';
import { createSubscriptionActivities } from './subscription-activities';
import { createUsageBillingActivities } from './usage-billing';

export interface ActivityDeps {
  readonly pool: Pool;
  /** The real adapter (Stripe) in every process; tests may pass another PaymentGateway implementation. */
  readonly gateway: PaymentGateway;
  /** The built-in dated rate tables unless another provider (Avalara, Stripe Tax) is plugged in. */
  readonly taxProvider?: TaxProvider;
}

/** Every activity the workers register, built from injected dependencies so tests use the same code. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createSubscriptionActivities(deps),
    ...createInvoicingActivities({
      pool: deps.pool,
      taxProvider: deps.taxProvider ?? createTableTaxProvider(),
    }),
    ...createCollectionActivities(deps),
    ...createUsageBillingActivities({ pool: deps.pool }),
  } satisfies SubscriptionActivities;
}

export type Activities = ReturnType<typeof createActivities>;
