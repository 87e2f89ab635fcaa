/**
 * status: pure helpers for `.status`: conditions with Kubernetes' own
 * validation rules, and equality that tells a reconcile whether to write.
 */

export {
  type Condition,
  ConditionStatus,
  ConditionType,
  type ConditionUpdate,
  findCondition,
  formatConditionTime,
  InvalidConditionError,
  isConditionTrue,
  removeCondition,
  setCondition,
  validateCondition,
} from "./conditions.ts";
export { conditionsEqual, statusEqual } from "./equal.ts";
