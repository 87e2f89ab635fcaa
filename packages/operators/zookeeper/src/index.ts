/**
 * `@ballast/zookeeper`: the ZooKeeper operator. `zookeeper` is its
 * descriptor (what the `ballast` CLI, the chart generator and the build
 * read, and what `runOperator` runs); the kind (`ZooKeeperEnsemble`), the
 * ZooKeeper port and the pure plans are exported for tools and tests.
 */
export { type MemberReport, ZooKeeperAdmin, type ZooKeeperPort } from "./admin/index.ts";
export {
  group,
  version,
  type ZooKeeperEnsemble as ZooKeeperEnsembleObject,
  ZooKeeperEnsemble,
  type ZooKeeperEnsembleStatus,
} from "./api.ts";
export { crds, type ZooKeeperBuildOptions, zookeeper } from "./operator.ts";
export { annotations, labels, servingGate } from "./resources.ts";
