/**
 * `ClientConfig`: where the API server is and how to prove who we are —
 * what a kubeconfig context (kubeconfig.ts) or a pod's service account
 * (`inClusterConfig`) resolves to, and all the transport needs.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Credentials, TokenFileCredentials } from "./credentials.ts";

export interface ClientConfig {
  /** The API server's URL, e.g. `https://10.0.0.1:443`. */
  server: string;
  /** PEM certificates to trust; without them, the system's roots. */
  ca?: string | Buffer | undefined;
  /** A client certificate and its key, PEM. */
  cert?: string | Buffer | undefined;
  key?: string | Buffer | undefined;
  /** Accept any server certificate. Only for throw-away clusters. */
  insecureSkipTlsVerify?: boolean | undefined;
  /** The name to verify the server's certificate against, when it differs from the URL's host. */
  tlsServerName?: string | undefined;
  /** A bearer token that never changes. */
  token?: string | undefined;
  basicAuth?: { username: string; password: string } | undefined;
  /** Credentials that change (token files, exec plugins): asked before each request. */
  credentials?: Credentials | undefined;
  /** Sent with every request (impersonation: `Impersonate-User`, …). */
  headers?: Record<string, string | string[]> | undefined;
}

/** Not in a pod, or the pod's service account files are missing. */
export class InClusterConfigError extends Error {
  override name = "InClusterConfigError";
}

export const serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface InClusterOptions {
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Where the service account's `token` and `ca.crt` are. @default serviceAccountDir */
  dir?: string;
}

/**
 * The pod's service account: the API server from KUBERNETES_SERVICE_HOST and
 * _PORT, its CA from `ca.crt`, and the token from `token`, re-read as the
 * kubelet rotates it (a projected token lives an hour by default).
 */
export function inClusterConfig({
  env = process.env,
  dir = serviceAccountDir,
}: InClusterOptions = {}): ClientConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new InClusterConfigError(
      "not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set",
    );
  }
  const tokenPath = join(dir, "token");
  const caPath = join(dir, "ca.crt");
  let ca: Buffer;
  try {
    // Read now, not at the first request: a pod without its token mount should fail at start-up.
    readFileSync(tokenPath);
    ca = readFileSync(caPath);
  } catch (error) {
    throw new InClusterConfigError(
      `cannot read the pod's service account: ${(error as Error).message}`,
      { cause: error },
    );
  }
  // An IPv6 service address must be bracketed in a URL.
  const hostPart = host.includes(":") ? `[${host}]` : host;
  return {
    server: `https://${hostPart}:${port}`,
    ca,
    credentials: new TokenFileCredentials(tokenPath),
  };
}
