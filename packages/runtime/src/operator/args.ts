/**
 * The command line and environment every operator's entry point shares,
 * parsed into one value (pure: arguments and environment in, settings or
 * an `OperatorArgsError` out), so `runOperator()` and its tests agree.
 *
 *   [--install-crds] [--namespace NS[,NS...]]... [--lease-name NAME] [--kubeconfig FILE]
 *
 * Environment: METRICS_PORT (8080), HEALTH_PORT (8081), POD_NAMESPACE (turns
 * on leader election, for replicas in a Deployment), LEADER_ELECTION_NAMESPACE
 * (the same out of cluster), BALLAST_LOG_LEVEL (info), BALLAST_TRACE_REQUESTS
 * (a file to append one line per API request to).
 */
import { parseArgs } from "node:util";
import { type LogThreshold, logLevelEnv, parseLogLevel } from "../log/logger.ts";

export const operatorUsage =
  "[--install-crds] [--namespace NS[,NS...]] [--lease-name NAME] [--kubeconfig FILE]";

/** A usage mistake in the arguments or environment; the message names the bad value. */
export class OperatorArgsError extends Error {
  override name = "OperatorArgsError";
}

export interface OperatorArgs {
  /** Apply (and upgrade) the CRDs before starting. */
  installCrds: boolean;
  /** Only watch these; empty: all namespaces. */
  namespaces: string[];
  /** `--kubeconfig`; without it, in a pod the pod's own cluster, else $KUBECONFIG. */
  kubeconfig: string | undefined;
  metricsPort: number;
  healthPort: number;
  /** From POD_NAMESPACE or LEADER_ELECTION_NAMESPACE; off without either. */
  leaderElection: { leaseName: string; namespace: string } | false;
  logLevel: LogThreshold;
  /** BALLAST_TRACE_REQUESTS: the file to trace API requests to. */
  traceFile: string | undefined;
  help: boolean;
}

/** What `parseOperatorArgs` reads: `process.argv.slice(2)` and `process.env`, usually. */
export interface OperatorArgsInput {
  args: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** The Lease's name without `--lease-name`: the operator's own, one per operator. */
  defaultLeaseName: string;
}

export function parseOperatorArgs(input: OperatorArgsInput): OperatorArgs {
  const { env } = input;
  let values: {
    "install-crds"?: boolean;
    namespace?: string[];
    kubeconfig?: string;
    "lease-name"?: string;
    help?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...input.args],
      options: {
        "install-crds": { type: "boolean" },
        namespace: { type: "string", multiple: true },
        kubeconfig: { type: "string" },
        // One per installation: two releases must not share (or fight over) a lease.
        "lease-name": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new OperatorArgsError((error as Error).message, { cause: error });
  }
  const leaseName = values["lease-name"] ?? input.defaultLeaseName;
  if (leaseName === "") throw new OperatorArgsError("--lease-name must not be empty");
  const leaseNamespace = env.POD_NAMESPACE || env.LEADER_ELECTION_NAMESPACE;
  const level = env[logLevelEnv];
  let logLevel: LogThreshold;
  try {
    logLevel = level ? parseLogLevel(level, `$${logLevelEnv}`) : "info";
  } catch (error) {
    throw new OperatorArgsError((error as Error).message, { cause: error });
  }
  return {
    installCrds: values["install-crds"] ?? false,
    namespaces: [...new Set((values.namespace ?? []).flatMap((n) => n.split(",")))].filter(Boolean),
    kubeconfig: values.kubeconfig || undefined,
    metricsPort: port(env, "METRICS_PORT", 8080),
    healthPort: port(env, "HEALTH_PORT", 8081),
    leaderElection: leaseNamespace ? { leaseName, namespace: leaseNamespace } : false,
    logLevel,
    traceFile: env.BALLAST_TRACE_REQUESTS || undefined,
    help: values.help ?? false,
  };
}

function port(env: OperatorArgsInput["env"], name: string, fallback: number): number {
  const value = env[name];
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new OperatorArgsError(
      `$${name} must be a TCP port number (0-65535, 0 for any free one), not ${JSON.stringify(value)}`,
    );
  }
  return n;
}
