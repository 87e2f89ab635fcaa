/**
 * Which members the ensemble has, on the shared `planMembership`: ids
 * from 1 (ZooKeeper's myid), the lowest free ones first, so a member
 * removed and later re-added gets its old id back — on a fresh volume,
 * since its claim was deleted once the ensemble no longer listed it.
 */
import { type Member, type MembershipChange, planMembership as plan } from "@ballast/stateful";
import type { ZooKeeperEnsemble } from "../api.ts";

export function planMembership(
  e: ZooKeeperEnsemble,
  current: readonly Member[] | undefined,
): MembershipChange<Member> {
  return plan(current, {
    desired: e.spec.replicas,
    firstId: 1,
    initial: () => Array.from({ length: e.spec.replicas }, (_, i) => ({ id: i + 1 })),
    create: (id) => ({ id }),
    // Every member may go; the reconfig plan keeps the majority.
    refusal: (have, removable) => `cannot remove ${have - removable} of ${have} members`,
  });
}
