/** `ballast status <kind>/<name>`: a readable summary of one data cluster or topic. */
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
import { genericStatusView } from "../render/generic.ts";
import { styleForStdout } from "../render/text.ts";

export const status = defineCommand({
  name: "status",
  summary: "show a data cluster's health, nodes, conditions and the operation in progress",
  usage:
    "ballast status <kind>/<name> [-n NAMESPACE] [-o text|json] [--kubeconfig FILE] [--context NAME]",
  options: {
    ...namespaceOption,
    output: { type: "string", short: "o" },
    ...kubeOptions,
    ...timeoutOption,
  },
  optionArgs: { ...kubeOptionArgs, output: "format" },
  optionHelp: {
    ...namespaceHelp,
    output: "text (default) or json (the object as the API server has it)",
    ...kubeOptionHelp,
    ...timeoutHelp(30),
  },
  details:
    "Kinds: every kind of the Ballast operators, spelled as kubectl accepts it (kind, singular,\nplural or short name), e.g. kafkacluster (kc), kafkatopic (kt).\nExample: ballast status kafkacluster/events -n data",
  async run({ values, positionals }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `one object at a time, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const output = values.output ?? "text";
    if (output !== "text" && output !== "json") {
      throw new UsageError(`--output must be text or json, not "${output}"`);
    }
    const kinds = await loadKinds();
    const { kind, name } = parseKindName(positionals[0], kinds.all);
    // Loaded before connecting: a view that fails to load is a bug, not the cluster's.
    const view = (await kind.operator.status?.()) ?? genericStatusView;
    const namespace = values.namespace ?? "default";
    const timeoutMs = parseTimeout(values["request-timeout"], 30);
    return withCluster(
      values,
      async ({ client }) => {
        const object = await client.get(kind.definition, { namespace, name });
        if (output === "json") {
          console.log(JSON.stringify(object, null, 2));
          return 0;
        }
        const options = { style: styleForStdout(), now: new Date() };
        console.log(view(object, options) ?? genericStatusView(object, options));
        return 0;
      },
      { timeoutMs },
    );
  },
});
