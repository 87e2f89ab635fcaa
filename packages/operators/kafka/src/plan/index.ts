/**
 * The Kafka operator's safety decisions: pure functions from what the
 * cluster reports (`state.ts`) to what may happen next. The controller
 * observes, asks these, and acts; nothing here does I/O.
 */

export {
  type ConfigDiff,
  configHash,
  diffConfig,
  operatorOwnedKeys,
  PropertiesSyntaxError,
  parseProperties,
  renderProperties,
  validateUserConfig,
} from "./config.ts";
export { defaultStartBoundMs, type RollHalt, rollHalt, terminationReason } from "./halt.ts";
export {
  type Assignment,
  applyMoves,
  type Move,
  planReassignment,
  ReassignmentError,
  type ReassignmentOptions,
  scaleDownBlockers,
} from "./reassign.ts";
export {
  type Blocker,
  caughtUpBlockers,
  chooseNextRestart,
  describeBlocker,
  describeBlockers,
  type RestartDecision,
  type RestartOptions,
  restartBlockers,
  restartOrder,
} from "./restart.ts";
export type * from "./state.ts";
export {
  type ConfigCheckContext,
  type ConfigProblem,
  type ConfigType,
  configProblems,
  configTypeOf,
  describeConfigProblem,
  knownTypes,
  typeProblem,
} from "./validate.ts";
