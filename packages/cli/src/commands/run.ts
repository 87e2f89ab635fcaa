/**
 * `ballast run`: runs the operators in this process, against the cluster of
 * a kubeconfig (out of cluster: development, or a cluster where installing
 * a Deployment is not wanted yet), until SIGTERM or Ctrl-C. Logs are JSON
 * lines on stderr, as in a pod.
 *
 * Every operator by default, all under one Manager (the runtime's
 * `assembleOperators`, as `runOperator` does for an image's entry point);
 * `--operator NAME` picks some. Each operator writes through a client of its
 * own field manager, the one its Deployment uses.
 */
import type { KubeClient, OperatorDescriptor, ResourceDefinition } from "@ballast/runtime";
import { CommandError, defineCommand, UsageError } from "../cli.ts";
import { kubeOptionArgs, kubeOptionHelp, kubeOptions, withCluster } from "../kubernetes-args.ts";
import { loadOperators, operatorNames, UnknownOperatorError } from "../operators.ts";

function portOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (value.trim() === "" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(
      `${flag} must be a TCP port number (0-65535, 0 for any free one), not "${value}"`,
    );
  }
  return port;
}

/** `--operator a,b` (repeatable) → the descriptors; every operator without it. */
async function selectOperators(
  values: readonly string[] | undefined,
): Promise<OperatorDescriptor[]> {
  const names = (values ?? []).flatMap((v) => v.split(",")).filter(Boolean);
  try {
    return await loadOperators(names.length > 0 ? names : operatorNames);
  } catch (error) {
    if (error instanceof UnknownOperatorError) throw new UsageError(error.message);
    throw error;
  }
}

export const run = defineCommand({
  name: "run",
  summary: "run the Ballast operators in this process against a cluster, until Ctrl-C/SIGTERM",
  usage:
    "ballast run [--operator NAME] [--install-crds] [-n NS] [--metrics-port N] [--health-port N] [--leader-elect --lease-namespace NS [--lease-name NAME]] [--kubeconfig FILE] [--context NAME]",
  options: {
    operator: { type: "string", multiple: true },
    namespace: { type: "string", short: "n", multiple: true },
    "install-crds": { type: "boolean" },
    "metrics-port": { type: "string" },
    "health-port": { type: "string" },
    "leader-elect": { type: "boolean" },
    "lease-namespace": { type: "string" },
    "lease-name": { type: "string" },
    ...kubeOptions,
  },
  optionArgs: {
    ...kubeOptionArgs,
    operator: "name",
    "metrics-port": "port",
    "health-port": "port",
    "lease-namespace": "ns",
    "lease-name": "name",
  },
  optionHelp: {
    operator: `run only this operator; repeat or comma-separate for several (default: all: ${operatorNames.join(", ")})`,
    namespace: "watch only this namespace; repeat or comma-separate for several (default: all)",
    "install-crds": "install or upgrade the CRDs first (as `ballast install`)",
    "metrics-port": "port of /metrics (default: 8080; 0 for any free port)",
    "health-port": "port of /healthz and /readyz (default: 8081; 0 for any free port)",
    "leader-elect": "act only while holding the leader Lease, so several copies can run",
    "lease-namespace": "namespace of the leader Lease (required with --leader-elect)",
    "lease-name":
      "name of the leader Lease (default: the operator's own, e.g. ballast-kafka-operator, as its entry point uses; ballast-operators for several; the Helm chart names each operator's Lease after the release)",
    ...kubeOptionHelp,
  },
  details:
    "All operators run under one manager: one /metrics, one Lease. Each writes under its own field\nmanager (e.g. ballast-kafka-operator), as its Deployment does, so the two own the same fields.\nLog level: $BALLAST_LOG_LEVEL (debug, info, warn, error). A second Ctrl-C exits without draining.",
  async run({ values }) {
    const metricsPort = portOption(values["metrics-port"], "--metrics-port", 8080);
    const healthPort = portOption(values["health-port"], "--health-port", 8081);
    const leaseNamespace = values["lease-namespace"];
    if (values["leader-elect"] && !leaseNamespace) {
      throw new UsageError("--leader-elect needs --lease-namespace (where the Lease object lives)");
    }
    if ((leaseNamespace || values["lease-name"]) && !values["leader-elect"]) {
      throw new UsageError(
        "--lease-namespace and --lease-name only make sense with --leader-elect",
      );
    }
    const namespaces = (values.namespace ?? []).flatMap((n) => n.split(",")).filter(Boolean);
    const [operators, runtime] = await Promise.all([
      selectOperators(values.operator),
      import("@ballast/runtime"),
    ]);
    const { assembleOperators, createLogger, installCrds, KubeClient, sharedLeaseName } = runtime;
    const [first, ...others] = operators;
    if (!first) throw new UsageError("no operator to run");
    const defaultLeaseName = others.length === 0 ? first.leaseName : sharedLeaseName;
    const crds = operators.flatMap((o) => o.crds);
    // The first operator's client is the one withCluster checks and explains errors of.
    return withCluster(
      values,
      async ({ client, server }) => {
        const clients: KubeClient[] = [client];
        try {
          for (const operator of others) {
            clients.push(
              await KubeClient.fromKubeconfig(values.kubeconfig, {
                fieldManager: operator.fieldManager,
                ...(values.context ? { context: values.context } : {}),
              }),
            );
          }
          const logger = createLogger({ fields: { component: "ballast-run" } });
          const { manager, cleanup } = assembleOperators(
            operators.map((descriptor, i) => ({ descriptor, client: clients[i] ?? client })),
            {
              namespaces,
              metricsPort,
              healthPort,
              leaderElection: leaseNamespace
                ? { leaseName: values["lease-name"] ?? defaultLeaseName, namespace: leaseNamespace }
                : false,
              logger,
            },
          );
          const stop = manager.handleSignals();
          try {
            if (values["install-crds"]) {
              logger.info("installing CRDs", { crds: crds.map((c) => c.crdName) });
              for (const [i, operator] of operators.entries()) {
                await installCrds(clients[i] ?? client, operator.crds, { signal: stop });
              }
            } else {
              await checkCrdsInstalled(client, crds);
            }
            if (stop.aborted) return 0;
            logger.info("starting operators", {
              server,
              operators: operators.map((o) => o.name),
              namespaces: namespaces.length > 0 ? namespaces : "(all)",
            });
            await manager.start(stop);
            return 0;
          } catch (error) {
            // Ctrl-C during the CRD installation is a normal way to stop.
            if (stop.aborted) return 0;
            throw portInUse(error) ?? error;
          } finally {
            await cleanup();
          }
        } finally {
          for (const other of clients.slice(1)) other.close();
        }
      },
      { fieldManager: first.fieldManager },
    );
  },
});

function portInUse(error: unknown): CommandError | undefined {
  const { code, port } = (error ?? {}) as { code?: string; port?: number };
  if (code !== "EADDRINUSE") return undefined;
  return new CommandError(
    `port ${port} is already in use: choose others with --metrics-port and --health-port (0 picks a free one)`,
    { cause: error },
  );
}

/** Fails before anything starts, with the fix, rather than in every informer's log. */
async function checkCrdsInstalled(
  client: KubeClient,
  crds: readonly ResourceDefinition[],
): Promise<void> {
  const { NoKindMatchError } = await import("@ballast/runtime");
  for (const crd of crds) {
    try {
      await client.mapper.resolve(crd);
    } catch (error) {
      if (error instanceof NoKindMatchError) {
        throw new CommandError(
          `the ${crd.kind} CRD is not installed in this cluster: run \`ballast install\` or pass --install-crds`,
          { cause: error },
        );
      }
      throw error;
    }
  }
}
