/**
 * Where every operator's scenarios run: a private cluster, a namespace, the
 * operator's ServiceAccount holding exactly the descriptor's rules (the
 * ones the Helm chart is generated from, so every scenario also tests that
 * they suffice), and the operator as its own process, started with
 * `--install-crds` and waited for until its CRDs are served. A system's
 * harness extends `OperatorEnvironment` with its own views (its custom
 * resource, its data system); the environment knows none.
 */
import { join } from "node:path";
import { createNamespace, type PrivateTestCluster, startTestCluster } from "@ballast/dev/testkit";
import { type OperatorDescriptor, operatorRules, type ResourceDefinition } from "@ballast/runtime";
import { type DisruptionOptions, type DisruptionReport, monitorDisruption } from "./disruption.ts";
import { apply, listPods, type PodView, waitForResources } from "./objects.ts";
import { OperatorUnderTest } from "./operator.ts";
import { grantDeclaredRbac } from "./rbac/grant.ts";
import type { DeclaredRbac } from "./rbac/rules.ts";

export interface OperatorEnvironmentOptions {
  /** The operator as its descriptor declares it: name, entry point, CRDs and rules. */
  descriptor: Pick<OperatorDescriptor, "name" | "entry" | "crds" | "rules">;
  /** The namespace the operator watches and holds its Lease and ServiceAccount in. */
  namespace: string;
  /** The operator's ServiceAccount, also the name of its Roles. @default `<descriptor.name>-operator` */
  serviceAccount?: string;
  /** Also write the operator's log lines to stderr. @default false */
  echo?: boolean;
}

/** Where the private cluster comes from: its name and node count. */
export interface ClusterShape {
  name: string;
  nodes: number;
}

/** The pods of one custom resource: the well-known instance label every member set carries. */
export function instanceSelector(name: string): string {
  return `app.kubernetes.io/instance=${name}`;
}

export class OperatorEnvironment {
  readonly cluster: PrivateTestCluster;
  readonly namespace: string;
  /** The operator process (SIGKILL it, start another) and its logs across restarts. */
  readonly operator: OperatorUnderTest;
  /** Every API request the operator processes made (BALLAST_TRACE_REQUESTS; the runtime traces them). */
  readonly traceFile: string;
  /** A kubeconfig that is the operator's ServiceAccount, with only the declared RBAC. */
  readonly operatorKubeconfig: string;
  /** The rules the ServiceAccount holds, in their three scopes. */
  readonly rules: DeclaredRbac;
  readonly #options: OperatorEnvironmentOptions;

  constructor(cluster: PrivateTestCluster, options: OperatorEnvironmentOptions) {
    this.cluster = cluster;
    this.#options = options;
    this.namespace = options.namespace;
    this.rules = operatorRules(options.descriptor);
    this.traceFile = join(cluster.dir, "operator-requests.log");
    this.operatorKubeconfig = join(cluster.dir, "operator.kubeconfig");
    const { name, entry } = options.descriptor;
    this.operator = new OperatorUnderTest({
      // The bundle scripts/build.ts ships for this descriptor.
      operator: { name: `${name}-operator`, entry },
      kubeconfig: this.operatorKubeconfig,
      namespace: options.namespace,
      traceFile: this.traceFile,
      // As in production: replicas share a Lease, so a restarted operator waits for the old one's to lapse.
      env: { LEADER_ELECTION_NAMESPACE: options.namespace },
      echo: options.echo ?? false,
    });
  }

  /**
   * Starts a private cluster of `shape`, builds the environment on it with
   * `make` (a harness's constructor), then creates the namespace, grants the
   * declared RBAC, starts the operator and waits for every CRD of the
   * descriptor to be served.
   */
  static async launch<E extends OperatorEnvironment>(
    shape: ClusterShape,
    make: (cluster: PrivateTestCluster) => E,
  ): Promise<E> {
    const environment = make(await startTestCluster(shape));
    await environment.#setUp();
    return environment;
  }

  async #setUp(): Promise<void> {
    const { descriptor, namespace } = this.#options;
    const account = this.#options.serviceAccount ?? `${descriptor.name}-operator`;
    await createNamespace(this.cluster, namespace);
    await grantDeclaredRbac(this.cluster, {
      namespace,
      serviceAccount: account,
      name: account,
      rules: this.rules,
      kubeconfig: this.operatorKubeconfig,
    });
    await this.operator.start({ installCrds: true });
    for (const [groupVersion, plurals] of servedBy(descriptor.crds))
      await waitForResources(this.cluster, groupVersion, plurals);
  }

  async close(): Promise<void> {
    await this.operator.stop();
    await this.cluster.stop();
  }

  apply(object: unknown): Promise<void> {
    return apply(this.cluster, object);
  }

  /** The pods of custom resource `name`. */
  pods(name: string): Promise<PodView[]> {
    return listPods(this.cluster, this.namespace, instanceSelector(name));
  }

  /** Custom resource `name` of `resource` in the namespace; throws unless it is there. */
  async read<T>(resource: ResourceDefinition, name: string): Promise<T> {
    const res = await this.cluster.api<T>(this.#path(resource, name));
    if (res.status !== 200) throw new Error(`get ${name}: ${res.status}`);
    return res.body;
  }

  /** Custom resource `name` of `resource` in the namespace, or undefined. */
  async find<T>(resource: ResourceDefinition, name: string): Promise<T | undefined> {
    const res = await this.cluster.api<T>(this.#path(resource, name));
    return res.status === 200 ? res.body : undefined;
  }

  /** A merge patch of custom resource `name`, as `kubectl patch --type=merge` makes it. */
  async mergePatch(resource: ResourceDefinition, name: string, patch: unknown): Promise<void> {
    const res = await this.cluster.api(this.#path(resource, name), {
      method: "PATCH",
      body: patch,
      contentType: "application/merge-patch+json",
    });
    if (res.status !== 200)
      throw new Error(`patch ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  /** Records how many members of custom resource `name` are down at once while `stop()` is not called. */
  monitorMembers(
    name: string,
    options: Omit<DisruptionOptions<number>, "selector">,
  ): { stop(): Promise<DisruptionReport<number>> } {
    return monitorDisruption(this.cluster, this.namespace, {
      ...options,
      selector: instanceSelector(name),
    });
  }

  /** Deletes pod `pod` with no grace period: the node agent SIGKILLs its containers at once. */
  async killPod(pod: string): Promise<void> {
    const res = await this.cluster.api(`/api/v1/namespaces/${this.namespace}/pods/${pod}`, {
      method: "DELETE",
      body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 },
    });
    if (res.status !== 200) throw new Error(`delete ${pod}: ${res.status}`);
  }

  /** The node pod `pod` is bound to. */
  async nodeOf(pod: string): Promise<string> {
    const res = await this.cluster.api<{ spec?: { nodeName?: string } }>(
      `/api/v1/namespaces/${this.namespace}/pods/${pod}`,
    );
    const node = res.body.spec?.nodeName;
    if (res.status !== 200 || !node) throw new Error(`pod ${pod} has no node (${res.status})`);
    return node;
  }

  /**
   * Takes a node away: its agent stops and every container on it dies;
   * its pods stay bound to it, unanswered — a machine gone, as the data
   * system sees it. `startNode` brings the same pods back (same uids, IPs
   * and volumes).
   */
  stopNode(nodeName: string): Promise<void> {
    return this.cluster.controlPlane.stopComponent(nodeComponent(this.cluster.name, nodeName));
  }

  startNode(nodeName: string): Promise<void> {
    return this.cluster.controlPlane.startComponent(nodeComponent(this.cluster.name, nodeName));
  }

  /** Whether PersistentVolumeClaim `claim` exists (and is not being deleted). */
  async claimExists(claim: string): Promise<boolean> {
    const res = await this.cluster.api<{ metadata: { deletionTimestamp?: string } }>(
      `/api/v1/namespaces/${this.namespace}/persistentvolumeclaims/${claim}`,
    );
    if (res.status === 404) return false;
    if (res.status !== 200) throw new Error(`get claim ${claim}: ${res.status}`);
    return !res.body.metadata.deletionTimestamp;
  }

  #path(resource: ResourceDefinition, name: string): string {
    return `/apis/${resource.apiVersion}/namespaces/${this.namespace}/${resource.plural}/${name}`;
  }
}

/** The control plane names a node's agent `node-<i>`; its Node object is `<cluster>-node-<i>`. */
export function nodeComponent(cluster: string, nodeName: string): `node-${number}` {
  const found = nodeName.startsWith(cluster) ? /-(node-\d+)$/.exec(nodeName) : null;
  if (!found) throw new Error(`${nodeName} is no node of cluster ${cluster}`);
  return found[1] as `node-${number}`;
}

/** The CRDs' plurals by the group/version that serves them. */
function servedBy(crds: readonly ResourceDefinition[]): Map<string, string[]> {
  const served = new Map<string, string[]>();
  for (const crd of crds)
    served.set(crd.apiVersion, [...(served.get(crd.apiVersion) ?? []), crd.plural]);
  return served;
}
