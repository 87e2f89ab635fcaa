/**
 * Runs the PostgreSQL operator against the cluster in $KUBECONFIG (or,
 * inside a pod, its own cluster) until SIGTERM or Ctrl-C:
 *
 *   node packages/operators/postgres/src/main.ts [--install-crds] [--namespace NS[,NS...]]
 *
 * Flags and environment are the runtime's `runOperator`, shared by every operator.
 */
import { runOperator } from "@ballast/runtime";
import { postgres } from "./operator.ts";

await runOperator(postgres);
