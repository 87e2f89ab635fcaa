/**
 * Runs the hello operator against the cluster in $KUBECONFIG (or, inside a
 * pod, its own cluster) until SIGTERM or Ctrl-C:
 *
 *   node packages/runtime/examples/hello/main.ts --install-crds
 *
 * Then: kubectl apply -f - <<< '{"apiVersion":"example.ballast.dev/v1",
 *   "kind":"Greeting","metadata":{"name":"hi"},"spec":{"message":"hello"}}'
 */
import { KubeClient } from "@ballast/runtime";
import { helloManager, installGreetingCrd } from "./operator.ts";

const options = { fieldManager: "hello-operator" };
const client = process.env.KUBERNETES_SERVICE_HOST
  ? await KubeClient.fromCluster(options)
  : await KubeClient.fromKubeconfig(undefined, options);

if (process.argv.includes("--install-crds")) await installGreetingCrd(client);

const leaseNamespace = process.env.POD_NAMESPACE;
const { manager } = helloManager(client, {
  metricsPort: Number(process.env.METRICS_PORT ?? 8080),
  healthPort: Number(process.env.HEALTH_PORT ?? 8081),
  // One active replica per cluster when deployed (POD_NAMESPACE set by the downward API).
  leaderElection: leaseNamespace
    ? { leaseName: "hello-operator", namespace: leaseNamespace }
    : false,
});

try {
  await manager.start(manager.handleSignals());
} finally {
  client.close();
}
