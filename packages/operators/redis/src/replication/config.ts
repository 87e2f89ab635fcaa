/**
 * A change of spec.config keys Redis changes at run time, applied with
 * `CONFIG SET` and no restart (which keys: plan/config.ts). Steps:
 *
 * 1. Each member pod says which dynamic settings its redis-server has live
 *    (annotation `redis.ballast.dev/config-hash`); `planConfig` lists the
 *    members behind the spec — none while one of them does not answer, or
 *    there is no master.
 * 2. When the change touches `maxmemory` or `maxmemory-policy`, the
 *    master's `used_memory` and live settings are read: a `noeviction` set
 *    below what it uses would refuse every write (`maxmemoryProblem`):
 *    Degraded `ConfigRefused`, nothing sent.
 * 3. To each member behind, the master first: one `CONFIG SET` of every
 *    dynamic setting (Redis 7 applies all or none). A refusal (an unknown
 *    key, a bad value) is Degraded `ConfigRefused` naming the keys, values
 *    and Redis's message: nothing else is sent, and the pipeline stops
 *    here, so no pod is restarted for a spec Redis refuses.
 * 4. `CONFIG GET` of the same keys on that member (each must be there),
 *    then its pod's annotations record the new settings (and every key
 *    ever set on it: one the spec drops later can only be reset to its
 *    default by a restart, roll.ts `isStale`).
 * 5. Once every member has them: `status.config` records what was
 *    applied and what the master reports (CONFIG GET), and the ConfigMap
 *    gives them to every redis-server that starts from then on.
 *
 * Not disruptive (no restart, no failover), so all members are brought up
 * to date in one reconcile rather than one per reconcile.
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "@ballast/stateful";
import { type MemberAddress, RedisPortError } from "../admin/port.ts";
import {
  type ConfigMember,
  maxmemoryProblem,
  parseMemory,
  planConfig,
  type Settings,
  settingsHash,
  splitConfig,
} from "../plan/config.ts";
import type { ReplicationObservation } from "../plan/state.ts";
import { annotations, configAnnotations, podConfigKeys } from "../resources.ts";
import type { ReplicationScope } from "./scope.ts";

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export async function applyConfig(
  s: ReplicationScope,
  obs: ReplicationObservation,
): Promise<StepResult> {
  const { dynamic } = splitConfig(s.r.spec.config);
  const hash = settingsHash(dynamic);
  // 1.
  const members: ConfigMember[] = (s.members() ?? [])
    .filter((m) => !m.removing)
    .flatMap((m) => {
      const pod = s.pods.get(m.id);
      if (!pod || pod.metadata.deletionTimestamp) return [];
      const report = obs.members.find((o) => o.id === m.id)?.report;
      return [
        {
          id: m.id,
          applied: pod.metadata.annotations?.[annotations.configHash],
          answers: report?.reachable === true,
        },
      ];
    });
  const decision = planConfig(hash, members, s.master);
  if (decision.kind === "wait") return "continue";
  if (decision.kind === "done") return record(s, dynamic, hash);
  const master = s.master;
  const masterAddress = master === undefined ? undefined : s.address(master);
  if (!masterAddress) return "continue";
  try {
    // 2.
    const memory = await memoryProblem(s, masterAddress, dynamic);
    if (memory) return refuse(s, memory);
    // 3. and 4.
    for (const id of decision.ids) {
      const address = s.address(id);
      if (!address) return Action.requeueAfter(s.busyMs);
      try {
        await s.redis.configSetAll(address, dynamic);
      } catch (err) {
        if (err instanceof RedisPortError && err.reason === "error") {
          // A value of a key that looks like a secret is not repeated (the port redacts it too).
          const sent = dynamic
            .map(([k, v]) => `${k} ${/pass|auth/i.test(k) ? "<redacted>" : JSON.stringify(v)}`)
            .join(", ");
          return refuse(
            s,
            `spec.config: Redis refused CONFIG SET ${sent} on member ${id}: ${err.message}. Fix or remove the setting; nothing was applied and no pod restarted`,
          );
        }
        throw err;
      }
      const got = await s.redis.configGet(
        address,
        dynamic.map(([k]) => k),
      );
      const missing = dynamic.filter(([k]) => !(k in got)).map(([k]) => k);
      if (missing.length > 0)
        return refuse(
          s,
          `spec.config: member ${id} accepted CONFIG SET but CONFIG GET does not report ${missing.join(", ")}; remove them or set them as Redis names them`,
        );
      const pod = s.pods.get(id);
      await s.ctx.client.patch(
        Pod,
        { namespace: s.namespace, name: pod?.metadata.name ?? "" },
        { metadata: { annotations: configAnnotations(dynamic, pod ? podConfigKeys(pod) : []) } },
        { signal: s.ctx.signal },
      );
    }
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    s.event("ConfigNotApplied", "ConfigSet", err.message, "Warning");
    return Action.requeueAfter(s.busyMs);
  }
  s.event(
    "ConfigApplied",
    "ConfigSet",
    `${dynamic.map(([k, v]) => `${k}=${v}`).join(", ") || "no dynamic settings"} on members ${decision.ids.join(", ")}, no restart`,
  );
  // 5. Next reconcile, from the annotations as the API server then holds them.
  return Action.requeueAfter(0);
}

async function memoryProblem(
  s: ReplicationScope,
  master: MemberAddress,
  dynamic: Settings,
): Promise<string | undefined> {
  if (!dynamic.some(([k]) => k === "maxmemory" || k === "maxmemory-policy")) return undefined;
  const [usedMemory, live] = await Promise.all([
    s.redis.usedMemory(master),
    s.redis.configGet(master, ["maxmemory", "maxmemory-policy"]),
  ]);
  return maxmemoryProblem(dynamic, {
    id: master.id,
    usedMemory,
    maxmemory: parseMemory(live.maxmemory ?? "0") ?? 0,
    policy: live["maxmemory-policy"] ?? "noeviction",
  });
}

/** Degraded, nothing sent; looked at again only slowly (the user must change the spec, which triggers a reconcile). */
async function refuse(s: ReplicationScope, message: string): Promise<StepResult> {
  await s.writeStatus({ degraded: { reason: "ConfigRefused", message } });
  return Action.requeueAfter(s.idleMs);
}

/** Step 5. */
async function record(s: ReplicationScope, dynamic: Settings, hash: string): Promise<StepResult> {
  if (s.status.config?.hash === hash) return "continue";
  // Nothing dynamic ever set: nothing to record (and no status write for every set on upgrade).
  if (dynamic.length === 0 && !s.status.config) return "continue";
  const master = s.master === undefined ? undefined : s.address(s.master);
  if (!master) return "continue";
  let live: Record<string, string>;
  try {
    live = await s.redis.configGet(
      master,
      dynamic.map(([k]) => k),
    );
  } catch (err) {
    if (!(err instanceof RedisPortError)) throw err;
    return "continue";
  }
  await s.writeStatus({
    config: { hash, applied: Object.fromEntries(dynamic), live, at: s.now().toISOString() },
  });
  return "continue";
}
