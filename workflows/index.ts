export { eventWorkflow } from './event';
export { machineRunWorkflow } from './machine-run';
export { machineWorkflow } from './machine';
