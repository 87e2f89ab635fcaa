/**
 * `runOperator(descriptor)`: the whole entry point of an operator process.
 *
 *   node main.ts [--install-crds] [--namespace NS[,NS...]] [--lease-name NAME] [--kubeconfig FILE]
 *
 * Expected flow:
 * 1. Parse the flags and environment (`parseOperatorArgs`); a mistake is
 *    printed with the usage and the process exits 2 without connecting.
 * 2. Connect one client per operator, under the operator's field manager:
 *    to `--kubeconfig` when given, else inside a pod to its own cluster,
 *    else to $KUBECONFIG.
 * 3. With `--install-crds`, apply every operator's CRDs and wait until they
 *    are served (before any controller starts, so no informer lists a kind
 *    that does not exist yet).
 * 4. Run the Manager until SIGTERM or Ctrl-C (a second one exits at once).
 * 5. Run every operator's cleanup, then close the clients.
 *
 * Several descriptors run under one Manager: one Lease for all of them
 * (`ballast-operators` unless `--lease-name`), one `/metrics`.
 */
import { KubeClient } from "../client/client.ts";
import { installCrds } from "../crd/install.ts";
import { createLogger } from "../log/logger.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import { traceRequests } from "./_request-trace.ts";
import { OperatorArgsError, operatorUsage, parseOperatorArgs } from "./args.ts";
import { assembleOperators } from "./assemble.ts";
import type { OperatorDescriptor } from "./descriptor.ts";

export interface RunOperatorOptions {
  /** @default process.argv.slice(2) */
  args?: readonly string[];
  /** @default process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** @default a JSON logger on stderr at $BALLAST_LOG_LEVEL */
  logger?: Logger;
}

/** The Lease shared by several operators in one process, without `--lease-name`. */
export const sharedLeaseName = "ballast-operators";

/**
 * Runs the operators until a signal, as described above. Resolves when they
 * stopped in order; a usage mistake sets `process.exitCode` to 2 and
 * resolves without connecting; anything else rejects.
 */
export async function runOperator(
  operators: OperatorDescriptor | readonly OperatorDescriptor[],
  options: RunOperatorOptions = {},
): Promise<void> {
  const list: readonly OperatorDescriptor[] = Array.isArray(operators)
    ? operators
    : [operators as OperatorDescriptor];
  const names = list.map((d) => d.name);
  if (list.length === 0) throw new TypeError("runOperator needs at least one operator");
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) throw new TypeError(`operator ${twice} is given twice`);

  const env = options.env ?? process.env;
  const program = list.length === 1 ? `${names[0]}-operator` : "ballast operators";
  let args: ReturnType<typeof parseOperatorArgs>;
  try {
    args = parseOperatorArgs({
      args: options.args ?? process.argv.slice(2),
      env,
      defaultLeaseName:
        list.length === 1 ? (list[0]?.leaseName ?? sharedLeaseName) : sharedLeaseName,
    });
  } catch (error) {
    if (!(error instanceof OperatorArgsError)) throw error;
    console.error(`${program}: ${error.message}\nUsage: ${program} ${operatorUsage}`);
    process.exitCode = 2;
    return;
  }
  if (args.help) {
    console.log(`Usage: ${program} ${operatorUsage}`);
    return;
  }

  if (args.traceFile) traceRequests(args.traceFile);
  const logger = options.logger ?? createLogger({ level: args.logLevel });
  const clients: KubeClient[] = [];
  try {
    for (const descriptor of list) clients.push(await connect(descriptor, args.kubeconfig, env));
    if (args.installCrds) {
      for (const [i, descriptor] of list.entries()) {
        await installCrds(clients[i] as KubeClient, descriptor.crds);
      }
    }
    const { manager, cleanup } = assembleOperators(
      list.map((descriptor, i) => ({ descriptor, client: clients[i] as KubeClient })),
      {
        namespaces: args.namespaces,
        metricsPort: args.metricsPort,
        healthPort: args.healthPort,
        leaderElection: args.leaderElection,
        logger,
      },
    );
    try {
      await manager.start(manager.handleSignals());
    } finally {
      await cleanup();
    }
  } finally {
    for (const client of clients) client.close();
  }
}

/** `--kubeconfig` when given (even in a pod: asking for it means it), else the pod's cluster, else $KUBECONFIG. */
function connect(
  descriptor: OperatorDescriptor,
  kubeconfig: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<KubeClient> {
  const options = { fieldManager: descriptor.fieldManager };
  return !kubeconfig && env.KUBERNETES_SERVICE_HOST
    ? KubeClient.fromCluster(options)
    : KubeClient.fromKubeconfig(kubeconfig, options);
}
