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

/** The operator's `annotations.restartRequested`, spelled out so `--help` needs no Kafka code. */
const restartAnnotation = "kafka.ballast.dev/restart-requested";

export const roll = defineCommand({
  name: "roll",
  summary: "request a rolling restart, one node at a time, as safety allows",
  usage: "ballast roll <kind>/<name> [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]",
  options: { ...namespaceOption, ...kubeOptions, ...timeoutOption },
  optionArgs: { ...kubeOptionArgs },
  optionHelp: { ...namespaceHelp, ...kubeOptionHelp, ...timeoutHelp(30) },
  details: `Sets the annotation ${restartAnnotation} to the current time; the operator restarts\nevery node, the active controller last, each only when no partition would fall below\nmin.insync.replicas. Kinds: kafkacluster (kc, kafka).`,
  async run({ values, positionals }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `one object at a time, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const [{ KafkaCluster }, { annotations }] = await Promise.all([
      loadKinds(),
      import("@ballast/kafka"),
    ]);
    const { kind, name } = parseKindName(positionals[0], [KafkaCluster]);
    const namespace = values.namespace ?? "default";
    const requested = new Date().toISOString();
    const timeoutMs = parseTimeout(values["request-timeout"], 30);
    return withCluster(
      values,
      async ({ client }) => {
        await client.patch(
          kind,
          { namespace, name },
          { metadata: { annotations: { [annotations.restartRequested]: requested } } },
          { type: "merge" },
        );
        const ns = namespace === "default" ? "" : ` -n ${namespace}`;
        console.log(
          [
            `Rolling restart of ${kind.kind} ${namespace}/${name} requested (${annotations.restartRequested}=${requested}).`,
            "The operator restarts one node at a time, only when it is safe; follow it with:",
            `  ballast status ${kind.singular}/${name}${ns}`,
          ].join("\n"),
        );
        return 0;
      },
      { timeoutMs },
    );
  },
});
