/**
 * `ballast switchover <cluster> [--to N]`: asks the PostgreSQL operator to
 * hand the primary role to a standby without losing a commit, by setting
 * the cluster's `postgres.ballast.dev/switchover-to` annotation to the
 * instance id (or `any`: the most advanced standby). The operator carries
 * it out step by step (checkpoint, clean stop, promote, repoint) and
 * removes the annotation once done (packages/operators/postgres/docs/switchover.md).
 *
 * What the operator would refuse or ignore is refused here first, with the
 * operator's own words where it has them: an id that names no instance,
 * a cluster with no standby, no settled primary, a failover or another
 * switchover under way. Asking for the current primary does nothing.
 */
import { CommandError, defineCommand, UsageError } from "../cli.ts";
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
import { followHint, getCluster, namedCluster, primaryMoving, primaryOf } from "./_postgres.ts";

export const switchover = defineCommand({
  name: "switchover",
  summary: "hand a PostgresCluster's primary role to a standby, without losing a commit",
  usage:
    "ballast switchover <cluster> [--to ID] [-n NAMESPACE] [--kubeconfig FILE] [--context NAME]",
  options: {
    to: { type: "string" },
    ...namespaceOption,
    ...kubeOptions,
    ...timeoutOption,
  },
  optionArgs: { ...kubeOptionArgs, to: "id" },
  optionHelp: {
    to: "the instance to promote (default: the standby with the most WAL)",
    ...namespaceHelp,
    ...kubeOptionHelp,
    ...timeoutHelp(30),
  },
  details: [
    "Sets the annotation postgres.ballast.dev/switchover-to on the PostgresCluster to the",
    "instance id, or to any. The operator checkpoints the primary, stops it cleanly, promotes",
    "the standby once it holds all of the old primary's WAL, and repoints the other instances;",
    "then it removes the annotation. It starts only with one settled primary and a target that",
    "streams from it with little lag; until then `ballast status` says what it waits for.",
    "",
    "Examples:",
    "  ballast switchover main",
    "  ballast switchover pgc/main --to 2 -n data",
  ].join("\n"),
  async run({ values, positionals }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `one cluster at a time, got ${positionals.length}: ${positionals.join(" ")}`,
      );
    }
    const to = values.to?.trim();
    if (to !== undefined && !/^[0-9]+$/.test(to)) {
      throw new UsageError(`--to takes an instance id (0, 1, …), not "${values.to}"`);
    }
    const named = await namedCluster(positionals[0]);
    const { pg, name } = named;
    const annotation = pg.resources.annotations.switchoverTo;
    const namespace = values.namespace ?? "default";
    const timeoutMs = parseTimeout(values["request-timeout"], 30);
    return withCluster(
      values,
      async ({ client }) => {
        const r = await getCluster(client, named, namespace);
        const where = `PostgresCluster ${namespace}/${name}`;
        const moving = primaryMoving(r);
        if (moving) throw new CommandError(`${where}: ${moving}; wait for it to end`);
        if (r.spec.instances < 2) {
          throw new CommandError(
            `${where} has one instance: no standby to switch over to (raise spec.instances)`,
          );
        }
        const primary = primaryOf(r, namespace);
        const instances = (r.status?.instances ?? []).filter((i) => !i.removing).map((i) => i.id);
        const value = to ?? "any";
        const asked = pg.requestedSwitchover(value, instances);
        if (asked.problem) throw new CommandError(`${where}: ${asked.problem}`);
        if (asked.request?.to === primary) {
          console.log(`Instance ${primary} is already the primary of ${where}: nothing to do.`);
          return 0;
        }
        const before = r.metadata.annotations?.[annotation];
        await client.patch(
          pg.PostgresCluster,
          { namespace, name },
          { metadata: { annotations: { [annotation]: value } } },
          { type: "merge" },
        );
        const target =
          asked.request?.to === undefined
            ? "the standby with the most WAL"
            : `instance ${asked.request.to}`;
        console.log(
          [
            `Switchover of ${where} requested (${annotation}=${value}${before !== undefined && before !== value ? `, was ${before}` : ""}).`,
            `Instance ${primary} hands over to ${target} once it has caught up; the operator removes the annotation when done. Follow it with:`,
            followHint(name, namespace),
          ].join("\n"),
        );
        return 0;
      },
      { timeoutMs },
    );
  },
});
