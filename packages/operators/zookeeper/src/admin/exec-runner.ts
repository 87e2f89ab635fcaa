/** The operator's `CommandRunner`: the command runs in the member's container, through the API server. */
import { exec, type KubeClient } from "@ballast/runtime";
import type { CommandRunner } from "./admin.ts";

/** `timeoutMs` bounds the wait; the command bounds itself with `timeout` (see exec's step 4). */
export function execRunner(client: KubeClient, timeoutMs = 45_000): CommandRunner {
  return (pod, argv, stdin) =>
    exec(client, pod, argv, { container: "zookeeper", timeoutMs, stdin });
}
