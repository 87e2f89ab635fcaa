/**
 * Validate before acting: every `spec.config` value is checked with Kafka's
 * own knowledge before the ConfigMap, a pod or a broker's dynamic config is
 * changed. Steps:
 *
 * 1. Ask one broker that is up for its configs (DescribeConfigs): each
 *    key's type as this version defines it, and whether it is dynamic. No
 *    broker answers (bring-up, every pod down) → `knownTypes` only.
 * 2. The pure checks (plan/validate.ts): each value parses as its type,
 *    and the cross-field rules (min ISR and replication factors ≤ brokers).
 * 3. Each dynamic key whose value differs from what that broker runs with
 *    is sent to it with IncrementalAlterConfigs validateOnly, one key at a
 *    time so Kafka's refusal names the key: Kafka parses and range-checks
 *    it and changes nothing.
 *
 * Any problem → the pipeline stops before touching anything (Degraded
 * InvalidConfig). Why before the object sync: the ConfigMap holds every
 * node's server.properties, and a container that restarts (even one not
 * being rolled) reads it again.
 */
import { containersReady } from "@ballast/stateful";
import { KafkaAdminError } from "../admin/errors.ts";
import {
  type ConfigProblem,
  type ConfigType,
  configProblems,
  knownTypes,
} from "../plan/validate.ts";
import { userConfig } from "../resources.ts";
import type { ClusterAdmin } from "./admin-pool.ts";
import type { MemberNode } from "./membership.ts";
import { adminFor } from "./observe.ts";
import type { ClusterScope } from "./scope.ts";

/** Codes with which Kafka refuses a value (not a failure to answer). */
const REFUSALS = new Set(["INVALID_CONFIG", "INVALID_REQUEST", "POLICY_VIOLATION"]);

export async function checkConfig(
  s: ClusterScope,
  nodes: readonly MemberNode[],
): Promise<ConfigProblem[]> {
  const config = userConfig(s.c);
  if (Object.keys(config).length === 0) return [];
  // 1.
  const admin = adminFor(s, nodes);
  const broker = admin ? await describeOne(s, admin, nodes) : undefined;
  const types = new Map<string, ConfigType>(knownTypes);
  for (const [key, entry] of broker?.entries ?? [])
    if (entry.type && entry.type !== "unknown") types.set(key, entry.type);
  // 2.
  const problems = configProblems(config, { brokers: s.c.spec.brokers, types });
  if (!admin || !broker) return problems;
  // 3.
  const flagged = new Set(problems.map((p) => p.key));
  for (const [key, value] of Object.entries(config).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const entry = broker.entries.get(key);
    if (flagged.has(key) || !entry || entry.readOnly || entry.value === value) continue;
    try {
      await admin.validateBrokerConfig(broker.id, { [key]: value });
    } catch (err) {
      if (!(err instanceof KafkaAdminError && REFUSALS.has(err.codeName ?? ""))) throw err;
      problems.push({
        key,
        value,
        reason: `is refused by Kafka: ${err.serverMessage ?? err.message}`,
      });
    }
  }
  return problems.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Step 1: the configs of the first broker whose pod is up and that answers; undefined when none does. */
async function describeOne(
  s: ClusterScope,
  admin: ClusterAdmin,
  nodes: readonly MemberNode[],
): Promise<{ id: number; entries: Awaited<ReturnType<ClusterAdmin["brokerConfig"]>> } | undefined> {
  for (const node of nodes) {
    const p = s.pods.get(node.id);
    if (!node.roles.includes("broker") || !p || !containersReady(p)) continue;
    try {
      return { id: node.id, entries: await admin.brokerConfig(node.id) };
    } catch (err) {
      // Up but not (yet) registered, or gone since: the next one may answer.
      s.ctx.log.debug("no config types from this broker", { node: node.id, error: String(err) });
    }
  }
  return undefined;
}
