/**
 * `@ballast/stateful/testing`: helpers for act-layer tests of operators
 * built on the member set, kept out of the production entry.
 *
 * - `FakeKubernetes`: an API server that keeps objects in memory, records
 *   every write (and a fake data port's calls) in order, kills the
 *   operator before a chosen write, starts pods as a kubelet would, and
 *   builds the `ControllerContext` a reconcile gets.
 */
export {
  FakeKubernetes,
  type FakeKubernetesOptions,
  type KubeWrite,
  OperatorKilled,
  type Stored,
} from "./testing/fake-kubernetes.ts";
