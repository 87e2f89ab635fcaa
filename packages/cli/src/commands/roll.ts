/**
 * `ballast roll <kind>/<name>`: asks the operator for a rolling restart by
 * setting the restart annotation to the current time; a new value is a new
 * request, so running it twice restarts twice.
 */
import { defineCommand, UsageError } from "../cli.ts";
import { loadKinds, parseKindName } from "../kinds.ts";
import {
  kubeOptionArgs,
  kubeOptionHelp,
  kubeOptions,
  namespaceHelp,
  namespaceOption,
  parseTimeout,
  timeoutHelp,
  timeoutOption,
  withCluster,
} from "../kubernetes-args.ts";

export const roll = defineCommand({
  name: "roll",
  summary: "request a rolling restart, one node at a time, as safety allows",
  usage: "ballast roll <kind>/<name> [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]",
  options: { ...namespaceOption, ...kubeOptions, ...timeoutOption },
  optionArgs: { ...kubeOptionArgs },
  optionHelp: { ...namespaceHelp, ...kubeOptionHelp, ...timeoutHelp(30) },
  details:
    "Sets the restart annotation of the kind's operator (for a KafkaCluster:\nkafka.ballast.dev/restart-requested) to the current time; the operator restarts every\nnode, one at a time, each only when its data system stays safe (for Kafka: no partition\nbelow min.insync.replicas, the active controller last). Kinds: those whose operator\ndeclares a restart annotation, e.g. kafkacluster (kc).",
  async run({ values, positionals }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `one object at a time, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const { rollable } = await loadKinds();
    const { kind, name } = parseKindName(positionals[0], rollable);
    const annotation = kind.restartAnnotation;
    const namespace = values.namespace ?? "default";
    const requested = new Date().toISOString();
    const timeoutMs = parseTimeout(values["request-timeout"], 30);
    return withCluster(
      values,
      async ({ client }) => {
        await client.patch(
          kind.definition,
          { namespace, name },
          { metadata: { annotations: { [annotation]: requested } } },
          { type: "merge" },
        );
        const ns = namespace === "default" ? "" : ` -n ${namespace}`;
        console.log(
          [
            `Rolling restart of ${kind.definition.kind} ${namespace}/${name} requested (${annotation}=${requested}).`,
            "The operator restarts one node at a time, only when it is safe; follow it with:",
            `  ballast status ${kind.definition.singular}/${name}${ns}`,
          ].join("\n"),
        );
        return 0;
      },
      { timeoutMs },
    );
  },
});
