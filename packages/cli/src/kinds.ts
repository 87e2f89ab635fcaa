/**
 * The kinds the CLI knows, and `<kind>/<name>` arguments: a kind is named
 * the way kubectl accepts it (kind, singular, plural or short name, any
 * case), so what works in `kubectl get` works here.
 *
 * The kinds are every operator's `crds` (operators.ts), loaded by the
 * command that needs them (`loadKinds()`), so starting the CLI loads no
 * operator.
 */
import type { OperatorDescriptor, ResourceDefinition } from "@ballast/runtime";
import { UsageError } from "./cli.ts";
import { loadOperators } from "./operators.ts";

/** A kind, with the operator that reconciles it. */
export interface KnownKind {
  definition: ResourceDefinition;
  operator: OperatorDescriptor;
}

export interface Kinds {
  /** Every operator's kinds. */
  all: readonly KnownKind[];
  /** The kinds `ballast roll` can restart: those under their operator's restart annotation. */
  rollable: readonly RollableKind[];
}

export interface RollableKind extends KnownKind {
  /** The annotation `ballast roll` sets to the current time. */
  restartAnnotation: string;
}

export async function loadKinds(): Promise<Kinds> {
  const operators = await loadOperators();
  const all = operators.flatMap((operator) =>
    operator.crds.map((definition) => ({ definition, operator })),
  );
  const rollable = all.flatMap((k) => {
    const restart = k.operator.restart;
    return restart?.kinds.includes(k.definition)
      ? [{ ...k, restartAnnotation: restart.annotation }]
      : [];
  });
  return { all, rollable };
}

/** Every spelling of each kind, lower-case. */
function spellings(kind: ResourceDefinition): string[] {
  const names = kind.crd().spec.names;
  const all = [names.kind, names.singular ?? "", names.plural, ...(names.shortNames ?? [])];
  return [...new Set(all.filter(Boolean).map((n) => n.toLowerCase()))];
}

/** `kafkacluster/events` → the kind and the name; throws UsageError naming what is wrong. */
export function parseKindName<K extends KnownKind>(
  argument: string | undefined,
  accept: readonly K[],
): { kind: K; name: string } {
  const example = accept[0]?.definition.singular ?? "kafkacluster";
  if (!argument) throw new UsageError(`name the object as <kind>/<name>, e.g. ${example}/events`);
  const slash = argument.indexOf("/");
  if (slash <= 0 || slash === argument.length - 1) {
    throw new UsageError(
      `"${argument}" is not <kind>/<name>; e.g. ${example}/${argument.replace("/", "") || "events"}`,
    );
  }
  const kindWord = argument.slice(0, slash).toLowerCase();
  const name = argument.slice(slash + 1);
  const kind = accept.find((k) => spellings(k.definition).includes(kindWord));
  if (!kind) {
    const listed = accept.map((k) => spellings(k.definition).join("|")).join(", ");
    throw new UsageError(`unknown kind "${argument.slice(0, slash)}": expected one of ${listed}`);
  }
  return { kind, name };
}
