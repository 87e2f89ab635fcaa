/**
 * What the chart tests share: running helm and kubectl-less commands,
 * rendering the chart with given values into parsed objects, and unique
 * names so that tests on the shared cluster never collide.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ensureBinaries } from "@ballast/dev";
import { parseAllDocuments } from "yaml";

export const repoRoot = resolve(import.meta.dirname, "../../../..");
export const chartDir = join(repoRoot, "deploy/helm/ballast");

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never throws for a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((done) => {
    execFile(
      command,
      args,
      {
        maxBuffer: 64 * 1024 * 1024,
        env: options.env ?? process.env,
        cwd: options.cwd ?? repoRoot,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        done({ code, stdout, stderr });
      },
    );
  });
}

let scratchRoot: string | undefined;

/** A fresh scratch directory; all are removed when the process exits. */
export function scratchDir(): string {
  if (!scratchRoot) {
    const root = mkdtempSync(join(tmpdir(), "ballast-chart-"));
    process.once("exit", () => rmSync(root, { recursive: true, force: true }));
    scratchRoot = root;
  }
  return mkdtempSync(join(scratchRoot, "d-"));
}

let helmHome: string | undefined;

/**
 * Runs the local cluster's helm, with its cache/config/data in a scratch
 * directory so tests leave nothing in $HOME; `kubeconfig` targets a cluster.
 */
export async function helm(kubeconfig: string | undefined, ...args: string[]): Promise<RunResult> {
  const path = (await ensureBinaries(["helm"])).helm;
  helmHome ??= scratchDir();
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(helmHome, "cache"),
    HELM_CONFIG_HOME: join(helmHome, "config"),
    HELM_DATA_HOME: join(helmHome, "data"),
  };
  return run(path, kubeconfig ? [`--kubeconfig=${kubeconfig}`, ...args] : args, { env });
}

/** Throws with helm's own words unless it succeeded. */
export function ok(result: RunResult, what: string): string {
  if (result.code !== 0)
    throw new Error(`${what} failed (exit ${result.code}):\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** A values file holding `values` (JSON is YAML). */
export function valuesFile(values: Record<string, unknown>): string {
  const file = join(scratchDir(), "values.yaml");
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  values?: Record<string, unknown>;
  includeCrds?: boolean;
}

/** `helm template` of the chart: its YAML and the parsed objects. */
export async function render(
  options: RenderOptions = {},
): Promise<{ yaml: string; objects: Manifest[] }> {
  const args = ["template", options.release ?? "ballast", chartDir];
  args.push("--namespace", options.namespace ?? "ballast-system");
  if (options.values) args.push("-f", valuesFile(options.values));
  if (options.includeCrds) args.push("--include-crds");
  const yaml = ok(await helm(undefined, ...args), "helm template");
  const objects = parseAllDocuments(yaml)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`helm template printed bad YAML: ${d.errors[0]}`);
      return d.toJS() as Manifest | null;
    })
    .filter((o): o is Manifest => o !== null);
  return { yaml, objects };
}

export function ofKind(objects: readonly Manifest[], kind: string): Manifest[] {
  return objects.filter((o) => o.kind === kind);
}

export function rulesOf(role: Manifest): Rule[] {
  return (role as unknown as { rules: Rule[] }).rules;
}

/** A DNS-1123 name no other test (or earlier run) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${randomBytes(3).toString("hex")}`;
}
