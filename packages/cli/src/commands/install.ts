/** `ballast install`: installs or upgrades the CRDs of every Ballast operator. */
import { setTimeout as sleep } from "node:timers/promises";
import type { CustomResourceDefinition, KubeClient, ResourceDefinition } from "@ballast/runtime";
import { CommandError, defineCommand } from "../cli.ts";
import {
  kubeOptionArgs,
  kubeOptionHelp,
  kubeOptions,
  parseTimeout,
  timeoutHelp,
  timeoutOption,
  withCluster,
} from "../kubernetes-args.ts";
import { loadOperators } from "../operators.ts";

const crdType = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };

async function readCrd(
  client: KubeClient,
  name: string,
): Promise<CustomResourceDefinition | undefined> {
  const { ignoreNotFound } = await import("@ballast/runtime");
  return (
    (await client.get<CustomResourceDefinition>(crdType, { name }).catch(ignoreNotFound)) ??
    undefined
  );
}

const servedTimeoutMs = 60_000;

/**
 * Waits until the kind can be listed. Established is not enough: the API
 * server answers 429 "storage is (re)initializing" for a moment after it,
 * and "installed" should mean a `kubectl get` works.
 */
async function waitServed(client: KubeClient, kind: ResourceDefinition): Promise<void> {
  const { KubeApiError, NoKindMatchError } = await import("@ballast/runtime");
  const deadline = Date.now() + servedTimeoutMs;
  for (;;) {
    try {
      await client.list(kind, { limit: 1 });
      return;
    } catch (error) {
      const busy =
        (error instanceof KubeApiError && error.code === 429) || error instanceof NoKindMatchError;
      if (!busy || Date.now() > deadline) throw error;
      await sleep(250);
    }
  }
}

/** created, updated (the spec changed: generation moved) or unchanged. */
function outcome(
  before: CustomResourceDefinition | undefined,
  after: CustomResourceDefinition,
): string {
  if (!before) return "created";
  return before.metadata.generation === after.metadata.generation ? "unchanged" : "updated";
}

export const install = defineCommand({
  name: "install",
  summary: "install or upgrade the CRDs of every Ballast operator, and wait until they are served",
  usage: "ballast install [--kubeconfig FILE] [--context NAME]",
  options: { ...kubeOptions, ...timeoutOption },
  optionArgs: { ...kubeOptionArgs },
  optionHelp: { ...kubeOptionHelp, ...timeoutHelp(120) },
  details:
    "Safe to run again: an up-to-date CRD is left unchanged. Upgrading keeps every existing object.",
  async run({ values }) {
    const operators = await loadOperators();
    const timeoutMs = parseTimeout(values["request-timeout"], 120);
    const { installCrds } = await import("@ballast/runtime");
    return withCluster(
      values,
      async ({ client, server }) => {
        let header = false;
        for (const operator of operators) {
          const before = await Promise.all(operator.crds.map((d) => readCrd(client, d.crdName)));
          // Said once the API server has answered, so a dead one gets only the error.
          if (!header) console.log(`Installing Ballast CRDs into ${server}`);
          header = true;
          await installCrds(client, operator.crds);
          for (const [i, definition] of operator.crds.entries()) {
            const name = definition.crdName;
            const after = await readCrd(client, name);
            const established = after?.status?.conditions?.find((c) => c.type === "Established");
            if (!after || established?.status !== "True") {
              throw new CommandError(`CRD ${name} was installed but is not Established`);
            }
            await waitServed(client, definition);
            console.log(
              `  ${definition.kind.padEnd(14)} ${name.padEnd(28)} ${outcome(before[i], after).padEnd(10)} Established, served`,
            );
          }
        }
        console.log("Done. Run the operators with `ballast run`.");
        return 0;
      },
      { timeoutMs },
    );
  },
});
