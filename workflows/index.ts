export { eventWorkflow } from './event';
export { machineRunWorkflow } from './machine-run';
export { machineWorkflow } from './machine';
export { planSchedulerWorkflow, pipelineSchedulerWorkflow } from './schedulers';
export { pipelineRunWorkflow } from './pipeline-run';
