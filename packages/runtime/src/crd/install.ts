/**
 * Installs CRDs into a cluster and waits until they can be used.
 *
 * Expected flow: each CRD is server-side applied (create or upgrade), then
 * read back until the API server reports it Established and NamesAccepted,
 * with the accepted names equal to the applied ones.
 *
 * Why the names check: on an upgrade both conditions are already True from
 * the previous version, so they alone would not show that a new short name or
 * category was taken; `status.acceptedNames` does.
 *
 * Caveat: after an upgrade the API server starts using the new schema a
 * moment after the CRD is accepted, and nothing in the status says when; a
 * write in that window is still checked (and pruned) by the old schema.
 *
 * Two call shapes: `installCrds(client, crds)` with a `KubeClient` (the common
 * case), or `installCrds(crds, { apply, get })` with the two API calls as
 * functions, so it works with any client (and with the test kit's bare
 * `api()`).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { KubeClient } from "../client/client.ts";
import { ignoreNotFound } from "../client/errors.ts";
import { CrdInstallError } from "./errors.ts";
import type { CustomResourceDefinition, CustomResourceDefinitionNames } from "./types.ts";

export interface InstallCrdsOptions {
  /**
   * Server-side applies one CRD (with the caller's field manager, forcing
   * conflicts); throws when the API server refuses it.
   */
  apply(crd: CustomResourceDefinition): Promise<unknown>;
  /** Reads a CRD by name, status included; `undefined` when it does not exist. */
  get(name: string): Promise<CustomResourceDefinition | undefined>;
  /** How long to wait for all CRDs to become ready. @default 60_000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Anything that is, or can produce, a CRD (a ResourceDefinition can). */
export type CrdSource = CustomResourceDefinition | { crd(): CustomResourceDefinition };

/** What `installCrds(client, …)` needs of a client; a `KubeClient` has it. */
export type CrdClient = Pick<KubeClient, "apply" | "get">;

/** Options of `installCrds(client, crds, options)`. */
export type InstallCrdsClientOptions = Pick<InstallCrdsOptions, "timeoutMs" | "signal">;

const crdType = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition" };

/**
 * Applies every CRD, then waits until all are ready. Throws CrdInstallError.
 *
 * With a client, each CRD is server-side applied under the client's field
 * manager with `force`: the installer is the CRD's owner, so fields another
 * manager set (an earlier installer, a `kubectl edit`) are taken back rather
 * than failing the upgrade with a conflict.
 */
export async function installCrds(
  client: CrdClient,
  crds: readonly CrdSource[],
  options?: InstallCrdsClientOptions,
): Promise<void>;
export async function installCrds(
  crds: readonly CrdSource[],
  options: InstallCrdsOptions,
): Promise<void>;
export async function installCrds(
  first: CrdClient | readonly CrdSource[],
  second: readonly CrdSource[] | InstallCrdsOptions | undefined,
  third?: InstallCrdsClientOptions,
): Promise<void> {
  if (isCrdList(first)) return install(first, second as InstallCrdsOptions);
  const client = first;
  const { signal, timeoutMs } = third ?? {};
  return install(second as readonly CrdSource[], {
    apply: (crd) => client.apply(crd, { force: true, ...(signal ? { signal } : {}) }),
    get: async (name) =>
      (await client
        .get<CustomResourceDefinition>(crdType, { name }, signal ? { signal } : {})
        .catch(ignoreNotFound)) ?? undefined,
    ...(signal ? { signal } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
}

function isCrdList(value: CrdClient | readonly CrdSource[]): value is readonly CrdSource[] {
  return Array.isArray(value);
}

async function install(crds: readonly CrdSource[], options: InstallCrdsOptions): Promise<void> {
  const manifests = crds.map((c) => ("crd" in c ? c.crd() : c));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  for (const crd of manifests) {
    const name = crd.metadata.name;
    try {
      await options.apply(crd);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new CrdInstallError(name, `applying CRD ${name} failed: ${why}`, { cause: error });
    }
  }
  await Promise.all(manifests.map((crd) => waitReady(crd, deadline, options)));
}

async function waitReady(
  want: CustomResourceDefinition,
  deadline: number,
  options: InstallCrdsOptions,
): Promise<void> {
  const name = want.metadata.name;
  let delay = 50;
  let why = "not read yet";
  let lastError: unknown;
  for (;;) {
    try {
      const got = await options.get(name);
      lastError = undefined;
      const problem = notReady(want, got);
      if (problem === undefined) return;
      why = problem;
    } catch (error) {
      // A failed read is retried: the API server may be busy installing.
      lastError = error;
      why = `reading it failed: ${error instanceof Error ? error.message : String(error)}`;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const seconds = Math.round((options.timeoutMs ?? 60_000) / 100) / 10;
      throw new CrdInstallError(name, `CRD ${name} was not ready after ${seconds}s: ${why}`, {
        cause: lastError,
      });
    }
    try {
      await sleep(Math.min(delay, left), undefined, { signal: options.signal });
    } catch (error) {
      throw new CrdInstallError(name, `waiting for CRD ${name} was aborted`, { cause: error });
    }
    delay = Math.min(delay * 2, 1000);
  }
}

/** Why `got` is not yet the ready form of `want`, or undefined when it is. */
export function notReady(
  want: CustomResourceDefinition,
  got: CustomResourceDefinition | undefined,
): string | undefined {
  if (!got) return "it does not exist (was it deleted?)";
  const conditions = got.status?.conditions ?? [];
  const problems: string[] = [];
  for (const type of ["NamesAccepted", "Established"]) {
    const c = conditions.find((x) => x.type === type);
    if (c?.status === "True") continue;
    const detail = [c?.reason, c?.message].filter(Boolean).join(": ");
    problems.push(`${type}=${c?.status ?? "(not reported)"}${detail ? ` (${detail})` : ""}`);
  }
  const names = namesDiffer(want.spec.names, got.status?.acceptedNames);
  if (names) problems.push(names);
  return problems.length === 0 ? undefined : problems.join("; ");
}

function namesDiffer(
  want: CustomResourceDefinitionNames,
  accepted: CustomResourceDefinitionNames | undefined,
): string | undefined {
  if (!accepted) return "no names accepted yet";
  const differs: string[] = [];
  for (const key of ["plural", "singular", "kind", "listKind"] as const) {
    if (want[key] !== undefined && want[key] !== accepted[key]) {
      differs.push(`${key} ${JSON.stringify(accepted[key])} (want ${JSON.stringify(want[key])})`);
    }
  }
  for (const key of ["shortNames", "categories"] as const) {
    const a = [...(accepted[key] ?? [])].sort().join(",");
    const w = [...(want[key] ?? [])].sort().join(",");
    if (a !== w) differs.push(`${key} [${a}] (want [${w}])`);
  }
  return differs.length === 0 ? undefined : `accepted names differ: ${differs.join(", ")}`;
}
