export { eventWorkflow } from './event';
export { machineRunWorkflow } from './machine-run';
export { machineCommandQueueWorkflow, machineWorkflow } from './machine-command-queue';
export { planSchedulerWorkflow, pipelineSchedulerWorkflow } from './schedulers';
export { pipelineRunWorkflow } from './pipeline-run';
export { configNoticeWorkflow } from './config-notice';
export { pingMachinesWorkflow } from './pings';
export { eventPreviewWorkflow } from './preview';
