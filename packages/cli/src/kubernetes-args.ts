/**
 * What every command that talks to a cluster shares: the `--kubeconfig`,
 * `--context` and `-n/--namespace` options, the client they produce, and
 * the translation of what goes wrong on the way (no kubeconfig, no API
 * server, CRDs not installed, no such object) into one line the user can act
 * on. Anything not recognised here is a bug and keeps its stack trace.
 *
 * The runtime is loaded when a command first connects, not when the CLI
 * starts: `ballast --help` and `ballast dev …` should not pay for it.
 */
import type { KubeApiError, KubeClient } from "@ballast/runtime";
import { CommandError, UsageError } from "./cli.ts";

type Runtime = typeof import("@ballast/runtime");

export const kubeOptions = {
  kubeconfig: { type: "string" },
  context: { type: "string" },
} as const;

export const namespaceOption = { namespace: { type: "string", short: "n" } } as const;

export const kubeOptionHelp = {
  kubeconfig: "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)",
  context: "kubeconfig context (default: its current-context)",
};

export const namespaceHelp = { namespace: "namespace of the object (default: default)" };

export const kubeOptionArgs = {
  kubeconfig: "file",
  context: "name",
  namespace: "ns",
  "request-timeout": "seconds",
};

/** For commands that should end: how long they wait for the API server at most. */
export const timeoutOption = { "request-timeout": { type: "string" } } as const;

export const timeoutHelp = (seconds: number) => ({
  "request-timeout": `give up when the API server has not answered in time (default: ${seconds})`,
});

/** `--request-timeout` in milliseconds; a UsageError for anything but a positive number. */
export function parseTimeout(value: string | undefined, defaultSeconds: number): number {
  if (value === undefined) return defaultSeconds * 1000;
  const seconds = Number(value);
  if (value.trim() === "" || !Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`--request-timeout must be a number of seconds above 0, not "${value}"`);
  }
  return seconds * 1000;
}

/** Raised when a command's whole exchange with the API server overran its time. */
class DeadlineExceeded extends Error {
  override name = "TimeoutError";
}

export interface KubeArgs {
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** A connected client and where it points, for messages. */
export interface Cluster {
  client: KubeClient;
  /** The API server's URL. */
  server: string;
}

/** The field manager of every write the CLI makes, so `managedFields` says who did it. */
export const fieldManager = "ballast-cli";

/** Groups whose kinds `ballast install` provides. */
const ballastGroups = ["ballast.dev"];

/**
 * Connects, runs `work`, closes the client, and turns the errors a user can
 * fix into `CommandError`s that say how. With `timeoutMs`, gives up after
 * that long: closing the client then ends whatever request still hangs
 * (discovery included, which no per-request signal reaches).
 */
export async function withCluster<T>(
  args: KubeArgs,
  work: (cluster: Cluster) => Promise<T>,
  options: { timeoutMs?: number; fieldManager?: string } = {},
): Promise<T> {
  const runtime = await import("@ballast/runtime");
  const { KubeClient, KubeconfigError } = runtime;
  let client: KubeClient;
  try {
    client = await KubeClient.fromKubeconfig(args.kubeconfig, {
      fieldManager: options.fieldManager ?? fieldManager,
      ...(args.context ? { context: args.context } : {}),
    });
  } catch (error) {
    if (error instanceof KubeconfigError && !args.kubeconfig) {
      throw new CommandError(`${error.message} (name one with --kubeconfig or $KUBECONFIG)`, {
        cause: error,
      });
    }
    throw explainKubeError(error, undefined, runtime);
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const working = work({ client, server: client.server });
    if (options.timeoutMs === undefined) return await working;
    const { timeoutMs } = options;
    // The loser of the race fails once the client is closed: nobody waits for it.
    working.catch(() => {});
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DeadlineExceeded(`no answer within ${timeoutMs / 1000}s`)),
        timeoutMs,
      );
    });
    return await Promise.race([working, deadline]);
  } catch (error) {
    throw explainKubeError(error, client.server, runtime);
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

/** A `CommandError` for what the user can fix; anything else unchanged. */
export function explainKubeError(
  error: unknown,
  server: string | undefined,
  runtime: Runtime,
): unknown {
  const { CrdInstallError, KubeApiError, KubeConnectionError, KubeconfigError, NoKindMatchError } =
    runtime;
  if (error instanceof CommandError) return error;
  if (error instanceof KubeconfigError) {
    // A YAML parser's message draws the bad line below it: keep the one-line summary.
    const first = error.message.split("\n")[0]?.replace(/:\s*$/, "") ?? error.message;
    return new CommandError(first, { cause: error });
  }
  // Installing CRDs wraps the connection error it met: the connection is what to fix.
  const connection = findCause(error, KubeConnectionError);
  if (connection || isTimeout(error)) {
    const where = server ? `the API server at ${server}` : "the API server";
    const why = connection ? rootMessage(connection) : timeoutMessage(error);
    return new CommandError(
      `cannot reach ${where} (${why}): is the cluster running, and is this the right kubeconfig/context?`,
      { cause: error },
    );
  }
  if (error instanceof NoKindMatchError) {
    const group = error.apiVersion.split("/")[0] ?? "";
    return new CommandError(
      ballastGroups.includes(group)
        ? `the ${error.kind} CRD is not installed in this cluster: run \`ballast install\``
        : `the cluster does not serve ${error.kind} (${error.apiVersion})`,
      { cause: error },
    );
  }
  if (error instanceof CrdInstallError) return new CommandError(error.message, { cause: error });
  if (error instanceof KubeApiError) return explainApiError(error);
  return error;
}

function explainApiError(error: KubeApiError): CommandError {
  const { kind, namespace, name } = error.subject;
  if (error.code === 404 && kind && name) {
    const where = namespace ? ` in namespace "${namespace}"` : "";
    return new CommandError(`${kind} "${name}" not found${where}`, { cause: error });
  }
  if (error.code === 401) {
    return new CommandError(
      `the API server refused the credentials of this kubeconfig (401): ${error.status.message ?? ""}`.trim(),
      { cause: error },
    );
  }
  if (error.code === 403) {
    return new CommandError(`not allowed: ${error.status.message ?? error.message}`, {
      cause: error,
    });
  }
  return new CommandError(error.message, { cause: error });
}

function findCause<T extends Error>(
  error: unknown,
  type: abstract new (...args: never[]) => T,
): T | undefined {
  for (let e = error; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

function timeoutMessage(error: unknown): string {
  return error instanceof DeadlineExceeded ? error.message : "no answer in time";
}

/** A request aborted by `AbortSignal.timeout()`, however wrapped. */
function isTimeout(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) if (e.name === "TimeoutError") return true;
  return false;
}

/** The innermost cause's message: "connect ECONNREFUSED 127.0.0.1:1", not the request path. */
function rootMessage(error: Error): string {
  let current: unknown = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}
