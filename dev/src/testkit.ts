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
}

let kubectlPath: string | undefined;

async function withHelpers(info: SharedClusterInfo): Promise<TestCluster> {
  kubectlPath ??= (await ensureBinaries(["kubectl"])).kubectl;
  const auth = authFromKubeconfig(info.kubeconfig);
  return {
    ...info,
    auth,
    api: (path, options) => apiRequest(auth, path, options),
    kubectl: (...args) =>
      new Promise((resolve) => {
        execFile(
          kubectlPath as string,
          [`--kubeconfig=${info.kubeconfig}`, ...args],
          { maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      }),
  };
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
export async function startTestCluster(
  options: { name?: string; nodes?: number; onProgress?: (message: string) => void } = {},
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
