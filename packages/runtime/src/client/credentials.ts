/**
 * Credentials that change while the operator runs: a token file the kubelet
 * rotates (in-cluster, `tokenFile`) and exec credential plugins
 * (`client.authentication.k8s.io/v1` and `v1beta1`). The transport asks for
 * them before every request, so each source keeps its own cache and a request
 * pays for a file read or a process only when the cache has run out; a 401
 * asks again with `refresh`, because the server's word beats our clock.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";

/** What a request presents: a bearer token, a client certificate, or both. */
export interface AuthMaterial {
  token?: string | undefined;
  /** PEM. */
  cert?: string | undefined;
  /** PEM. */
  key?: string | undefined;
}

export interface Credentials {
  /**
   * The current material. `refresh`: the server refused the last one (401),
   * so read or run again rather than trust the cache.
   */
  get(refresh?: boolean): Promise<AuthMaterial>;
}

/** A source failed: the token file is unreadable, the plugin failed or printed nonsense. */
export class CredentialError extends Error {
  override name = "CredentialError";
}

/** Milliseconds since the epoch; tests pass a fake clock. */
export type Clock = () => number;

/**
 * Single-flight cache: concurrent requests that find the cache stale share
 * one read (one plugin run), instead of starting one each.
 */
class Cached {
  readonly #load: () => Promise<{ material: AuthMaterial; expiresAt: number }>;
  readonly #now: Clock;
  #material: AuthMaterial | undefined;
  #expiresAt = Number.NEGATIVE_INFINITY;
  #pending: Promise<AuthMaterial> | undefined;

  constructor(load: () => Promise<{ material: AuthMaterial; expiresAt: number }>, now: Clock) {
    this.#load = load;
    this.#now = now;
  }

  get(refresh = false): Promise<AuthMaterial> {
    if (!refresh && this.#material && this.#now() < this.#expiresAt) {
      return Promise.resolve(this.#material);
    }
    this.#pending ??= this.#load()
      .then(({ material, expiresAt }) => {
        this.#material = material;
        this.#expiresAt = expiresAt;
        return material;
      })
      .finally(() => {
        this.#pending = undefined;
      });
    return this.#pending;
  }
}

export interface TokenFileOptions {
  /**
   * How long a read is trusted. The kubelet rewrites projected tokens well
   * before they expire (at 80% of their life), so a minute-old read is still
   * valid; client-go re-reads at the same pace. @default 60_000
   */
  maxAgeMs?: number;
  now?: Clock;
}

/** A bearer token read from a file, re-read at most every `maxAgeMs` and after a 401. */
export class TokenFileCredentials implements Credentials {
  readonly path: string;
  readonly #cache: Cached;

  constructor(path: string, { maxAgeMs = 60_000, now = Date.now }: TokenFileOptions = {}) {
    this.path = path;
    this.#cache = new Cached(async () => {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (error) {
        throw new CredentialError(`cannot read token file ${path}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      const token = text.trim();
      if (!token) throw new CredentialError(`token file ${path} is empty`);
      return { material: { token }, expiresAt: now() + maxAgeMs };
    }, now);
  }

  get(refresh?: boolean): Promise<AuthMaterial> {
    return this.#cache.get(refresh);
  }
}

export const execApiVersions = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
] as const;
export type ExecApiVersion = (typeof execApiVersions)[number];

/** A kubeconfig user's `exec` stanza, validated (see kubeconfig.ts). */
export interface ExecConfig {
  apiVersion: ExecApiVersion;
  /** A name looked up in PATH, or a path (relative ones already resolved against the kubeconfig). */
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  installHint?: string | undefined;
  /** Sent to the plugin in KUBERNETES_EXEC_INFO when `provideClusterInfo` is set. */
  cluster?: Record<string, unknown> | undefined;
}

/** Runs the plugin; replaceable in tests. Resolves with its exit and output, rejects if it cannot start. */
export type RunPlugin = (
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
) => Promise<{ code: number | null; signal?: string | null; stdout: string; stderr: string }>;

export interface ExecOptions {
  now?: Clock;
  run?: RunPlugin;
  /** The environment the plugin inherits. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * An exec credential plugin: runs the command, reads the ExecCredential it
 * prints, and keeps the result until its `expirationTimestamp` (for ever if it
 * gives none, until a 401 says otherwise).
 */
export class ExecCredentials implements Credentials {
  readonly config: ExecConfig;
  readonly #cache: Cached;

  constructor(config: ExecConfig, { now = Date.now, run = runPlugin, env }: ExecOptions = {}) {
    this.config = config;
    this.#cache = new Cached(async () => {
      const parentEnv = env ?? process.env;
      const result = await run(config.command, config.args, pluginEnv(config, parentEnv)).catch(
        (error: NodeJS.ErrnoException) => {
          const hint =
            error.code === "ENOENT" && config.installHint ? `\n${config.installHint}` : "";
          throw new CredentialError(
            `exec plugin ${config.command} could not be started: ${error.message}${hint}`,
            { cause: error },
          );
        },
      );
      if (result.code !== 0) {
        const stderr = result.stderr.trim();
        const how = result.signal
          ? `was killed by ${result.signal}`
          : `exited with code ${result.code}`;
        throw new CredentialError(
          `exec plugin ${config.command} ${how}${stderr ? `: ${stderr}` : ""}`,
        );
      }
      return parseExecCredential(result.stdout, config);
    }, now);
  }

  get(refresh?: boolean): Promise<AuthMaterial> {
    return this.#cache.get(refresh);
  }
}

function pluginEnv(config: ExecConfig, parent: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...parent };
  for (const { name, value } of config.env) env[name] = value;
  const spec: Record<string, unknown> = { interactive: false };
  if (config.cluster) spec.cluster = config.cluster;
  env.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: config.apiVersion,
    kind: "ExecCredential",
    spec,
  });
  return env;
}

/** Reads the ExecCredential a plugin printed; exported for unit tests. */
export function parseExecCredential(
  stdout: string,
  config: Pick<ExecConfig, "apiVersion" | "command">,
): { material: AuthMaterial; expiresAt: number } {
  const bad = (what: string) =>
    new CredentialError(`exec plugin ${config.command} printed ${what}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (error) {
    throw new CredentialError(
      `exec plugin ${config.command} printed no ExecCredential JSON: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (!isRecord(parsed)) throw bad("JSON that is not an ExecCredential object");
  if (parsed.kind !== "ExecCredential") {
    throw bad(`kind ${JSON.stringify(parsed.kind)}, not "ExecCredential"`);
  }
  if (parsed.apiVersion !== config.apiVersion) {
    throw bad(
      `apiVersion ${JSON.stringify(parsed.apiVersion)}, but the kubeconfig asked for ${config.apiVersion}`,
    );
  }
  const status = parsed.status;
  if (!isRecord(status)) throw bad("an ExecCredential without status");
  const token = optionalString(status.token, "status.token", bad);
  const cert = optionalString(status.clientCertificateData, "status.clientCertificateData", bad);
  const key = optionalString(status.clientKeyData, "status.clientKeyData", bad);
  if (Boolean(cert) !== Boolean(key)) {
    throw bad("only one of status.clientCertificateData and status.clientKeyData");
  }
  if (!token && !cert) {
    throw bad("an ExecCredential with neither status.token nor a client certificate");
  }
  let expiresAt = Number.POSITIVE_INFINITY;
  const expiration = optionalString(status.expirationTimestamp, "status.expirationTimestamp", bad);
  if (expiration) {
    expiresAt = Date.parse(expiration);
    if (Number.isNaN(expiresAt)) {
      throw bad(`status.expirationTimestamp ${JSON.stringify(expiration)}, not an RFC 3339 time`);
    }
  }
  const material: AuthMaterial = {};
  if (token) material.token = token;
  if (cert && key) {
    material.cert = cert;
    material.key = key;
  }
  return { material, expiresAt };
}

function optionalString(
  value: unknown,
  field: string,
  bad: (what: string) => CredentialError,
): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string") throw bad(`a ${typeof value} as ${field}, not a string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * No stdin: an operator has no terminal to prompt on, and a plugin that
 * waits for input must fail rather than hang the client.
 */
const runPlugin: RunPlugin = (command, args, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.once("error", reject);
    child.once("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
