/**
 * Which instances the cluster has, on the shared `planMembership`: ids
 * from 0, `spec.instances` of them, the lowest free ones first. A
 * scale-down takes the newest instances that are not the primary: the
 * primary is never removed (a switchover would have to come first, and a
 * scale-down does not ask for one).
 */
import { type Member, type MembershipChange, planMembership as plan } from "@ballast/stateful";
import type { PostgresCluster } from "../api.ts";

export function planMembership(
  r: PostgresCluster,
  current: readonly Member[] | undefined,
): MembershipChange<Member> {
  const desired = r.spec.instances;
  const primary = r.status?.primary?.id;
  return plan(current, {
    desired,
    firstId: 0,
    initial: () => Array.from({ length: desired }, (_, id) => ({ id })),
    create: (id) => ({ id }),
    removable: (m) => m.id !== primary,
    refusal: (have, removable) =>
      `cannot remove ${have - desired} of ${have} instances: only ${removable} are not the primary (instance ${primary})`,
  });
}
