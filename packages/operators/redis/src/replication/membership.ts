/**
 * Which members the set has, on the shared `planMembership`: ids from 0,
 * `spec.replicas + 1` of them (the master among them), the lowest free
 * ones first. A scale-down takes the newest members that are not the
 * master: the master is never removed (a controlled failover would have
 * to come first, and a scale-down does not ask for one).
 */
import { type Member, type MembershipChange, planMembership as plan } from "@ballast/stateful";
import type { RedisReplication } from "../api.ts";

export function planMembership(
  r: RedisReplication,
  current: readonly Member[] | undefined,
): MembershipChange<Member> {
  const desired = r.spec.replicas + 1;
  const master = r.status?.master;
  return plan(current, {
    desired,
    firstId: 0,
    initial: () => Array.from({ length: desired }, (_, id) => ({ id })),
    create: (id) => ({ id }),
    removable: (m) => m.id !== master,
    refusal: (have, removable) =>
      `cannot remove ${have - desired} of ${have} members: only ${removable} are not the master (member ${master})`,
  });
}
