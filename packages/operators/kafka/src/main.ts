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
 * to log every API request to). The lease defaults to ballast-kafka-operator,
 * the field manager is ballast-kafka-operator. All of it is the runtime's
 * `runOperator` (packages/runtime/src/operator/run.ts), shared by every operator.
 */
import { runOperator } from "@ballast/runtime";
import { kafka } from "./operator.ts";

await runOperator(kafka);
