import { orchestration } from './a-orchestration';
import { concurrency } from './b-concurrency';
import { sweep } from './c-sweep';
import { parallelHooks } from './d-parallel-hooks';
import { longPatches } from './e-long-patches';
import type { Scenario } from './common';

/** Every event scenario of issue 7, in the order `npm run bench` runs them. */
export const SCENARIOS: Scenario<never>[] = [
  orchestration,
  concurrency,
  sweep,
  parallelHooks,
  longPatches,
] as unknown as Scenario<never>[];
