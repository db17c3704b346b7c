import { createSubscriptionActivities, type ActivityDeps } from './subscription-activities';

/** Every activity the workers register, built from injected dependencies so tests use the same code. */
export function createActivities(deps: ActivityDeps) {
  return { ...createSubscriptionActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps };
