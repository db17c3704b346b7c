/**
 * The subscription workflow's public surface: ids, search attributes, signals, queries and their
 * payload types. Imported by the workflow and by the API's Temporal client so both sides agree.
 * Everything here is JSON: amounts are integer minor units, instants are ISO-8601 UTC strings.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { BillingPeriod, BillingSchedule, BillingInterval } from '../domain/calendar';

export const SUBSCRIPTION_TASK_QUEUE = 'ledgerline-subscriptions';

export function subscriptionWorkflowId(tenantId: string, subscriptionId: string): string {
  return `subscription:${tenantId}:${subscriptionId}`;
}

export const SearchAttributes = {
  tenantId: defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD),
  customerId: defineSearchAttributeKey('CustomerId', SearchAttributeType.KEYWORD),
  planId: defineSearchAttributeKey('PlanId', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('SubscriptionStatus', SearchAttributeType.KEYWORD),
} as const;

export const SUBSCRIPTION_STATUSES = [
  'incomplete',
  'trialing',
  'active',
  'past_due',
  'paused',
  'unpaid',
  'canceled',
  'ended',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** The price a subscription is pinned to when it starts; later catalog edits do not reach it. */
export interface PlanSnapshot {
  readonly planId: string;
  readonly productName: string;
  readonly currency: string;
  readonly amountMinor: number;
  readonly interval: BillingInterval;
  readonly intervalCount: number;
}

export interface SubscriptionWorkflowInput {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly plan: PlanSnapshot;
  readonly schedule: BillingSchedule;
  /** Index of the period this run waits on; continue-as-new carries it forward. */
  readonly periodIndex: number;
  readonly invoicesIssued: number;
}

export interface CancelRequest {
  readonly reason?: string;
}

export interface SubscriptionState {
  readonly tenantId: string;
  readonly subscriptionId: string;
  readonly customerId: string;
  readonly status: SubscriptionStatus;
  readonly plan: PlanSnapshot;
  readonly currentPeriod: BillingPeriod;
  readonly invoicesIssued: number;
  readonly canceledAt: string | null;
  readonly cancellationReason: string | null;
}

export type SubscriptionWorkflowResult = Pick<SubscriptionState, 'status' | 'canceledAt' | 'invoicesIssued'>;

export const cancelSignal = defineSignal<[CancelRequest]>('cancel');
export const getStateQuery = defineQuery<SubscriptionState>('getState');
