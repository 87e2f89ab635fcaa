/**
 * The Kubernetes objects a ZooKeeperEnsemble should have, as pure functions
 * of the ensemble and its member list, on `@ballast/stateful`'s resource
 * helpers (labels, claims, headless Service, budget, security contexts).
 *
 * Identity: a member's `myid` is its id in status, written into the data
 * volume by the pod's start script; it never comes from a pod ordinal.
 *
 * Configuration, in two halves as ZooKeeper's dynamic reconfiguration
 * wants it:
 * - the static zoo.cfg (one ConfigMap, the same for every member: nothing
 *   in it is per member) — copied onto the data volume at every start,
 *   because ZooKeeper rewrites the copy it runs from;
 * - the dynamic file (`server.N=` lines), on the data volume, written ONCE
 *   when the volume is new and from then on owned by ZooKeeper, which
 *   rewrites it at each reconfig. A member restarted with its volume
 *   therefore rejoins with the membership the ensemble last agreed on,
 *   never with one the operator guessed. The initial lines are only a
 *   bootstrap hint: the members that exist already, plus the member itself.
 */
import type { ApplyObject, KubeObject } from "@ballast/runtime";
import {
  type ClaimSpec,
  templateHash as hashOf,
  memberClaim,
  memberDisruptionBudget,
  headlessService as memberService,
  memberSpread,
  namespaceOf,
  ownedMeta,
  restrictedContainerSecurityContext,
  restrictedPodSecurityContext,
  type SetIdentity,
  selectorLabels as setSelector,
  wellKnownLabels,
} from "@ballast/stateful";
import type { ZooKeeperEnsemble } from "./api.ts";

export { namespaceOf };

type Ensemble = ZooKeeperEnsemble;

export const managedBy = "ballast-zookeeper-operator";
export const identity: SetIdentity = { system: "zookeeper", managedBy };

export const labels = {
  ...wellKnownLabels,
  memberId: "zookeeper.ballast.dev/member-id",
} as const;

export const annotations = {
  /** Hash of everything a change of needs a restart (image, zoo.cfg, JVM, resources). */
  templateHash: "zookeeper.ballast.dev/template-hash",
  /** Set by users (or `ballast roll`) on the ensemble: a new value rolls every member. */
  restartRequested: "zookeeper.ballast.dev/restart-requested",
} as const;

/**
 * The member pod's readiness gate: True once the member serves in the
 * ensemble (leader or synced follower), so `Ready` means serving, not
 * merely "port 2181 is open" (ZooKeeper opens it before it has a quorum).
 */
export const servingGate = "zookeeper.ballast.dev/serving";

export const ports = { client: 2181, quorum: 2888, election: 3888, admin: 8080 } as const;

export const dataPath = "/data";
const configPath = "/etc/zookeeper-operator";
/** The image runs as this uid; the data volume is given to it (fsGroup). */
const uid = 1000;

export const names = {
  pod: (e: Ensemble, id: number) => `${e.metadata.name}-${id}`,
  claim: (e: Ensemble, id: number) => `data-${e.metadata.name}-${id}`,
  headless: (e: Ensemble) => `${e.metadata.name}-members`,
  client: (e: Ensemble) => `${e.metadata.name}-client`,
  config: (e: Ensemble) => `${e.metadata.name}-config`,
  /** The superuser's password (key `password`), generated unless the user brings one. */
  superUser: (e: Ensemble) => `${e.metadata.name}-zookeeper-super`,
  budget: (e: Ensemble) => `${e.metadata.name}-zookeeper`,
};

export function selectorLabels(e: Ensemble): Record<string, string> {
  return setSelector(identity.system, e);
}

function meta(e: Ensemble, name: string, extraLabels: Record<string, string> = {}) {
  return ownedMeta(identity, e, name, extraLabels);
}

/** The DNS name the other members reach a member by (hostname + subdomain of the headless Service). */
export function memberHost(e: Ensemble, id: number): string {
  return `${names.pod(e, id)}.${names.headless(e)}.${namespaceOf(e)}.svc.cluster.local`;
}

/** The member's line of the dynamic configuration, as `reconfig -add` takes it. */
export function serverLine(e: Ensemble, id: number): string {
  return `server.${id}=${memberHost(e, id)}:${ports.quorum}:${ports.election}:participant;0.0.0.0:${ports.client}`;
}

export function image(e: Ensemble): string {
  return e.spec.image ?? `zookeeper:${e.spec.version}`;
}

/** The user's zoo.cfg settings as ZooKeeper reads them: every value text. */
export function userConfig(e: Ensemble): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(e.spec.config ?? {})) out[k] = String(v);
  return out;
}

/** Defaults the user may override (they are not owned). */
export const defaultConfig: Readonly<Record<string, string>> = {
  tickTime: "2000",
  initLimit: "10",
  syncLimit: "5",
  "autopurge.snapRetainCount": "3",
  "autopurge.purgeInterval": "1",
};

/**
 * The keys the operator relies on. ACLs stay enforced (no `skipACL`):
 * reconfig, like any write to /zookeeper/config, is allowed to the
 * superuser only, whose digest each server gets from the pod (see `pod`)
 * and whose password the operator sends with `addauth` before it.
 */
export function ownedConfig(): Record<string, string> {
  return {
    dataDir: `${dataPath}/zk`,
    reconfigEnabled: "true",
    // A one-member ensemble must still be a quorum peer, or it could never grow by reconfig.
    standaloneEnabled: "false",
    "admin.enableServer": "true",
    "admin.serverPort": String(ports.admin),
    // For people at a terminal (`echo srvr | nc`); the operator itself reads the AdminServer.
    "4lw.commands.whitelist": "srvr,mntr,conf,ruok",
    // The quorum ports bind every address, not only what the member's own DNS name resolves to.
    quorumListenOnAllIPs: "true",
  };
}

/** The static zoo.cfg every member starts from; its start script adds `dynamicConfigFile`. */
export function staticConfig(e: Ensemble): string {
  const all = { ...defaultConfig, ...userConfig(e), ...ownedConfig() };
  return `${Object.entries(all)
    .map(([k, v]) => `${k}=${v}`)
    .join("\n")}\n`;
}

export function configMap(e: Ensemble): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: meta(e, names.config(e)),
    data: { "zoo.cfg": staticConfig(e) },
  };
}

/**
 * Writes myid, the dynamic file (only when the volume has none: see the
 * module comment), and the static zoo.cfg pointing at the dynamic file
 * ZooKeeper wrote last; then becomes the server.
 */
function startScript(): string {
  return [
    "set -e",
    `mkdir -p ${dataPath}/zk`,
    `echo "$ZK_MYID" > ${dataPath}/zk/myid`,
    "dyn=",
    `if [ -f ${dataPath}/zoo.cfg ]; then dyn=$(sed -n 's/^dynamicConfigFile=//p' ${dataPath}/zoo.cfg | tail -n 1); fi`,
    'if [ -z "$dyn" ] || [ ! -f "$dyn" ]; then',
    `  dyn=${dataPath}/zoo.cfg.dynamic`,
    '  printf "%s\\n" $ZK_INITIAL_SERVERS > "$dyn"',
    "fi",
    `cp ${configPath}/zoo.cfg ${dataPath}/zoo.cfg`,
    'export SERVER_JVMFLAGS="$SERVER_JVMFLAGS -Dzookeeper.DigestAuthenticationProvider.superDigest=$ZK_SUPER_DIGEST"',
    `echo "dynamicConfigFile=$dyn" >> ${dataPath}/zoo.cfg`,
    `exec zkServer.sh start-foreground ${dataPath}/zoo.cfg`,
  ].join("\n");
}

/**
 * What a pod is built from, hashed: a change of any of it rolls the
 * member. The superuser's digest is part of it, so a password changed in
 * its Secret reaches every server by a roll (which needs no reconfig).
 */
export function templateHash(e: Ensemble, digest: string): string {
  return hashOf({
    image: image(e),
    superDigest: digest,
    config: staticConfig(e),
    jvm: e.spec.jvm ?? null,
    resources: e.spec.resources ?? null,
    script: startScript(),
    restart: e.metadata.annotations?.[annotations.restartRequested] ?? null,
  });
}

/**
 * A member's pod. `initialServers` are the dynamic-configuration lines it
 * starts with if its volume is new (the members already in the ensemble
 * and itself); they are not part of the template hash, since a running
 * member never reads them again. `digest` is the superuser's
 * (`superDigest`): a SHA-1 over a generated 192-bit password, which the
 * server's command line shows anyway; the password itself never reaches
 * the pod.
 */
export function pod(
  e: Ensemble,
  id: number,
  initialServers: readonly number[],
  digest: string,
): KubeObject & { spec: unknown } {
  const heap = e.spec.jvm?.heap ?? "256m";
  const servers = [...new Set([...initialServers, id])].sort((a, b) => a - b);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      ...meta(e, names.pod(e, id), { [labels.memberId]: String(id) }),
      annotations: { [annotations.templateHash]: templateHash(e, digest) },
    },
    spec: {
      hostname: names.pod(e, id),
      subdomain: names.headless(e),
      readinessGates: [{ conditionType: servingGate }],
      terminationGracePeriodSeconds: 30,
      restartPolicy: "Always",
      securityContext: restrictedPodSecurityContext(uid),
      ...memberSpread(selectorLabels(e)),
      containers: [
        {
          name: "zookeeper",
          image: image(e),
          command: ["/bin/sh", "-c", startScript()],
          env: [
            { name: "ZK_MYID", value: String(id) },
            { name: "ZK_INITIAL_SERVERS", value: servers.map((s) => serverLine(e, s)).join(" ") },
            { name: "SERVER_JVMFLAGS", value: `-Xms${heap} -Xmx${heap} -XX:+UseSerialGC` },
            { name: "ZK_SUPER_DIGEST", value: digest },
            // zkCli.sh run by the operator's reconfig through exec.
            { name: "ZK_CLIENT_HEAP", value: "64" },
          ],
          ports: [
            { name: "client", containerPort: ports.client },
            { name: "quorum", containerPort: ports.quorum },
            { name: "election", containerPort: ports.election },
            { name: "admin", containerPort: ports.admin },
          ],
          // The client port opens early; serving is the readiness gate's business.
          readinessProbe: {
            tcpSocket: { port: ports.client },
            periodSeconds: 2,
            failureThreshold: 2,
          },
          ...(e.spec.resources ? { resources: e.spec.resources } : {}),
          securityContext: restrictedContainerSecurityContext(),
          volumeMounts: [
            { name: "data", mountPath: dataPath },
            { name: "config", mountPath: configPath, readOnly: true },
          ],
        },
      ],
      volumes: [
        { name: "data", persistentVolumeClaim: { claimName: names.claim(e, id) } },
        { name: "config", configMap: { name: names.config(e) } },
      ],
    },
  };
}

export function claim(e: Ensemble, id: number): KubeObject & { spec: unknown } {
  const storage: ClaimSpec = e.spec.storage;
  return memberClaim(identity, e, names.claim(e, id), { [labels.memberId]: String(id) }, storage);
}

/** Members find each other by name before any is serving: not-ready addresses are published. */
export function headlessService(e: Ensemble): ApplyObject {
  return memberService(identity, e, names.headless(e), [
    { name: "client", port: ports.client },
    { name: "quorum", port: ports.quorum },
    { name: "election", port: ports.election },
  ]);
}

/** What clients connect to: only members whose readiness gate says serving. */
export function clientService(e: Ensemble): ApplyObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(e, names.client(e)),
    spec: {
      selector: selectorLabels(e),
      ports: [{ name: "client", port: ports.client }],
    },
  };
}

/** One member down at a time for disruptions by others; the operator's own restarts follow plan/restart.ts. */
export function disruptionBudget(e: Ensemble, memberCount: number): ApplyObject {
  return memberDisruptionBudget(identity, e, names.budget(e), memberCount);
}

export function connectString(e: Ensemble): string {
  return `${names.client(e)}.${namespaceOf(e)}.svc:${ports.client}`;
}
