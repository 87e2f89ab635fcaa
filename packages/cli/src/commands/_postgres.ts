/**
 * What `ballast psql` and `ballast switchover` share: the PostgresCluster
 * named on the command line (its name, or `<kind>/<name>` as the other
 * commands take it), and the PostgreSQL operator's package, loaded only by
 * these two commands.
 */
import type { KubeClient } from "@ballast/runtime";
import { CommandError, UsageError } from "../cli.ts";
import { type KnownKind, loadKinds, parseKindName } from "../kinds.ts";

export type PostgresPackage = typeof import("@ballast/postgres");
export type PostgresClusterObject = import("@ballast/postgres").PostgresCluster;

export interface NamedCluster {
  pg: PostgresPackage;
  kind: KnownKind;
  name: string;
}

/** `main`, `pgc/main` or `postgrescluster/main` → the cluster's name; a UsageError for anything else. */
export async function namedCluster(argument: string | undefined): Promise<NamedCluster> {
  const pg = await import("@ballast/postgres");
  const { all } = await loadKinds();
  const kinds = all.filter((k) => k.definition === pg.PostgresCluster);
  const [kind] = kinds;
  if (!kind) throw new Error("the registry has no operator serving PostgresCluster");
  if (!argument) throw new UsageError("name the PostgresCluster, e.g. main or pgc/main");
  if (!argument.includes("/")) return { pg, kind, name: argument };
  return { pg, ...parseKindName(argument, kinds) };
}

/** The cluster as the API server has it. */
export function getCluster(
  client: KubeClient,
  { pg, name }: NamedCluster,
  namespace: string,
): Promise<PostgresClusterObject> {
  return client.get<PostgresClusterObject>(pg.PostgresCluster, { namespace, name });
}

/** `ballast status pgc/<name> [-n ns]`: how to follow what a command asked for. */
export function followHint(name: string, namespace: string): string {
  return `  ballast status pgc/${name}${namespace === "default" ? "" : ` -n ${namespace}`}`;
}

/** A failover or a switchover in progress, in words; undefined when neither is. */
export function primaryMoving(r: PostgresClusterObject): string | undefined {
  const { election, switchover } = r.status ?? {};
  if (election) {
    const to = "to" in election ? ` to instance ${election.to}` : "";
    return `a failover from instance ${election.from}${to} is in progress (${election.phase})`;
  }
  if (switchover) {
    return `a switchover from instance ${switchover.from} to instance ${switchover.to} is in progress (${switchover.phase})`;
  }
  return undefined;
}

/** The recorded primary's id; a CommandError saying why there is none. */
export function primaryOf(r: PostgresClusterObject, namespace: string): number {
  const primary = r.status?.primary;
  if (primary) return primary.id;
  const why = primaryMoving(r) ?? "it is still bootstrapping, or its operator is not running";
  throw new CommandError(
    `PostgresCluster ${namespace}/${r.metadata.name} has no primary yet (status.primary is unset: ${why})`,
  );
}
