/**
 * The kinds the CLI knows, and `<kind>/<name>` arguments: a kind is named
 * the way kubectl accepts it (kind, singular, plural or short name, any
 * case), so what works in `kubectl get` works here.
 *
 * The definitions come from the operators' packages, loaded by the command
 * that needs them (`loadKinds()`), so starting the CLI does not load Kafka's.
 */
import type { KafkaCluster, KafkaTopic } from "@ballast/kafka";
import { UsageError } from "./cli.ts";

export type KnownKind = typeof KafkaCluster | typeof KafkaTopic;

export async function loadKinds() {
  const { KafkaCluster, KafkaTopic } = await import("@ballast/kafka");
  return { KafkaCluster, KafkaTopic, all: [KafkaCluster, KafkaTopic] as readonly KnownKind[] };
}

/** Every spelling of each kind, lower-case. */
function spellings(kind: KnownKind): string[] {
  const names = kind.crd().spec.names;
  const all = [names.kind, names.singular ?? "", names.plural, ...(names.shortNames ?? [])];
  return [...new Set(all.filter(Boolean).map((n) => n.toLowerCase()))];
}

/** `kafkacluster/events` → the kind and the name; throws UsageError naming what is wrong. */
export function parseKindName(
  argument: string | undefined,
  accept: readonly KnownKind[],
): { kind: KnownKind; name: string } {
  if (!argument) throw new UsageError("name the object as <kind>/<name>, e.g. kafkacluster/events");
  const slash = argument.indexOf("/");
  if (slash <= 0 || slash === argument.length - 1) {
    throw new UsageError(
      `"${argument}" is not <kind>/<name>; e.g. kafkacluster/${argument.replace("/", "") || "events"}`,
    );
  }
  const kindWord = argument.slice(0, slash).toLowerCase();
  const name = argument.slice(slash + 1);
  const kind = accept.find((k) => spellings(k).includes(kindWord));
  if (!kind) {
    const listed = accept.map((k) => spellings(k).join("|")).join(", ");
    throw new UsageError(`unknown kind "${argument.slice(0, slash)}": expected one of ${listed}`);
  }
  return { kind, name };
}
