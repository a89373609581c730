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
