// Entry point bundled for the worker: every workflow type the task queue serves.
export { subscriptionWorkflow } from './subscription';
