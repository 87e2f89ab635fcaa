/**
 * The Kubernetes objects a RedisReplication should have, as pure functions
 * of the set and its member list, on `@ballast/stateful`'s resource helpers
 * (labels, claims, headless Services, budgets, security contexts).
 *
 * Two kinds of pod, told apart by `app.kubernetes.io/name` so that each
 * headless Service and budget selects only its own:
 * - members (`redis`): `<name>-<id>`, one redis-server each, with a volume
 *   per member unless persistence is none;
 * - sentinels (`redis-sentinel`): `<name>-sentinel-<id>`, no volume.
 *
 * Identity is a stable DNS name, never a pod IP: members announce
 * `<pod>.<name>-members.<ns>.svc.cluster.local` (`replica-announce-ip`),
 * sentinels resolve and announce hostnames, so a pod restarted with a new
 * IP is the same member to every replica, master and sentinel.
 *
 * Who a member follows is decided at EVERY start by its script, never by
 * the pod spec: the sentinels' answer first (`SENTINEL
 * get-master-addr-by-name` on each, the most named wins), the operator's
 * hint (the master it last recorded, fixed when the pod was made) only
 * when no sentinel knows a master. A member starts as master only when a
 * majority of the sentinels name it — or, no sentinel knowing one, when
 * the hint names it (bring-up: member 0). An old master that comes back
 * after a failover therefore starts as a replica of the new one. One that
 * comes back BEFORE the sentinels noticed it was gone, while another
 * member holds data (a replication offset), does not start: it waits for
 * the sentinels to fail over to a replica. Restarted from its own files
 * it could miss the last writes its replicas acknowledged (appendfsync
 * everysec), and the replicas would resync from it and lose them too;
 * without persistence it would be empty and wipe them all.
 *
 * The password is never in a ConfigMap or a pod spec: pods read it from
 * the Secret (`secretKeyRef`) and the start script appends `requirepass`
 * and `masterauth` to the private copy of redis.conf it runs from;
 * redis-cli gets it through `REDISCLI_AUTH`, not its argv.
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
  wellKnownLabels,
} from "@ballast/stateful";
import type { MemberAddress, SentinelAddress } from "./admin/port.ts";
import type { RedisReplication } from "./api.ts";
import { defaultImage, type Engine, programs } from "./engine.ts";
import { type Settings, settingsHash, splitConfig } from "./plan/config.ts";
import { majority } from "./plan/state.ts";
import { hasUsers, usersScriptLines, usersVolumes } from "./users/pod.ts";

export { namespaceOf };

type Repl = RedisReplication;

export const managedBy = "ballast-redis-operator";
export const identity: SetIdentity = { system: "redis", managedBy };
export const sentinelIdentity: SetIdentity = { system: "redis-sentinel", managedBy };

export const labels = {
  ...wellKnownLabels,
  memberId: "redis.ballast.dev/member-id",
  sentinelId: "redis.ballast.dev/sentinel-id",
  /**
   * `master` on THE master's pod only, `replica` on the others: the master
   * and replicas Services select on it. Set by the operator (service.ts).
   */
  role: "redis.ballast.dev/role",
} as const;

export const annotations = {
  /** Hash of everything a change of needs a restart (image, redis.conf, script, resources). */
  templateHash: "redis.ballast.dev/template-hash",
  /** Set by users (or `ballast roll`) on the set: a new value rolls every member. */
  restartRequested: "redis.ballast.dev/restart-requested",
  /**
   * On a member pod: `settingsHash` of the dynamic spec.config settings
   * live on its redis-server — those its redis.conf had at start, then
   * each set the operator applied with CONFIG SET (replication/config.ts).
   */
  configHash: "redis.ballast.dev/config-hash",
  /**
   * On a member pod: the dynamic keys ever set on its redis-server, comma
   * separated. One the spec no longer sets is still live (Redis has no
   * reset to default): the member is then restarted by the roll.
   */
  configKeys: "redis.ballast.dev/config-keys",
} as const;

/**
 * The member pod's readiness gate: True when the member serves — the
 * master accepting writes, a replica linked and in sync with it — so
 * `Ready` (and the Services' endpoints) means serving, not "port open".
 */
export const servingGate = "redis.ballast.dev/serving";

export const ports = { redis: 6379, sentinel: 26379 } as const;

export const dataPath = "/data";
const configPath = "/etc/redis-operator";
/** The official image's `redis` user. */
const uid = 999;

export const names = {
  pod: (r: Repl, id: number) => `${r.metadata.name}-${id}`,
  sentinelPod: (r: Repl, id: number) => `${r.metadata.name}-sentinel-${id}`,
  claim: (r: Repl, id: number) => `data-${r.metadata.name}-${id}`,
  headless: (r: Repl) => `${r.metadata.name}-members`,
  sentinelHeadless: (r: Repl) => `${r.metadata.name}-sentinel`,
  master: (r: Repl) => `${r.metadata.name}-master`,
  replicas: (r: Repl) => `${r.metadata.name}-replicas`,
  config: (r: Repl) => `${r.metadata.name}-config`,
  sentinelConfig: (r: Repl) => `${r.metadata.name}-sentinel-config`,
  /** The password every redis-server and sentinel requires (key `password`). */
  secret: (r: Repl) => r.spec.auth?.secretName ?? `${r.metadata.name}-redis-auth`,
  budget: (r: Repl) => `${r.metadata.name}-redis`,
  sentinelBudget: (r: Repl) => `${r.metadata.name}-redis-sentinel`,
  /** The name the sentinels monitor the set under. */
  masterName: (r: Repl) => r.metadata.name ?? "",
};

export const passwordKey = "password";

/** The member that starts as master when no sentinel knows one yet (bring-up). */
export const bootstrapMaster = 0;

export function selectorLabels(r: Repl): Record<string, string> {
  return setSelector(identity.system, r);
}

export function sentinelSelector(r: Repl): Record<string, string> {
  return setSelector(sentinelIdentity.system, r);
}

/** The DNS name a member announces and is reached by. */
export function memberHost(r: Repl, id: number): string {
  return `${names.pod(r, id)}.${names.headless(r)}.${namespaceOf(r)}.svc.cluster.local`;
}

export function sentinelHost(r: Repl, id: number): string {
  return `${names.sentinelPod(r, id)}.${names.sentinelHeadless(r)}.${namespaceOf(r)}.svc.cluster.local`;
}

export function memberAddress(r: Repl, id: number): MemberAddress {
  return { id, host: memberHost(r, id), port: ports.redis };
}

export function sentinelAddress(r: Repl, id: number): SentinelAddress {
  return { id, host: sentinelHost(r, id), port: ports.sentinel };
}

export function image(r: Repl): string {
  return r.spec.image ?? defaultImage(r.spec.engine, r.spec.version);
}

export function persistent(r: Repl): boolean {
  return r.spec.persistence.mode !== "none";
}

export function sentinelIds(r: Repl): number[] {
  return Array.from({ length: r.spec.sentinels }, (_, i) => i);
}

export function quorum(r: Repl): number {
  return majority(r.spec.sentinels);
}

export function downAfterMs(r: Repl): number {
  return r.spec.sentinel?.downAfterMilliseconds ?? 5000;
}

export function failoverTimeoutMs(r: Repl): number {
  return r.spec.sentinel?.failoverTimeoutMilliseconds ?? 60_000;
}

/** The directives the operator owns, as redis.conf lines (the per-member and secret ones come from the script). */
export function ownedConfig(r: Repl): [string, string][] {
  const mode = r.spec.persistence.mode;
  return [
    ["port", String(ports.redis)],
    ["dir", dataPath],
    ["appendonly", mode === "aof" ? "yes" : "no"],
    // No snapshots without a volume to keep them on.
    ...(mode === "none" ? [["save", '""'] as [string, string]] : []),
    ["replica-read-only", "yes"],
    ["min-replicas-to-write", String(r.spec.minReplicasToWrite ?? 0)],
    ["min-replicas-max-lag", String(r.spec.minReplicasMaxLag ?? 10)],
  ];
}

/**
 * The dynamic spec.config settings a redis-server started now gets from
 * its redis.conf: those the operator applied with CONFIG SET and Redis
 * accepted (`status.config.applied`), not the spec's, so a value Redis
 * refuses never reaches a pod's file (redis-server would not start). A
 * set without that record (bring-up, or made by an operator before it)
 * starts with none: the config step applies them once the members answer.
 */
export function startingSettings(r: Repl): Settings {
  return Object.entries(r.status?.config?.applied ?? {}).map(([k, v]) => [k, String(v)] as const);
}

/**
 * The shared redis.conf: the user's settings that need a restart, then
 * `dynamic` (the applied dynamic ones, `startingSettings`), then the owned
 * ones (which the schema keeps apart). With no dynamic settings the text
 * is what earlier operators wrote for the same spec, so the template
 * hash, which hashes it, is unchanged by an operator upgrade.
 */
export function redisConfig(r: Repl, dynamic: Settings = startingSettings(r)): string {
  const owned = ownedConfig(r);
  const ownedKeys = new Set(owned.map(([k]) => k));
  const user = [...splitConfig(r.spec.config).restart, ...dynamic].filter(
    ([k]) => !ownedKeys.has(k),
  );
  const all = [...user, ...owned];
  return `${all.map(([k, v]) => `${k} ${v}`).join("\n")}\n`;
}

/** The sentinels' static head; the script appends the monitor and what names this sentinel. */
export function sentinelConfig(): string {
  return [
    `port ${ports.sentinel}`,
    `dir ${dataPath}`,
    // Before `sentinel monitor`: the master is named by its DNS name.
    "sentinel resolve-hostnames yes",
    "sentinel announce-hostnames yes",
    "",
  ].join("\n");
}

export function configMap(r: Repl): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMeta(identity, r, names.config(r)),
    data: { "redis.conf": redisConfig(r) },
  };
}

export function sentinelConfigMap(r: Repl): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: ownedMeta(sentinelIdentity, r, names.sentinelConfig(r)),
    data: { "sentinel.conf": sentinelConfig() },
  };
}

/**
 * `ask_sentinels` prints "<count> <host>": the master most of the
 * answering sentinels name, and how many do (nothing when none answers or
 * knows the set). Only lines that look like a host name are counted, so an
 * error reply (NOAUTH, ERR) counts for nobody.
 */
const askSentinels = (cli: string) => [
  "ask_sentinels() {",
  "  for s in $SENTINEL_HOSTS; do",
  `    [ "$s" = "\${SELF_HOST:-}" ] && continue`,
  `    REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 ${cli} --raw -h "$s" -p ${ports.sentinel} SENTINEL get-master-addr-by-name "$MASTER_NAME" 2>/dev/null | head -n 1 || true`,
  "  done | grep -E '^[A-Za-z0-9.-]+$' | sort | uniq -c | sort -rn | head -n 1",
  "}",
];

/** The member's start script: see the module comment for the rules it follows. */
export function memberScript(engine?: Engine, withUsers = false): string {
  const { server, cli } = programs(engine);
  return [
    "set -eu",
    "umask 077",
    ...askSentinels(cli),
    // Another member with a replication offset: it holds data an empty master would wipe.
    "others_hold_data() {",
    "  for h in $MEMBER_HOSTS; do",
    `    [ "$h" = "$MEMBER_HOST" ] && continue`,
    `    off=$(REDISCLI_AUTH="$REDIS_PASSWORD" timeout 3 ${cli} --raw -h "$h" -p ${ports.redis} INFO replication 2>/dev/null | sed -n 's/^master_repl_offset:\\([0-9]*\\).*/\\1/p' || true)`,
    `    [ "\${off:-0}" -gt 0 ] && return 0`,
    "  done",
    "  return 1",
    "}",
    "while :; do",
    "  top=$(ask_sentinels)",
    "  count=$(echo \"$top\" | awk '{print $1}')",
    "  named=$(echo \"$top\" | awk '{print $2}')",
    `  if [ -n "$named" ] && [ "$named" != "$MEMBER_HOST" ]; then master=$named; break; fi`,
    `  if [ -n "$named" ]; then`,
    `    if [ "\${count:-0}" -lt "$SENTINEL_MAJORITY" ]; then`,
    `      echo "only $count sentinel(s) name this member master ($SENTINEL_MAJORITY needed); waiting"; sleep 1; continue`,
    "    fi",
    "    if others_hold_data; then",
    `      echo "the sentinels still name this member master and other members hold data: waiting for them to fail over"; sleep 1; continue`,
    "    fi",
    "    master=; break",
    "  fi",
    `  if [ "$MASTER_HINT" != "$MEMBER_HOST" ]; then master=$MASTER_HINT; break; fi`,
    `  if [ "$PERSISTENT" = yes ] || ! others_hold_data; then master=; break; fi`,
    `  echo "no sentinel knows a master, this member has no volume and other members hold data: waiting"; sleep 1`,
    "done",
    `conf=${dataPath}/redis.conf`,
    `cp ${configPath}/redis.conf "$conf"`,
    `printf '%s\\n' "replica-announce-ip $MEMBER_HOST" "requirepass $REDIS_PASSWORD" "masterauth $REDIS_PASSWORD" >> "$conf"`,
    ...usersScriptLines(withUsers),
    `if [ -n "$master" ]; then echo "replicaof $master ${ports.redis}" >> "$conf"; echo "starting as a replica of $master"; else echo "starting as master"; fi`,
    `exec ${server} "$conf"`,
  ].join("\n");
}

/** The sentinel's start script: monitor the master the other sentinels name, else the operator's hint. */
export function sentinelScript(engine?: Engine): string {
  const { server, cli } = programs(engine);
  return [
    "set -eu",
    "umask 077",
    ...askSentinels(cli),
    "named=$(ask_sentinels | awk '{print $2}')",
    'if [ -n "$named" ]; then master=$named; else master=$MASTER_HINT; fi',
    // Sentinel refuses a config naming a host that does not resolve (yet: a pod just made).
    "tries=0",
    'until getent hosts "$master" >/dev/null 2>&1 || [ "$tries" -ge 120 ]; do',
    '  [ "$tries" = 0 ] && echo "waiting for $master to resolve"',
    "  tries=$((tries + 1)); sleep 1",
    "done",
    `conf=${dataPath}/sentinel.conf`,
    `cp ${configPath}/sentinel.conf "$conf"`,
    "printf '%s\\n' \\",
    '  "sentinel announce-ip $SELF_HOST" \\',
    '  "requirepass $REDIS_PASSWORD" \\',
    '  "sentinel sentinel-pass $REDIS_PASSWORD" \\',
    `  "sentinel monitor $MASTER_NAME $master ${ports.redis} $QUORUM" \\`,
    '  "sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD" \\',
    '  "sentinel down-after-milliseconds $MASTER_NAME $DOWN_AFTER_MS" \\',
    '  "sentinel failover-timeout $MASTER_NAME $FAILOVER_TIMEOUT_MS" \\',
    '  "sentinel parallel-syncs $MASTER_NAME 1" >> "$conf"',
    'echo "monitoring $master"',
    `exec ${server} "$conf" --sentinel`,
  ].join("\n");
}

/**
 * What a member pod is built from, hashed: a change of any of it rolls the
 * member. spec.config keys Redis changes at run time (plan/config.ts) are
 * not in it: they are applied with CONFIG SET.
 */
export function templateHash(r: Repl): string {
  return hashOf({
    image: image(r),
    // Only what needs a restart: dynamic keys are applied by CONFIG SET.
    config: redisConfig(r, []),
    script: memberScript(r.spec.engine, hasUsers(r)),
    resources: r.spec.resources ?? null,
    secret: names.secret(r),
    restart: r.metadata.annotations?.[annotations.restartRequested] ?? null,
  });
}

export function sentinelTemplateHash(r: Repl): string {
  return hashOf({
    image: image(r),
    config: sentinelConfig(),
    script: sentinelScript(r.spec.engine),
    quorum: quorum(r),
    downAfter: downAfterMs(r),
    failoverTimeout: failoverTimeoutMs(r),
    resources: r.spec.sentinel?.resources ?? null,
    secret: names.secret(r),
  });
}

/** A member pod's record of the dynamic settings live on it, and of every key ever set (`previous`). */
export function configAnnotations(
  live: Settings,
  previous: readonly string[],
): Record<string, string> {
  const keys = [...new Set([...previous, ...live.map(([k]) => k)])].sort();
  return { [annotations.configHash]: settingsHash(live), [annotations.configKeys]: keys.join(",") };
}

/** The dynamic keys a member pod's annotation says were ever set on it. */
export function podConfigKeys(pod: {
  metadata: { annotations?: Record<string, string> };
}): string[] {
  const v = pod.metadata.annotations?.[annotations.configKeys];
  return v ? v.split(",").filter((k) => k.length > 0) : [];
}

const passwordEnv = (r: Repl) => ({
  name: "REDIS_PASSWORD",
  valueFrom: { secretKeyRef: { name: names.secret(r), key: passwordKey } },
});

/**
 * A member's pod. `hint` (the master the operator last recorded) and
 * `members` (who else may hold data) are read by the start script only
 * when the sentinels know no master; they are not in the template hash,
 * since a running member never reads them again.
 */
export function pod(
  r: Repl,
  id: number,
  hint: number,
  members: readonly number[],
): KubeObject & { spec: unknown } {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...ownedMeta(identity, r, names.pod(r, id), { [labels.memberId]: String(id) }),
      annotations: {
        [annotations.templateHash]: templateHash(r),
        ...configAnnotations(startingSettings(r), []),
      },
    },
    spec: {
      hostname: names.pod(r, id),
      subdomain: names.headless(r),
      readinessGates: [{ conditionType: servingGate }],
      terminationGracePeriodSeconds: 30,
      restartPolicy: "Always",
      securityContext: restrictedPodSecurityContext(uid),
      ...memberSpread(selectorLabels(r)),
      containers: [
        {
          name: "redis",
          image: image(r),
          command: ["/bin/sh", "-c", memberScript(r.spec.engine, hasUsers(r))],
          env: [
            passwordEnv(r),
            { name: "MEMBER_HOST", value: memberHost(r, id) },
            { name: "MEMBER_HOSTS", value: members.map((m) => memberHost(r, m)).join(" ") },
            { name: "MASTER_HINT", value: memberHost(r, hint) },
            { name: "MASTER_NAME", value: names.masterName(r) },
            {
              name: "SENTINEL_HOSTS",
              value: sentinelIds(r)
                .map((s) => sentinelHost(r, s))
                .join(" "),
            },
            { name: "SENTINEL_MAJORITY", value: String(quorum(r)) },
            { name: "PERSISTENT", value: persistent(r) ? "yes" : "no" },
          ],
          ports: [{ name: "redis", containerPort: ports.redis }],
          // The port opens while the dataset loads; serving is the readiness gate's business.
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
          ? { name: "data", persistentVolumeClaim: { claimName: names.claim(r, id) } }
          : { name: "data", emptyDir: {} },
        { name: "config", configMap: { name: names.config(r) } },
        ...usersVolumes(r).volumes,
      ],
    },
  };
}

/** A sentinel's pod: its config is written at start from the current master (see `sentinelScript`). */
export function sentinelPod(r: Repl, id: number, hint: number): KubeObject & { spec: unknown } {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...ownedMeta(sentinelIdentity, r, names.sentinelPod(r, id), {
        [labels.sentinelId]: String(id),
      }),
      annotations: { [annotations.templateHash]: sentinelTemplateHash(r) },
    },
    spec: {
      hostname: names.sentinelPod(r, id),
      subdomain: names.sentinelHeadless(r),
      terminationGracePeriodSeconds: 10,
      restartPolicy: "Always",
      securityContext: restrictedPodSecurityContext(uid),
      ...memberSpread(sentinelSelector(r)),
      containers: [
        {
          name: "sentinel",
          image: image(r),
          command: ["/bin/sh", "-c", sentinelScript(r.spec.engine)],
          env: [
            passwordEnv(r),
            { name: "SELF_HOST", value: sentinelHost(r, id) },
            { name: "MASTER_HINT", value: memberHost(r, hint) },
            { name: "MASTER_NAME", value: names.masterName(r) },
            {
              name: "SENTINEL_HOSTS",
              value: sentinelIds(r)
                .map((s) => sentinelHost(r, s))
                .join(" "),
            },
            { name: "QUORUM", value: String(quorum(r)) },
            { name: "DOWN_AFTER_MS", value: String(downAfterMs(r)) },
            { name: "FAILOVER_TIMEOUT_MS", value: String(failoverTimeoutMs(r)) },
          ],
          ports: [{ name: "sentinel", containerPort: ports.sentinel }],
          readinessProbe: {
            tcpSocket: { port: ports.sentinel },
            periodSeconds: 2,
            failureThreshold: 2,
          },
          ...(r.spec.sentinel?.resources ? { resources: r.spec.sentinel.resources } : {}),
          securityContext: restrictedContainerSecurityContext(),
          volumeMounts: [
            { name: "data", mountPath: dataPath },
            { name: "config", mountPath: configPath, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "data", emptyDir: {} },
        { name: "config", configMap: { name: names.sentinelConfig(r) } },
      ],
    },
  };
}

/** Only when persistence is not none (the schema requires storage then). */
export function claim(r: Repl, id: number): KubeObject & { spec: unknown } {
  const storage = r.spec.persistence.storage ?? { size: "1Gi" };
  return memberClaim(identity, r, names.claim(r, id), { [labels.memberId]: String(id) }, storage);
}

/** Members find each other (and the sentinels find them) by name before any is ready. */
export function headlessService(r: Repl): ApplyObject {
  return headless(identity, r, names.headless(r), [{ name: "redis", port: ports.redis }]);
}

export function sentinelService(r: Repl): ApplyObject {
  return headless(sentinelIdentity, r, names.sentinelHeadless(r), [
    { name: "sentinel", port: ports.sentinel },
  ]);
}

/** A Service over the members labelled `role` (and serving: the readiness gate). */
function roleService(r: Repl, name: string, role: "master" | "replica"): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: ownedMeta(identity, r, name),
    spec: {
      selector: { ...selectorLabels(r), [labels.role]: role },
      ports: [{ name: "redis", port: ports.redis }],
    },
  };
}

export function masterService(r: Repl): ApplyObject {
  return roleService(r, names.master(r), "master");
}

export function replicasService(r: Repl): ApplyObject {
  return roleService(r, names.replicas(r), "replica");
}

/** One member down at a time for disruptions by others; the operator's own restarts follow plan/restart.ts. */
export function disruptionBudget(r: Repl, memberCount: number): ApplyObject {
  return memberDisruptionBudget(identity, r, names.budget(r), memberCount);
}

export function sentinelDisruptionBudget(r: Repl): ApplyObject {
  return memberDisruptionBudget(sentinelIdentity, r, names.sentinelBudget(r), r.spec.sentinels);
}

export function masterEndpoint(r: Repl): string {
  return `${names.master(r)}.${namespaceOf(r)}.svc:${ports.redis}`;
}

export function sentinelEndpoint(r: Repl): string {
  return `${names.sentinelHeadless(r)}.${namespaceOf(r)}.svc:${ports.sentinel}`;
}
