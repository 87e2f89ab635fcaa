/**
 * Global setup of `npm test` (node --test --test-global-setup): starts the one
 * cluster the test files share and hands it to them through the environment
 * (test files run in child processes, which inherit it).
 */
import {
  type PrivateTestCluster,
  type SharedClusterInfo,
  sharedClusterEnv,
  startTestCluster,
} from "./testkit.ts";

let cluster: PrivateTestCluster | undefined;

export async function globalSetup(): Promise<void> {
  const started = Date.now();
  cluster = await startTestCluster({
    name: "ballast-test",
    onProgress: (message) => process.stderr.write(`[test cluster] ${message}\n`),
  });
  const info: SharedClusterInfo = {
    name: cluster.name,
    server: cluster.server,
    kubeconfig: cluster.kubeconfig,
    dir: cluster.dir,
  };
  process.env[sharedClusterEnv] = JSON.stringify(info);
  process.stderr.write(
    `[test cluster] ready at ${cluster.server} in ${((Date.now() - started) / 1000).toFixed(1)}s\n`,
  );
}

export async function globalTeardown(): Promise<void> {
  await cluster?.stop();
}
