/**
 * A real S3-compatible object store on a local cluster, for tests whose
 * system writes to object storage (PostgreSQL backups and WAL archives):
 * versitygw, the `versitygw` image (dev/src/node/images-go/), which checks
 * SigV4 signatures, speaks only TLS here and keeps buckets as plain
 * directories on a PersistentVolume.
 *
 * `startObjectStore(cluster, { namespace })` creates, in its namespace:
 *
 * 1. Secret `<name>-credentials`: generated root credentials under the
 *    upstream chart's keys (`rootAccessKeyId`, `rootSecretAccessKey`) and the
 *    CA (`ca.crt`), so a client pod needs this one Secret;
 * 2. Secret `<name>-tls` (kubernetes.io/tls): a certificate for the
 *    Service's DNS names, localhost and 127.0.0.1, from a CA made for this
 *    store alone (EC P-256, with openssl, as dev/src/pki.ts makes the
 *    cluster's);
 * 3. Service `<name>`, headless (the local cluster has no kube-proxy, so
 *    every Service resolves to its pods' IPs anyway), port 7070;
 * 4. StatefulSet `<name>`: one pod under the restricted Pod Security
 *    profile (uid 1000, no privilege escalation, no capabilities, read-only
 *    root, RuntimeDefault seccomp) running `versitygw posix /data` through
 *    the image's entrypoint, /data a PVC of the `local` class, TLS from the
 *    Secret; a deleted pod comes back with the same data.
 *
 * The versitygw binary is built (once per machine, minutes) before anything
 * is created, so the pod starts at once. Pods reach the store at `endpoint`,
 * by the Service's DNS name; the host reaches the pod's IP (`hostEndpoint()`,
 * read afresh, since a restarted pod has another), checking the certificate
 * against `serverName`. Path-style addressing only: the certificate names no
 * bucket subdomains.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { ApiResponse, RequestOptions } from "./api.ts";
import { ensureGoCommand } from "./node/images-go/go-command.ts";
import {
  defaultVersitygwVersion,
  versitygwCommand,
  versitygwPort,
} from "./node/images-go/versitygw.ts";
import { eventually } from "./testkit.ts";

const run = promisify(execFile);

/** What the object store needs of a cluster: the admin's API requests. */
export interface ObjectStoreCluster {
  api<T = unknown>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

export interface ObjectStoreOptions {
  namespace: string;
  /**
   * Names the Service, the StatefulSet and the Secrets' prefix.
   * @default "object-store"
   */
  name?: string;
  /**
   * The versitygw release to build and run (a Go module version).
   * @default "v1.8.0"
   */
  version?: string;
  /**
   * The PVC's request (the local class does not enforce it).
   * @default "1Gi"
   */
  storage?: string;
  /**
   * The region the server answers for and clients sign with.
   * @default "us-east-1"
   */
  region?: string;
  /**
   * How long to wait for the pod to be Ready, after the binary is built.
   * @default 120000
   */
  timeoutMs?: number;
  /** Told what is happening (a first build takes minutes). */
  onProgress?: (message: string) => void;
}

export interface ObjectStore {
  name: string;
  namespace: string;
  /** For pods: `https://<name>.<namespace>.svc.cluster.local:7070`. */
  endpoint: string;
  /** The Service's DNS name, which the certificate is for (and pods connect to). */
  serverName: string;
  port: number;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The PEM CA certificate that signed the server's certificate. */
  ca: string;
  /** The Secret with `rootAccessKeyId`, `rootSecretAccessKey` and `ca.crt`, for client pods. */
  credentialsSecret: string;
  /** For the host: `https://<pod IP>:7070`, once the pod is Ready (its IP changes on restart). */
  hostEndpoint(): Promise<string>;
  /**
   * An S3 client for the host: path-style, at `hostEndpoint()`, trusting
   * only `ca` and checking the certificate against `serverName`. `config`
   * overrides (e.g. other credentials). Call `destroy()` when done.
   */
  client(config?: S3ClientConfig): Promise<S3Client>;
  /** Creates a bucket; one that exists already is fine. */
  createBucket(bucket: string): Promise<void>;
  /** Deletes the pod and waits for its replacement to be Ready (the PVC keeps the data). */
  restart(): Promise<void>;
  /** Scales the store to no pod and waits until none is left: an object store that is down. */
  stop(): Promise<void>;
  /** Scales it back to one pod and waits for it to be Ready (the PVC kept the data). */
  start(): Promise<void>;
}

/** The store's pod, as far as waiting for it needs. */
interface PodView {
  metadata: { uid: string };
  status?: {
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      restartCount: number;
      state: { waiting?: { reason: string; message?: string } };
    }[];
  };
}

export async function startObjectStore(
  cluster: ObjectStoreCluster,
  options: ObjectStoreOptions,
): Promise<ObjectStore> {
  const { namespace } = options;
  const name = options.name ?? "object-store";
  const region = options.region ?? "us-east-1";
  const version = options.version ?? defaultVersitygwVersion;
  const timeoutMs = options.timeoutMs ?? 120_000;
  const progress = options.onProgress ?? (() => {});

  await ensureGoCommand(versitygwCommand(version), {
    onBuild: (command) =>
      progress(`building ${command.pkg}@${command.version} (${command.coldBuild}, once)`),
  });

  const serverName = `${name}.${namespace}.svc.cluster.local`;
  const credentials = {
    accessKeyId: randomKey(20),
    secretAccessKey: randomBytes(30).toString("base64url"),
  };
  const tls = await certificate(name, [
    `DNS:${name}`,
    `DNS:${name}.${namespace}`,
    `DNS:${name}.${namespace}.svc`,
    `DNS:${serverName}`,
    // The pod's own name under its headless Service.
    `DNS:${name}-0.${serverName}`,
    "DNS:localhost",
    "IP:127.0.0.1",
  ]);
  const credentialsSecret = `${name}-credentials`;
  const base = `/api/v1/namespaces/${namespace}`;
  await create(cluster, `${base}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: credentialsSecret, labels: labels(name) },
    stringData: {
      rootAccessKeyId: credentials.accessKeyId,
      rootSecretAccessKey: credentials.secretAccessKey,
      "ca.crt": tls.ca,
    },
  });
  await create(cluster, `${base}/secrets`, {
    apiVersion: "v1",
    kind: "Secret",
    type: "kubernetes.io/tls",
    metadata: { name: `${name}-tls`, labels: labels(name) },
    stringData: { "tls.crt": tls.cert, "tls.key": tls.key, "ca.crt": tls.ca },
  });
  await create(cluster, `${base}/services`, {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name, labels: labels(name) },
    spec: {
      clusterIP: "None",
      selector: labels(name),
      ports: [{ name: "s3", port: versitygwPort, targetPort: "s3" }],
    },
  });
  await create(
    cluster,
    `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
    statefulSet(name, version, region, options.storage ?? "1Gi"),
  );
  progress(`waiting for pod ${namespace}/${name}-0`);

  const podPath = `${base}/pods/${name}-0`;
  const readyPod = (otherThan?: string) =>
    eventually(
      `object store pod ${namespace}/${name}-0 Ready`,
      async () => {
        const res = await cluster.api<PodView>(podPath);
        if (res.status !== 200 || res.body.metadata.uid === otherThan) return undefined;
        const status = res.body.status;
        const ready = status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
        if (ready && status?.podIP) return { uid: res.body.metadata.uid, ip: status.podIP };
        // Kept as the last error, so a timeout says why (ErrImagePull, a crash loop, …).
        const container = status?.containerStatuses?.[0];
        const waiting = container?.state.waiting;
        if (waiting) throw new Error(`${waiting.reason}: ${waiting.message ?? ""}`);
        if (container?.restartCount) throw new Error(`restarted ${container.restartCount} times`);
        return undefined;
      },
      { timeoutMs, intervalMs: 250 },
    );
  let current = await readyPod();
  const scale = async (replicas: number) => {
    const res = await cluster.api(`/apis/apps/v1/namespaces/${namespace}/statefulsets/${name}`, {
      method: "PATCH",
      body: { spec: { replicas } },
      contentType: "application/merge-patch+json",
    });
    if (res.status !== 200) throw new Error(`scaling ${namespace}/${name}: ${res.status}`);
  };

  const hostEndpoint = async () => {
    current = await readyPod();
    return `https://${current.ip}:${versitygwPort}`;
  };
  const client = async (config: S3ClientConfig = {}) => {
    const { S3Client } = await sdk();
    return new S3Client({
      endpoint: await hostEndpoint(),
      region,
      forcePathStyle: true,
      credentials,
      // The certificate names the Service, not the pod's IP the host connects to.
      requestHandler: { httpsAgent: new Agent({ ca: tls.ca, servername: serverName }) },
      ...config,
    });
  };

  return {
    name,
    namespace,
    endpoint: `https://${serverName}:${versitygwPort}`,
    serverName,
    port: versitygwPort,
    region,
    credentials,
    ca: tls.ca,
    credentialsSecret,
    hostEndpoint,
    client,
    async createBucket(bucket) {
      const { CreateBucketCommand } = await sdk();
      const s3 = await client();
      try {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (error) {
        if ((error as Error).name !== "BucketAlreadyOwnedByYou") throw error;
      } finally {
        s3.destroy();
      }
    },
    async restart() {
      const before = current.uid;
      const res = await cluster.api(podPath, { method: "DELETE" });
      if (res.status !== 200 && res.status !== 404) {
        throw new Error(`deleting pod ${namespace}/${name}-0: ${res.status}`);
      }
      current = await readyPod(before);
    },
    async stop() {
      await scale(0);
      await eventually(
        `object store pod ${namespace}/${name}-0 gone`,
        async () => ((await cluster.api(podPath)).status === 404 ? true : undefined),
        { timeoutMs, intervalMs: 250 },
      );
    },
    async start() {
      await scale(1);
      current = await readyPod();
    },
  };
}

/** Loaded on first use: every test file imports the test kit, few talk S3 (~0.1 s saved each). */
const sdk = () => import("@aws-sdk/client-s3");

function labels(name: string): Record<string, string> {
  return { "app.kubernetes.io/name": "versitygw", "app.kubernetes.io/instance": name };
}

/** An access key id as AWS spells them: upper-case letters and digits. */
function randomKey(length: number): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  return [...randomBytes(length)].map((b) => alphabet[b % alphabet.length]).join("");
}

async function create(cluster: ObjectStoreCluster, path: string, body: unknown): Promise<void> {
  const res = await cluster.api(path, { method: "POST", body });
  if (res.status !== 201) {
    const kind = (body as { kind: string }).kind;
    throw new Error(`creating ${kind} at ${path}: ${res.status} ${JSON.stringify(res.body)}`);
  }
}

function statefulSet(name: string, version: string, region: string, storage: string) {
  const secretEnv = (variable: string, key: string) => ({
    name: variable,
    valueFrom: { secretKeyRef: { name: `${name}-credentials`, key } },
  });
  const tlsDir = "/etc/versitygw/tls";
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, labels: labels(name) },
    spec: {
      serviceName: name,
      replicas: 1,
      selector: { matchLabels: labels(name) },
      template: {
        metadata: { labels: labels(name) },
        spec: {
          automountServiceAccountToken: false,
          // versitygw stops at once on SIGTERM; a restart should not wait 30 s.
          terminationGracePeriodSeconds: 5,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "versitygw",
              image: `versitygw:${version}`,
              // No args: the image's entrypoint builds `versitygw posix /data`.
              env: [
                { name: "VGW_BACKEND", value: "posix" },
                { name: "VGW_BACKEND_ARG", value: "/data" },
                { name: "VGW_PORT", value: `:${versitygwPort}` },
                { name: "VGW_REGION", value: region },
                { name: "VGW_CERT", value: `${tlsDir}/tls.crt` },
                { name: "VGW_KEY", value: `${tlsDir}/tls.key` },
                { name: "VGW_HEALTH", value: "/_/health" },
                secretEnv("ROOT_ACCESS_KEY_ID", "rootAccessKeyId"),
                secretEnv("ROOT_SECRET_ACCESS_KEY", "rootSecretAccessKey"),
              ],
              ports: [{ name: "s3", containerPort: versitygwPort }],
              // TCP, not httpGet on /_/health: the local nodes' HTTP probes
              // speak plain HTTP, and this server only TLS.
              readinessProbe: { tcpSocket: { port: "s3" }, periodSeconds: 1 },
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                readOnlyRootFilesystem: true,
                runAsNonRoot: true,
              },
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "tls", mountPath: tlsDir, readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "tls", secret: { secretName: `${name}-tls`, defaultMode: 0o440 } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
        },
      ],
    },
  };
}

const days = "3650";
// No default extensions: the leaf carries exactly the ones added below.
const minimalConfig = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n";

/** A CA of its own and a server certificate it signs for `altNames`. */
async function certificate(
  name: string,
  altNames: string[],
): Promise<{ ca: string; cert: string; key: string }> {
  const dir = mkdtempSync(join(tmpdir(), "ballast-object-store-"));
  try {
    const file = (f: string) => join(dir, f);
    writeFileSync(file("openssl.cnf"), minimalConfig);
    const common = ["req", "-x509", "-config", file("openssl.cnf"), "-days", days];
    const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await run("openssl", [
      ...common,
      ...newKey,
      ...["-keyout", file("ca.key"), "-out", file("ca.crt")],
      ...["-subj", `/CN=ballast-object-store-${name}-ca`],
      ...["-addext", "basicConstraints=critical,CA:TRUE"],
      ...["-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
    ]);
    await run("openssl", [
      ...common,
      ...newKey,
      ...["-CA", file("ca.crt"), "-CAkey", file("ca.key")],
      ...["-keyout", file("tls.key"), "-out", file("tls.crt")],
      ...["-subj", `/CN=${name}`],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"],
      ...["-addext", "extendedKeyUsage=serverAuth"],
      ...["-addext", `subjectAltName=${altNames.join(",")}`],
    ]);
    return {
      ca: readFileSync(file("ca.crt"), "utf8"),
      cert: readFileSync(file("tls.crt"), "utf8"),
      key: readFileSync(file("tls.key"), "utf8"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
