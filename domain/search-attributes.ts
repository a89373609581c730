import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, registered on the namespace by scripts/dev.sh, the test setup and the compose
 * init job, so an operator can find any run in the Temporal UI (e.g. `PatchwaveMachine = "m-…"`).
 */
export const SA = {
  kind: defineSearchAttributeKey('PatchwaveKind', SearchAttributeType.KEYWORD),
  customer: defineSearchAttributeKey('PatchwaveCustomer', SearchAttributeType.KEYWORD),
  plan: defineSearchAttributeKey('PatchwavePlan', SearchAttributeType.KEYWORD),
  pipeline: defineSearchAttributeKey('PatchwavePipeline', SearchAttributeType.KEYWORD),
  event: defineSearchAttributeKey('PatchwaveEvent', SearchAttributeType.KEYWORD),
  machine: defineSearchAttributeKey('PatchwaveMachine', SearchAttributeType.KEYWORD),
  status: defineSearchAttributeKey('PatchwaveStatus', SearchAttributeType.KEYWORD),
  windowStart: defineSearchAttributeKey('PatchwaveWindowStart', SearchAttributeType.DATETIME),
};

/** What a machine run is found by in the Temporal UI; runs started with them skip an upsert (a visibility write). */
export function machineRunSearchAttributes(ids: {
  customerId: string;
  planId: string;
  eventId: string;
  machineId: string;
}) {
  return [
    { key: SA.kind, value: 'machine-run' },
    { key: SA.customer, value: ids.customerId },
    { key: SA.plan, value: ids.planId },
    { key: SA.event, value: ids.eventId },
    { key: SA.machine, value: ids.machineId },
    { key: SA.status, value: 'IN_PROGRESS' },
  ];
}

/** The machine command queue `machine/<id>`, set by the signal-with-start that creates it. */
export function commandQueueSearchAttributes(machineId: string) {
  return [
    { key: SA.kind, value: 'machine' },
    { key: SA.machine, value: machineId },
  ];
}

/** name → CLI type, for `temporal server start-dev --search-attribute NAME=TYPE`. */
export const SEARCH_ATTRIBUTE_FLAGS: Record<string, string> = {
  PatchwaveKind: 'Keyword',
  PatchwaveCustomer: 'Keyword',
  PatchwavePlan: 'Keyword',
  PatchwavePipeline: 'Keyword',
  PatchwaveEvent: 'Keyword',
  PatchwaveMachine: 'Keyword',
  PatchwaveStatus: 'Keyword',
  PatchwaveWindowStart: 'Datetime',
};
