/**
 * Runs the Kafka operator against the cluster in $KUBECONFIG (or, inside a
 * pod, its own cluster) until SIGTERM or Ctrl-C:
 *
 *   node packages/operators/kafka/src/main.ts [--install-crds] [--namespace NS[,NS...]]
 *                                            [--lease-name NAME] [--kubeconfig FILE]
 *
 * Environment: METRICS_PORT (8080), HEALTH_PORT (8081), POD_NAMESPACE (turns
 * on leader election, for replicas in a Deployment), LEADER_ELECTION_NAMESPACE
 * (the same out of cluster), BALLAST_LOG_LEVEL, BALLAST_TRACE_REQUESTS (a file
 * to log every API request to, see request-trace.ts).
 */
import { parseArgs } from "node:util";
import { KubeClient } from "@ballast/runtime";
import { installKafkaCrds, kafkaOperator } from "./operator.ts";
import { traceRequests } from "./request-trace.ts";

const { values } = parseArgs({
  options: {
    "install-crds": { type: "boolean", default: false },
    namespace: { type: "string", multiple: true },
    kubeconfig: { type: "string" },
    // One per installation: two releases must not share (or fight over) a lease.
    "lease-name": { type: "string", default: "ballast-kafka-operator" },
  },
});

if (process.env.BALLAST_TRACE_REQUESTS) traceRequests(process.env.BALLAST_TRACE_REQUESTS);

const options = { fieldManager: "ballast-kafka-operator" };
const client = process.env.KUBERNETES_SERVICE_HOST
  ? await KubeClient.fromCluster(options)
  : await KubeClient.fromKubeconfig(values.kubeconfig, options);

if (values["install-crds"]) await installKafkaCrds(client);

const leaseNamespace = process.env.POD_NAMESPACE ?? process.env.LEADER_ELECTION_NAMESPACE;
const namespaces = (values.namespace ?? []).flatMap((n) => n.split(",")).filter(Boolean);
const { manager, admins } = kafkaOperator(client, {
  namespaces,
  metricsPort: Number(process.env.METRICS_PORT ?? 8080),
  healthPort: Number(process.env.HEALTH_PORT ?? 8081),
  leaderElection: leaseNamespace
    ? { leaseName: values["lease-name"], namespace: leaseNamespace }
    : false,
});

try {
  await manager.start(manager.handleSignals());
} finally {
  await admins.closeAll();
  client.close();
}
