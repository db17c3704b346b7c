import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import type { Pool } from 'pg';
import { createActivities } from '../../src/activities';
import { formatInstant } from '../../src/domain/calendar';
import type { ChargeInput, ChargeResult, PaymentGateway } from '../../src/gateways/payment-gateway';
import { cancelUpdate } from '../../src/workflows/contracts';
import type { subscriptionWorkflow } from '../../src/workflows/subscription';
import { createTestTenant, migratedAppPool } from '../support/db';
import { FakeGateway } from '../support/fake-gateway';
import { seedSubscription } from '../support/fixtures';
import { eventually } from '../support/api-harness';
import { expectLedgerBalanced } from '../support/ledger-assertions';
import { createDevServerEnv, workflowBundle } from '../support/temporal';
import { invoicesWithLines, paymentAttempts } from '../support/workflow-harness';

// Durability on the real dev server: the worker dies in the middle of a renewal, after the payment
// provider has taken the money but before anything was recorded. A new worker picks the renewal up;
// the period still has exactly one invoice and the provider exactly one charge.

let env: TestWorkflowEnvironment;
let pools: { app: Pool; owner: Pool };

beforeAll(async () => {
  [env, pools] = await Promise.all([createDevServerEnv(), migratedAppPool()]);
});
afterAll(async () => {
  await env?.teardown();
  await Promise.all([pools?.app.end(), pools?.owner.end()]);
});

/** The provider charges, then the worker process "dies": the call never returns. */
class DiesAfterChargingGateway implements PaymentGateway {
  readonly provider = 'stripe' as const;
  chargedInFlight: ((input: ChargeInput) => void) | undefined;
  constructor(
    private readonly provider_: FakeGateway,
    private readonly dieOnInvoice: (invoiceId: string | undefined) => boolean,
  ) {}
  createCustomer: PaymentGateway['createCustomer'] = (input) => this.provider_.createCustomer(input);
  attachPaymentMethod: PaymentGateway['attachPaymentMethod'] = (input) =>
    this.provider_.attachPaymentMethod(input);
  refund: PaymentGateway['refund'] = (input) => this.provider_.refund(input);
  retrieve: PaymentGateway['retrieve'] = (id) => this.provider_.retrieve(id);
  parseWebhook: PaymentGateway['parseWebhook'] = (body, signature) =>
    this.provider_.parseWebhook(body, signature);
  async charge(input: ChargeInput): Promise<ChargeResult> {
    const result = await this.provider_.charge(input);
    if (!this.dieOnInvoice(input.metadata.invoiceId)) return result;
    this.chargedInFlight?.(input);
    return new Promise<never>(() => undefined);
  }
}

it('kills the worker mid-renewal: one invoice and one charge for the period after another worker resumes', async () => {
  const { tenant } = await createTestTenant(pools.app);
  const provider = new FakeGateway();
  // A daily plan whose first period ends a few seconds from now, so the renewal happens during the test.
  const createdAt = formatInstant(Date.now() - 86_400_000 + 6_000);
  const seeded = await seedSubscription(pools.app, tenant.id, {
    createdAt,
    amountMinor: 700,
    recurrence: { interval: 'day', intervalCount: 1 },
  });
  const taskQueue = `crash-${seeded.input.subscriptionId}`;
  let firstInvoiceId: string | undefined;
  const dying = new DiesAfterChargingGateway(provider, (invoiceId) => {
    firstInvoiceId ??= invoiceId;
    return invoiceId !== firstInvoiceId; // the renewal's charge, not the first period's
  });
  const renewalCharged = new Promise<ChargeInput>((resolve) => {
    dying.chargedInFlight = resolve;
  });

  const doomed = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: pools.app, gateway: dying }),
    shutdownGraceTime: '1 second',
    shutdownForceTime: '2 seconds',
  });
  const doomedRun = doomed.run();
  const handle = await env.client.workflow.start<typeof subscriptionWorkflow>('subscriptionWorkflow', {
    taskQueue,
    workflowId: seeded.workflowId,
    args: [seeded.input],
  });

  const inFlight = await renewalCharged;
  doomed.shutdown();
  await doomedRun.catch(() => undefined);
  const renewalInvoiceId = inFlight.metadata.invoiceId;
  expect(provider.paymentsCreated().filter((p) => p.idempotencyKey === inFlight.idempotencyKey)).toHaveLength(
    1,
  );

  const survivor = await Worker.create({
    connection: env.nativeConnection,
    taskQueue,
    workflowBundle: await workflowBundle(),
    activities: createActivities({ pool: pools.app, gateway: provider }),
  });
  await survivor.runUntil(async () => {
    const invoices = await eventually(async () => {
      const rows = await invoicesWithLines(pools.app, tenant.id, seeded.input.subscriptionId);
      expect(rows.find((row) => row.id === renewalInvoiceId)?.status).toBe('paid');
      return rows;
    }, 90_000);
    const renewalPeriodStart = invoices.find((row) => row.id === renewalInvoiceId)?.periodStart;
    expect(invoices.filter((row) => row.periodStart === renewalPeriodStart)).toHaveLength(1);
    const charges = provider
      .paymentsCreated()
      .filter((p) => p.idempotencyKey.includes(renewalInvoiceId ?? '?'));
    expect(charges).toHaveLength(1);
    const attempts = (await paymentAttempts(pools.app, tenant.id)).filter(
      (a) => a.invoiceId === renewalInvoiceId,
    );
    expect(attempts.map((a) => [a.attempt, a.status])).toEqual([[1, 'succeeded']]);
    await handle.executeUpdate(cancelUpdate, { args: [{ at: 'now' }] });
  });
  await expectLedgerBalanced(pools.app, tenant.id);
}, 180_000);
