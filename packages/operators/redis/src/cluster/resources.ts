/**
 * The Kubernetes objects a RedisCluster should have, as pure functions of
 * the cluster and its members, on `@ballast/stateful`'s resource helpers.
 *
 * Each member is a pod `<name>-<id>` running one redis-server with
 * `cluster-enabled yes` and its `nodes.conf` on the member's volume, so a
 * pod that comes back — on any node, with any IP — is the same Redis node
 * (same node id, same slots, same epoch). Identity for clients is a stable
 * DNS name: nodes announce `<pod>.<name>-nodes.<ns>.svc.cluster.local`
 * (`cluster-announce-hostname`, `cluster-preferred-endpoint-type
 * hostname`), so MOVED/ASK redirects and `CLUSTER SLOTS` name hosts, not
 * IPs a restart changes. The cluster bus itself needs IPs: each node
 * announces its pod IP of the moment (`cluster-announce-ip`), and the
 * operator tells every node every other's new address after a restart
 * (plan/repairs.ts `meet`).
 *
 * Members of one shard prefer different nodes (and zones), so a node loss
 * takes a master or its replica, not both.
 *
 * The password is never in a ConfigMap or a pod spec: pods read it from
 * the Secret and the start script appends it to the private copy of
 * redis.conf it runs from.
 */
import type { ApplyObject, KubeObject } from "@ballast/runtime";
import {
  templateHash as hashOf,
  headlessService as headless,
  memberClaim,
  memberDisruptionBudget,
  memberSpread,
  namespaceOf,
  ownedMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type SetIdentity,
  selectorLabels as setSelector,
} from "@ballast/stateful";
import type { ClusterMemberAddress } from "../admin/cluster-port.ts";
import { defaultImage, type Engine, programs } from "../engine.ts";
import { annotations, dataPath, managedBy, ports } from "../resources.ts";
import { hasUsers, usersScriptLines, usersVolumes } from "../users/pod.ts";
import type { RedisCluster } from "./api.ts";

type RC = RedisCluster;

export const clusterIdentity: SetIdentity = { system: "redis-cluster", managedBy };

export const clusterLabels = {
  memberId: "redis.ballast.dev/member-id",
  shard: "redis.ballast.dev/shard",
} as const;

/** The node's readiness gate: True when it serves (plan/view.ts `notServing`). */
export const clusterServingGate = "redis.ballast.dev/serving";

export const busPort = ports.redis + 10000;
const configPath = "/etc/redis-operator";
/** The official image's `redis` user. */
const uid = 999;

export const clusterNames = {
  pod: (r: RC, id: number) => `${r.metadata.name}-${id}`,
  claim: (r: RC, id: number) => `data-${r.metadata.name}-${id}`,
  headless: (r: RC) => `${r.metadata.name}-nodes`,
  client: (r: RC) => r.metadata.name ?? "",
  config: (r: RC) => `${r.metadata.name}-config`,
  secret: (r: RC) => r.spec.auth?.secretName ?? `${r.metadata.name}-redis-auth`,
  budget: (r: RC) => `${r.metadata.name}-redis-cluster`,
};

export function clusterSelector(r: RC): Record<string, string> {
  return setSelector(clusterIdentity.system, r);
}

export function nodeHost(r: RC, id: number): string {
  return `${clusterNames.pod(r, id)}.${clusterNames.headless(r)}.${namespaceOf(r)}.svc.cluster.local`;
}

export function nodeAddress(r: RC, id: number): ClusterMemberAddress {
  return { id, host: nodeHost(r, id), port: ports.redis };
}

export function clusterImage(r: RC): string {
  return r.spec.image ?? defaultImage(r.spec.engine, r.spec.version);
}

function persistent(r: RC): boolean {
  return r.spec.persistence.mode !== "none";
}

export function clusterOwnedConfig(r: RC): [string, string][] {
  const mode = r.spec.persistence.mode;
  return [
    ["port", String(ports.redis)],
    ["dir", dataPath],
    ["appendonly", mode === "aof" ? "yes" : "no"],
    ...(mode === "none" ? [["save", '""'] as [string, string]] : []),
    ["replica-read-only", "yes"],
    ["cluster-enabled", "yes"],
    ["cluster-config-file", `${dataPath}/nodes.conf`],
    ["cluster-node-timeout", String(r.spec.nodeTimeoutMilliseconds ?? 5000)],
    ["cluster-preferred-endpoint-type", "hostname"],
    // A shard without a master stops the whole cluster's writes: a client
    // never writes to a cluster that has lost slots, and a reshard never
    // runs while a slot is uncovered.
    ["cluster-require-full-coverage", "yes"],
    // Which shard a node belongs to is the operator's (status.nodes[].shard,
    // the pod's shard label): Redis moving a replica to an orphaned master
    // would be undone by the repairs, and leave its own shard short.
    ["cluster-allow-replica-migration", "no"],
  ];
}

export function clusterRedisConfig(r: RC): string {
  const owned = clusterOwnedConfig(r);
  const ownedKeys = new Set(owned.map(([k]) => k));
  const user = Object.entries(r.spec.config ?? {})
    .filter(([k]) => !ownedKeys.has(k))
    .map(([k, v]) => [k, String(v)] as const);
  return `${[...user, ...owned].map(([k, v]) => `${k} ${v}`).join("\n")}\n`;
}

export function clusterConfigMap(r: RC): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMeta(clusterIdentity, r, clusterNames.config(r)),
    data: { "redis.conf": clusterRedisConfig(r) },
  };
}

/** The node's start script: the shared config, then what is this pod's (its addresses, the password). */
export function clusterScript(engine?: Engine, withUsers = false): string {
  const { server } = programs(engine);
  return [
    "set -eu",
    "umask 077",
    `conf=${dataPath}/redis.conf`,
    `cp ${configPath}/redis.conf "$conf"`,
    "printf '%s\\n' \\",
    '  "cluster-announce-hostname $NODE_HOST" \\',
    '  "cluster-announce-ip $POD_IP" \\',
    '  "requirepass $REDIS_PASSWORD" \\',
    '  "masterauth $REDIS_PASSWORD" >> "$conf"',
    ...usersScriptLines(withUsers),
    `if [ -s ${dataPath}/nodes.conf ]; then echo "starting as node $(head -c 40 ${dataPath}/nodes.conf 2>/dev/null || true)…"; else echo "starting as a new node"; fi`,
    `exec ${server} "$conf"`,
  ].join("\n");
}

export function clusterTemplateHash(r: RC): string {
  return hashOf({
    image: clusterImage(r),
    config: clusterRedisConfig(r),
    script: clusterScript(r.spec.engine, hasUsers(r)),
    resources: r.spec.resources ?? null,
    secret: clusterNames.secret(r),
    restart: r.metadata.annotations?.[annotations.restartRequested] ?? null,
  });
}

export function clusterPod(r: RC, id: number, shard: number): KubeObject & { spec: unknown } {
  const spread = memberSpread(clusterSelector(r));
  const shardSelector = { ...clusterSelector(r), [clusterLabels.shard]: String(shard) };
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...ownedMeta(clusterIdentity, r, clusterNames.pod(r, id), {
        [clusterLabels.memberId]: String(id),
        [clusterLabels.shard]: String(shard),
      }),
      annotations: { [annotations.templateHash]: clusterTemplateHash(r) },
    },
    spec: {
      hostname: clusterNames.pod(r, id),
      subdomain: clusterNames.headless(r),
      readinessGates: [{ conditionType: clusterServingGate }],
      terminationGracePeriodSeconds: 30,
      restartPolicy: "Always",
      securityContext: restrictedPodSecurityContext(uid),
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            // A shard's master and replicas apart first (zone, then node), then the set as a whole.
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: "topology.kubernetes.io/zone",
                labelSelector: { matchLabels: shardSelector },
              },
            },
            {
              weight: 90,
              podAffinityTerm: {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: { matchLabels: shardSelector },
              },
            },
            ...spread.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution.map(
              (t) => ({ ...t, weight: 10 }),
            ),
          ],
        },
      },
      topologySpreadConstraints: spread.topologySpreadConstraints,
      containers: [
        {
          name: "redis",
          image: clusterImage(r),
          command: ["/bin/sh", "-c", clusterScript(r.spec.engine, hasUsers(r))],
          env: [
            {
              name: "REDIS_PASSWORD",
              valueFrom: { secretKeyRef: { name: clusterNames.secret(r), key: "password" } },
            },
            { name: "NODE_HOST", value: nodeHost(r, id) },
            { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          ],
          ports: [
            { name: "redis", containerPort: ports.redis },
            { name: "bus", containerPort: busPort },
          ],
          readinessProbe: {
            tcpSocket: { port: ports.redis },
            periodSeconds: 2,
            failureThreshold: 2,
          },
          ...(r.spec.resources ? { resources: r.spec.resources } : {}),
          securityContext: restrictedContainerSecurityContext(),
          volumeMounts: [
            { name: "data", mountPath: dataPath },
            { name: "config", mountPath: configPath, readOnly: true },
            ...usersVolumes(r).volumeMounts,
          ],
        },
      ],
      volumes: [
        persistent(r)
          ? { name: "data", persistentVolumeClaim: { claimName: clusterNames.claim(r, id) } }
          : { name: "data", emptyDir: {} },
        { name: "config", configMap: { name: clusterNames.config(r) } },
        ...usersVolumes(r).volumes,
      ],
    },
  };
}

export function clusterClaim(r: RC, id: number): KubeObject & { spec: unknown } {
  const storage = r.spec.persistence.storage ?? { size: "1Gi" };
  return memberClaim(
    clusterIdentity,
    r,
    clusterNames.claim(r, id),
    { [clusterLabels.memberId]: String(id) },
    storage,
  );
}

/** Nodes find each other (and MOVED names resolve) before any is ready. */
export function clusterHeadless(r: RC): ApplyObject {
  return headless(clusterIdentity, r, clusterNames.headless(r), [
    { name: "redis", port: ports.redis },
    { name: "bus", port: busPort },
  ]);
}

/** The clients' seed: every serving node (a cluster client learns the rest from it). */
export function clusterClientService(r: RC): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMeta(clusterIdentity, r, clusterNames.client(r)),
    spec: {
      selector: clusterSelector(r),
      ports: [{ name: "redis", port: ports.redis }],
    },
  };
}

export function clusterBudget(r: RC, memberCount: number): ApplyObject {
  return memberDisruptionBudget(clusterIdentity, r, clusterNames.budget(r), memberCount);
}

export function clusterEndpoint(r: RC): string {
  return `${clusterNames.client(r)}.${namespaceOf(r)}.svc:${ports.redis}`;
}
