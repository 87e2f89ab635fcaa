/**
 * The test kit: one call gives a test a ready, real cluster.
 *
 * `useCluster()` returns the cluster shared by the whole `npm test` run (the
 * global setup started it and passed it down in BALLAST_TEST_CLUSTER). A test
 * file run on its own (`node --test some.test.ts`) gets a cluster of its own
 * instead, stopped when the file's process ends.
 *
 * `startTestCluster()` gives a test a private cluster, for tests that break
 * things (restart the API server, compact etcd) and must not disturb others.
 *
 * No orphans: every process is started with a parent-death signal (see
 * process.ts), so even a SIGKILLed test run takes its clusters down with it;
 * normal exit, failure and SIGINT also delete the data directories.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ApiAuth,
  type ApiResponse,
  apiRequest,
  authFromKubeconfig,
  type RequestOptions,
} from "./api.ts";
import { type ControlPlane, startControlPlane } from "./controlplane.ts";
import { ensureBinaries } from "./toolchain.ts";

export { apiWatch, type WatchEvent } from "./api.ts";
/** A real S3 server (versitygw) in a test cluster: see object-store.ts. */
export {
  type ObjectStore,
  type ObjectStoreCluster,
  type ObjectStoreOptions,
  startObjectStore,
} from "./object-store.ts";
/** A free port on 127.0.0.1, for tests that start servers of their own. */
export { freePort } from "./ports.ts";

/** What crosses from the global setup to the test files, through the environment. */
export interface SharedClusterInfo {
  name: string;
  server: string;
  kubeconfig: string;
  dir: string;
}

export const sharedClusterEnv = "BALLAST_TEST_CLUSTER";

export interface TestCluster extends SharedClusterInfo {
  auth: ApiAuth;
  /** An API request as the cluster admin (or as `options.token`). */
  api<T = unknown>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
  /** Runs the cluster's kubectl against it; never throws for a non-zero exit. */
  kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** The same, with `input` on stdin (an object is sent as JSON), e.g. for `apply -f -`. */
  kubectlInput(
    input: unknown,
    ...args: string[]
  ): Promise<{ code: number; stdout: string; stderr: string }>;
}

let kubectlPath: string | undefined;

async function withHelpers(info: SharedClusterInfo): Promise<TestCluster> {
  kubectlPath ??= (await ensureBinaries(["kubectl"])).kubectl;
  const auth = authFromKubeconfig(info.kubeconfig);
  return {
    ...info,
    auth,
    api: (path, options) => apiRequest(auth, path, options),
    kubectl: (...args) => runKubectl(info.kubeconfig, args),
    kubectlInput: (input, ...args) => runKubectl(info.kubeconfig, args, input),
  };
}

function runKubectl(
  kubeconfig: string,
  args: string[],
  input?: unknown,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      kubectlPath as string,
      [`--kubeconfig=${kubeconfig}`, ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(typeof input === "string" ? input : JSON.stringify(input));
  });
}

/** A cluster started elsewhere (`ballast dev up`, another process), with the same helpers. */
export function clusterAt(info: SharedClusterInfo): Promise<TestCluster> {
  return withHelpers(info);
}

let shared: Promise<TestCluster> | undefined;

/** The run's shared cluster (or this process's own, when run alone). */
export function useCluster(): Promise<TestCluster> {
  shared ??= (async () => {
    const fromEnv = process.env[sharedClusterEnv];
    if (fromEnv) return withHelpers(JSON.parse(fromEnv) as SharedClusterInfo);
    const own = await startTestCluster({ name: "ballast-test" });
    return own;
  })();
  return shared;
}

export type PrivateTestCluster = TestCluster & {
  controlPlane: ControlPlane;
  stop(): Promise<void>;
};

const running = new Set<ControlPlane>();

/** A cluster for this caller alone; call `stop()` when done (exit also stops it). */
export interface TestClusterOptions {
  /** @default "ballast-test" */
  name?: string;
  /** Local nodes. @default 0 */
  nodes?: number;
  /**
   * kube-proxy and working cluster IPs (ControlPlaneOptions.serviceProxy).
   * @default true, unless BALLAST_SERVICE_PROXY=0: the switch that runs a
   * suite as before the service proxy (Service names give pod IPs).
   */
  serviceProxy?: boolean;
  onProgress?: (message: string) => void;
}

export async function startTestCluster(
  options: TestClusterOptions = {},
): Promise<PrivateTestCluster> {
  installCleanup();
  const dir = mkdtempSync(join(tmpdir(), "ballast-test-"));
  let controlPlane: ControlPlane;
  try {
    controlPlane = await startControlPlane({
      dir,
      name: options.name ?? "ballast-test",
      lifetime: "owned",
      nodes: options.nodes ?? 0,
      serviceProxy: options.serviceProxy ?? process.env.BALLAST_SERVICE_PROXY !== "0",
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  running.add(controlPlane);
  const helpers = await withHelpers({
    name: controlPlane.name,
    server: controlPlane.server,
    kubeconfig: controlPlane.kubeconfig,
    dir,
  });
  return {
    ...helpers,
    controlPlane,
    stop: async () => {
      running.delete(controlPlane);
      await controlPlane.stop();
    },
  };
}

let cleanupInstalled = false;

/**
 * Last-resort cleanup for clusters a test did not stop. On `exit` only
 * synchronous work is possible: SIGKILL the processes (they hold no data worth
 * a graceful stop) and delete the directories.
 */
function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  const killAll = () => {
    for (const cp of running) {
      for (const p of cp.processes) {
        try {
          process.kill(p.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
      rmSync(cp.dir, { recursive: true, force: true });
    }
    running.clear();
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/**
 * Polls `check` until it returns something other than `undefined`, and
 * returns that; fails naming `what` (and the last error `check` threw, if
 * any) after `timeoutMs`. For waiting on a real cluster to converge.
 */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  { timeoutMs = 60_000, intervalMs = 200 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const why = lastError
    ? ` (last error: ${(lastError as Error).message ?? String(lastError)})`
    : "";
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${why}`);
}

/**
 * Creates (if missing) a ServiceAccount and returns a token for it, to act as
 * a principal with only the permissions a test grants it.
 */
export async function serviceAccountToken(
  cluster: TestCluster,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<string> {
  const base = `/api/v1/namespaces/${namespace}/serviceaccounts`;
  const created = await cluster.api(base, {
    method: "POST",
    body: { apiVersion: "v1", kind: "ServiceAccount", metadata: { name } },
  });
  if (created.status !== 201 && created.status !== 409) {
    throw new Error(`creating ServiceAccount ${namespace}/${name}: ${created.status}`);
  }
  const res = await cluster.api<{ status: { token: string } }>(`${base}/${name}/token`, {
    method: "POST",
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds },
    },
  });
  if (res.status !== 201) throw new Error(`TokenRequest for ${namespace}/${name}: ${res.status}`);
  return res.body.status.token;
}

/**
 * Creates a namespace and waits for its `default` ServiceAccount (made by the
 * controller-manager), without which admission refuses every pod in it.
 */
export async function createNamespace(cluster: TestCluster, name: string): Promise<void> {
  const created = await cluster.api("/api/v1/namespaces", {
    method: "POST",
    body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
  });
  if (created.status !== 201) {
    throw new Error(
      `creating namespace ${name}: ${created.status} ${JSON.stringify(created.body)}`,
    );
  }
  await eventually(`the default ServiceAccount of namespace ${name}`, async () =>
    (await cluster.api(`/api/v1/namespaces/${name}/serviceaccounts/default`)).status === 200
      ? true
      : undefined,
  );
}
