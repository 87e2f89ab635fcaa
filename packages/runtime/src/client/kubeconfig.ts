/**
 * Kubeconfig files → `ClientConfig`, the way kubectl reads them:
 *
 * - Which files: the path given; else every file in $KUBECONFIG (`:`-separated,
 *   missing ones skipped); else `~/.kube/config`; else, inside a pod, the pod's
 *   service account.
 * - Merging several files: the first file to name a cluster, user or context
 *   wins, and the first `current-context` wins.
 * - Relative paths (certificate files, token files, an exec command with a
 *   `/`) are relative to the directory of the file that holds them, so a
 *   kubeconfig keeps working wherever it is read from.
 * - `*-data` fields win over the file fields beside them.
 *
 * The YAML parser is loaded only for files that are not JSON: an operator in
 * a pod never reads a kubeconfig, and the test clusters write JSON.
 */
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { type ClientConfig, inClusterConfig } from "./config.ts";
import {
  type ExecApiVersion,
  type ExecConfig,
  ExecCredentials,
  type ExecOptions,
  execApiVersions,
  TokenFileCredentials,
} from "./credentials.ts";

/** A kubeconfig is missing, malformed, or names something it does not hold. */
export class KubeconfigError extends Error {
  override name = "KubeconfigError";
  /** The file (or files, `:`-joined) at fault. */
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`kubeconfig ${file}: ${message}`, options);
    this.file = file;
  }
}

export interface KubeconfigOptions {
  /** Use this context instead of the file's `current-context` (kubectl's `--context`). */
  context?: string | undefined;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** @default os.homedir() */
  home?: string;
  /** For credentials that change (exec plugins, token files): a fake clock or plugin runner in tests. */
  credentials?: ExecOptions;
}

type Fields = Record<string, unknown>;

interface Entry {
  name: string;
  fields: Fields;
  /** The file that defined it: relative paths in it resolve against its directory. */
  file: string;
}

/** One or more kubeconfig files, merged. */
export interface Kubeconfig {
  files: string[];
  currentContext: string | undefined;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

/**
 * Reads the kubeconfig(s) and resolves one context. Without `path`, from
 * $KUBECONFIG or `~/.kube/config`, falling back to the pod's service account
 * when neither exists and KUBERNETES_SERVICE_HOST is set.
 */
export async function loadKubeconfig(
  path?: string,
  options: KubeconfigOptions = {},
): Promise<ClientConfig> {
  const env = options.env ?? process.env;
  const files = kubeconfigFiles(path, env, options.home ?? homedir());
  if (files === "in-cluster") return inClusterConfig({ env });
  const parsed: { file: string; doc: Fields }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new KubeconfigError(file, `cannot read it: ${(error as Error).message}`, {
        cause: error,
      });
    }
    parsed.push({ file, doc: await parseKubeconfig(text, file) });
  }
  return resolveContext(mergeKubeconfigs(parsed), options.context, options.credentials);
}

/** The files to read, or `"in-cluster"` when there are none and we run in a pod. */
export function kubeconfigFiles(
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  home: string,
): string[] | "in-cluster" {
  if (path) {
    const file = resolve(path);
    if (!existsSync(file)) throw new KubeconfigError(file, "no such file");
    return [file];
  }
  if (env.KUBECONFIG) {
    const listed = [...new Set(env.KUBECONFIG.split(delimiter).filter(Boolean))].map((p) =>
      resolve(p),
    );
    // kubectl skips the missing ones: $KUBECONFIG often lists files that only some machines have.
    const present = listed.filter((file) => existsSync(file));
    if (present.length === 0) {
      throw new KubeconfigError(listed.join(delimiter), "none of the files in $KUBECONFIG exist");
    }
    return present;
  }
  const file = join(home, ".kube", "config");
  if (existsSync(file)) return [file];
  if (env.KUBERNETES_SERVICE_HOST) return "in-cluster";
  throw new KubeconfigError(
    file,
    "no such file, $KUBECONFIG is not set and this is not a pod (no KUBERNETES_SERVICE_HOST)",
  );
}

/** Parses one file's text (JSON or YAML) into its top-level mapping. */
export async function parseKubeconfig(text: string, file: string): Promise<Fields> {
  let doc: unknown;
  const trimmed = text.trim();
  let json = false;
  if (trimmed.startsWith("{")) {
    try {
      doc = JSON.parse(trimmed);
      json = true;
    } catch {
      // A YAML flow mapping starts with `{` too; let the YAML parser judge it.
    }
  }
  if (!json) {
    const { parse } = await import("yaml");
    try {
      doc = parse(text, { logLevel: "error" });
    } catch (error) {
      throw new KubeconfigError(file, `not valid YAML: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  // An empty file is an empty kubeconfig, as kubectl takes it.
  if (doc === null || doc === undefined) return {};
  if (!isFields(doc)) throw new KubeconfigError(file, "the top level is not a mapping");
  return doc;
}

/** Merges parsed files in order: the first definition of each name wins. */
export function mergeKubeconfigs(parsed: readonly { file: string; doc: Fields }[]): Kubeconfig {
  const merged: Kubeconfig = {
    files: parsed.map((p) => p.file),
    currentContext: undefined,
    clusters: new Map(),
    users: new Map(),
    contexts: new Map(),
  };
  for (const { file, doc } of parsed) {
    const current = optionalString(doc["current-context"], "current-context", file);
    if (!merged.currentContext && current) merged.currentContext = current;
    addEntries(merged.clusters, doc.clusters, "clusters", "cluster", file);
    addEntries(merged.users, doc.users, "users", "user", file);
    addEntries(merged.contexts, doc.contexts, "contexts", "context", file);
  }
  return merged;
}

function addEntries(
  into: Map<string, Entry>,
  list: unknown,
  listName: string,
  bodyName: string,
  file: string,
): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new KubeconfigError(file, `${listName} is not a list`);
  list.forEach((item, i) => {
    if (!isFields(item)) throw new KubeconfigError(file, `${listName}[${i}] is not a mapping`);
    const name = optionalString(item.name, `${listName}[${i}].name`, file);
    if (!name) throw new KubeconfigError(file, `${listName}[${i}] has no name`);
    const body = item[bodyName] ?? {};
    if (!isFields(body)) {
      throw new KubeconfigError(file, `${listName}[${i}] (${name}): ${bodyName} is not a mapping`);
    }
    if (!into.has(name)) into.set(name, { name, fields: body, file });
  });
}

/** The context `name` (or the current one) as a `ClientConfig`; reads the files it refers to. */
export function resolveContext(
  kubeconfig: Kubeconfig,
  name?: string,
  execOptions: ExecOptions = {},
): ClientConfig {
  const files = kubeconfig.files.join(delimiter);
  const contextName = name ?? kubeconfig.currentContext;
  if (!contextName) {
    throw new KubeconfigError(files, "no current-context is set and no context was given");
  }
  const context = kubeconfig.contexts.get(contextName);
  if (!context) {
    const known = [...kubeconfig.contexts.keys()].join(", ") || "none";
    const which = name ? "context" : "current-context";
    throw new KubeconfigError(
      files,
      `${which} ${JSON.stringify(contextName)} is not defined (contexts: ${known})`,
    );
  }
  const clusterName = optionalString(context.fields.cluster, "cluster", context.file);
  if (!clusterName) {
    throw new KubeconfigError(
      context.file,
      `context ${JSON.stringify(contextName)} names no cluster`,
    );
  }
  const cluster = kubeconfig.clusters.get(clusterName);
  if (!cluster) {
    throw new KubeconfigError(
      files,
      `context ${JSON.stringify(contextName)} names cluster ${JSON.stringify(clusterName)}, which is not defined`,
    );
  }
  const config = clusterConfig(cluster);
  const userName = optionalString(context.fields.user, "user", context.file);
  if (userName) {
    const user = kubeconfig.users.get(userName);
    if (!user) {
      throw new KubeconfigError(
        files,
        `context ${JSON.stringify(contextName)} names user ${JSON.stringify(userName)}, which is not defined`,
      );
    }
    applyUser(config, user, cluster, execOptions);
  }
  return config;
}

function clusterConfig(cluster: Entry): ClientConfig {
  const { fields, file } = cluster;
  const where = `cluster ${JSON.stringify(cluster.name)}`;
  const server = optionalString(fields.server, `${where} server`, file);
  if (!server) throw new KubeconfigError(file, `${where} has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch (error) {
    throw new KubeconfigError(file, `${where} server ${JSON.stringify(server)} is not a URL`, {
      cause: error,
    });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new KubeconfigError(file, `${where} server ${server} is neither https: nor http:`);
  }
  if (fields["proxy-url"]) {
    throw new KubeconfigError(file, `${where} sets proxy-url, which this client does not support`);
  }
  const config: ClientConfig = { server };
  const ca = material(fields, "certificate-authority", where, file);
  const insecure = optionalBoolean(
    fields["insecure-skip-tls-verify"],
    `${where} insecure-skip-tls-verify`,
    file,
  );
  if (insecure && ca) {
    // As kubectl: trusting a CA and trusting anything at once is a mistake, not a choice.
    throw new KubeconfigError(
      file,
      `${where} sets both insecure-skip-tls-verify and a certificate authority; remove one`,
    );
  }
  if (ca) config.ca = ca;
  if (insecure) config.insecureSkipTlsVerify = true;
  const serverName = optionalString(fields["tls-server-name"], `${where} tls-server-name`, file);
  if (serverName) config.tlsServerName = serverName;
  return config;
}

function applyUser(config: ClientConfig, user: Entry, cluster: Entry, execOptions: ExecOptions) {
  const { fields, file } = user;
  const where = `user ${JSON.stringify(user.name)}`;
  const cert = material(fields, "client-certificate", where, file);
  const key = material(fields, "client-key", where, file);
  if (Boolean(cert) !== Boolean(key)) {
    throw new KubeconfigError(file, `${where} has a client certificate or key without the other`);
  }
  if (cert && key) {
    config.cert = cert;
    config.key = key;
  }

  const token = optionalString(fields.token, `${where} token`, file);
  const tokenFile = optionalString(fields.tokenFile, `${where} tokenFile`, file);
  const username = optionalString(fields.username, `${where} username`, file);
  const password = optionalString(fields.password, `${where} password`, file);
  const methods = [
    token || tokenFile ? "token" : undefined,
    username || password ? "username/password" : undefined,
    fields.exec ? "exec" : undefined,
    fields["auth-provider"] ? "auth-provider" : undefined,
  ].filter(Boolean);
  if (methods.length > 1) {
    throw new KubeconfigError(
      file,
      `${where} has more than one way to log in: ${methods.join(", ")}`,
    );
  }
  if (fields["auth-provider"]) {
    const provider = isFields(fields["auth-provider"]) ? fields["auth-provider"].name : undefined;
    throw new KubeconfigError(
      file,
      `${where} uses auth-provider ${JSON.stringify(provider)}, which kubectl itself dropped; use an exec credential plugin instead`,
    );
  }
  if (tokenFile) {
    const path = resolve(dirname(file), tokenFile);
    try {
      // Read now so a missing file fails at start-up, not at the first request.
      readFileSync(path);
    } catch (error) {
      throw new KubeconfigError(file, `${where} tokenFile ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    config.credentials = new TokenFileCredentials(
      path,
      execOptions.now ? { now: execOptions.now } : {},
    );
  } else if (token) {
    config.token = token;
  }
  if (username || password) {
    if (!username || !password) {
      throw new KubeconfigError(file, `${where} has a username or password without the other`);
    }
    config.basicAuth = { username, password };
  }
  if (fields.exec) {
    config.credentials = new ExecCredentials(execConfig(user, cluster, config), execOptions);
  }
  const headers = impersonation(fields, where, file);
  if (headers) config.headers = headers;
}

function execConfig(user: Entry, cluster: Entry, config: ClientConfig): ExecConfig {
  const { file } = user;
  const where = `user ${JSON.stringify(user.name)} exec`;
  const exec = user.fields.exec;
  if (!isFields(exec)) throw new KubeconfigError(file, `${where} is not a mapping`);
  const apiVersion = optionalString(exec.apiVersion, `${where} apiVersion`, file);
  if (!execApiVersions.includes(apiVersion as ExecApiVersion)) {
    throw new KubeconfigError(
      file,
      `${where} apiVersion ${JSON.stringify(apiVersion)} is not supported (use ${execApiVersions.join(" or ")})`,
    );
  }
  const command = optionalString(exec.command, `${where} command`, file);
  if (!command) throw new KubeconfigError(file, `${where} has no command`);
  const interactiveMode = optionalString(exec.interactiveMode, `${where} interactiveMode`, file);
  if (interactiveMode === "Always") {
    throw new KubeconfigError(
      file,
      `${where} ${command} needs a terminal (interactiveMode: Always), which an operator does not have`,
    );
  }
  const args = optionalList(exec.args, `${where} args`, file).map((arg, i) => {
    const value = optionalString(arg, `${where} args[${i}]`, file);
    return value ?? "";
  });
  const env = optionalList(exec.env, `${where} env`, file).map((item, i) => {
    const name = isFields(item)
      ? optionalString(item.name, `${where} env[${i}].name`, file)
      : undefined;
    if (!isFields(item) || !name) throw new KubeconfigError(file, `${where} env[${i}] has no name`);
    return { name, value: optionalString(item.value, `${where} env[${i}].value`, file) ?? "" };
  });
  const installHint = optionalString(exec.installHint, `${where} installHint`, file);
  const result: ExecConfig = {
    apiVersion: apiVersion as ExecApiVersion,
    // A bare name is looked up in PATH; a relative path belongs to the kubeconfig's directory.
    command:
      command.includes("/") && !isAbsolute(command) ? resolve(dirname(file), command) : command,
    args,
    env,
    installHint,
  };
  if (optionalBoolean(exec.provideClusterInfo, `${where} provideClusterInfo`, file)) {
    result.cluster = execClusterInfo(cluster, config);
  }
  return result;
}

/** What a plugin with `provideClusterInfo` is told about the cluster (ExecCredential spec.cluster). */
function execClusterInfo(cluster: Entry, config: ClientConfig): Record<string, unknown> {
  const info: Record<string, unknown> = { server: config.server };
  if (config.tlsServerName) info["tls-server-name"] = config.tlsServerName;
  if (config.insecureSkipTlsVerify) info["insecure-skip-tls-verify"] = true;
  if (config.ca) info["certificate-authority-data"] = Buffer.from(config.ca).toString("base64");
  const extensions = Array.isArray(cluster.fields.extensions) ? cluster.fields.extensions : [];
  for (const extension of extensions) {
    if (isFields(extension) && extension.name === "client.authentication.k8s.io/exec") {
      info.config = extension.extension;
    }
  }
  return info;
}

function impersonation(
  fields: Fields,
  where: string,
  file: string,
): Record<string, string | string[]> | undefined {
  const headers: Record<string, string | string[]> = {};
  const as = optionalString(fields.as, `${where} as`, file);
  if (as) headers["impersonate-user"] = as;
  const uid = optionalString(fields["as-uid"], `${where} as-uid`, file);
  if (uid) headers["impersonate-uid"] = uid;
  const groups = optionalList(fields["as-groups"], `${where} as-groups`, file).map(
    (group, i) => optionalString(group, `${where} as-groups[${i}]`, file) ?? "",
  );
  if (groups.length) headers["impersonate-group"] = groups;
  const extra = fields["as-user-extra"];
  if (isFields(extra)) {
    for (const [key, values] of Object.entries(extra)) {
      const list = optionalList(values, `${where} as-user-extra.${key}`, file).map(
        (value) => optionalString(value, `${where} as-user-extra.${key}`, file) ?? "",
      );
      headers[`impersonate-extra-${encodeURIComponent(key)}`] = list;
    }
  }
  if (Object.keys(headers).length === 0) return undefined;
  if (!as) throw new KubeconfigError(file, `${where} impersonates groups or extras without \`as\``);
  return headers;
}

/** `<field>-data` (base64) or `<field>` (a path, relative to the kubeconfig's directory). */
function material(fields: Fields, field: string, where: string, file: string): Buffer | undefined {
  const data = optionalString(fields[`${field}-data`], `${where} ${field}-data`, file);
  if (data) {
    const bytes = Buffer.from(data, "base64");
    if (bytes.length === 0) {
      throw new KubeconfigError(file, `${where} ${field}-data is not base64`);
    }
    return bytes;
  }
  const path = optionalString(fields[field], `${where} ${field}`, file);
  if (!path) return undefined;
  const full = resolve(dirname(file), path);
  try {
    return readFileSync(full);
  } catch (error) {
    throw new KubeconfigError(
      file,
      `${where} ${field} ${full} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/**
 * kubectl reads YAML into typed fields, so an unquoted `token: 12345` is
 * still a string; numbers and booleans are taken as their text here too.
 */
function optionalString(value: unknown, field: string, file: string): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  throw new KubeconfigError(file, `${field} is a ${kindOf(value)}, not a string`);
}

function optionalBoolean(value: unknown, field: string, file: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === "boolean") return value;
  if (value === "true") return true;
  if (value === "false") return false;
  throw new KubeconfigError(file, `${field} is ${JSON.stringify(value)}, not true or false`);
}

function optionalList(value: unknown, field: string, file: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value))
    throw new KubeconfigError(file, `${field} is a ${kindOf(value)}, not a list`);
  return value;
}

function kindOf(value: unknown): string {
  return Array.isArray(value) ? "list" : typeof value === "object" ? "mapping" : typeof value;
}

function isFields(value: unknown): value is Fields {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
