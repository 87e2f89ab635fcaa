/**
 * The `versitygw` image and the test kit's startObjectStore() on a private
 * 1-node cluster, in a namespace that enforces the restricted Pod Security
 * profile: a real S3 server built from its Go module, reached through
 * @aws-sdk/client-s3 over HTTPS with the store's own CA from the host and
 * with curl by its Service name from a pod; SigV4 enforced; objects kept as
 * plain files on a PVC across a pod restart.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import {
  createNamespace,
  eventually,
  type ObjectStore,
  type PrivateTestCluster,
  startObjectStore,
  startTestCluster,
} from "@ballast/dev/testkit";
import { ImagePullError, resolveImage } from "../src/node/images.ts";
import { goCommandPath } from "../src/node/images-go/go-command.ts";
import { versitygwCommand } from "../src/node/images-go/versitygw.ts";

let cluster: PrivateTestCluster;
let store: ObjectStore;
const ns = "object-store-test";
const bucket = "backups";
const MiB = 1024 * 1024;
const big = randomBytes(6 * MiB);
const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex");

before(async () => {
  cluster = await startTestCluster({ name: "object-store", nodes: 1 });
  await createNamespace(cluster, ns);
  const labelled = await cluster.api(`/api/v1/namespaces/${ns}`, {
    method: "PATCH",
    contentType: "application/merge-patch+json",
    body: { metadata: { labels: { "pod-security.kubernetes.io/enforce": "restricted" } } },
  });
  assert.equal(labelled.status, 200, JSON.stringify(labelled.body));
  store = await startObjectStore(cluster, { namespace: ns });
  await store.createBucket(bucket);
});

after(async () => {
  await cluster?.stop();
});

/** The restricted profile's container settings, for the test's own pods. */
const restricted = {
  pod: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: "RuntimeDefault" } },
  container: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};

async function withClient<T>(fn: (s3: S3Client) => Promise<T>, client?: S3Client): Promise<T> {
  const s3 = client ?? (await store.client());
  try {
    return await fn(s3);
  } finally {
    s3.destroy();
  }
}

async function getBytes(s3: S3Client, key: string): Promise<Uint8Array> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  assert.ok(res.Body, `GetObject ${key} has a body`);
  return res.Body.transformToByteArray();
}

/** Runs a pod to completion and returns its phase and log. */
async function runPod(name: string, spec: object): Promise<{ phase: string; log: string }> {
  const created = await cluster.api(`/api/v1/namespaces/${ns}/pods`, {
    method: "POST",
    body: { apiVersion: "v1", kind: "Pod", metadata: { name }, spec },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const phase = await eventually(`pod ${name} finished`, async () => {
    const res = await cluster.api<{ status: { phase?: string } }>(
      `/api/v1/namespaces/${ns}/pods/${name}`,
    );
    const p = res.body.status.phase;
    return p === "Succeeded" || p === "Failed" ? p : undefined;
  });
  const logs = await cluster.kubectl("-n", ns, "logs", name);
  return { phase, log: logs.stdout + logs.stderr };
}

test("resolveImage() maps versitygw and versity/versitygw to the binary built at the tag's version", async () => {
  const cached = goCommandPath(versitygwCommand("v1.8.0"));
  for (const image of [
    "versitygw",
    "versitygw:v1.8.0",
    "versity/versitygw:1.8.0",
    "ghcr.io/versity/versitygw:v1.8.0",
  ]) {
    const runtime = await resolveImage(image);
    assert.deepEqual([runtime.entrypoint, runtime.cmd], [["docker-entrypoint.sh"], []], image);
    assert.equal(runtime.path[1], join(cached, ".."), image);
  }
  await assert.rejects(
    resolveImage("versitygw:main"),
    (error: Error) =>
      error instanceof ImagePullError && /the tag must be a release version/.test(error.message),
  );
  // A version not built yet: the pod waits in ErrImagePull, told a build is
  // under way, then told why it failed (this one does not exist).
  const saved = process.env.BALLAST_CACHE_DIR;
  const empty = mkdtempSync(join(tmpdir(), "ballast-empty-cache-"));
  process.env.BALLAST_CACHE_DIR = empty;
  try {
    await assert.rejects(
      resolveImage("versitygw:v9.9.9"),
      /building .*@v9\.9\.9 with `go install`/,
    );
    await eventually(
      "the failed build reported",
      async () => {
        try {
          await resolveImage("versitygw:v9.9.9");
        } catch (error) {
          if (/is not served by the Go module proxy/.test((error as Error).message)) return true;
        }
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  } finally {
    if (saved === undefined) delete process.env.BALLAST_CACHE_DIR;
    else process.env.BALLAST_CACHE_DIR = saved;
    rmSync(empty, { recursive: true, force: true });
  }
});

test("given arguments, the image runs versitygw with them, as upstream's entrypoint does", async () => {
  const { phase, log } = await runPod("version", {
    restartPolicy: "Never",
    securityContext: restricted.pod,
    containers: [
      {
        name: "versitygw",
        image: "versity/versitygw:v1.8.0",
        args: ["--version"],
        securityContext: restricted.container,
      },
    ],
  });
  assert.equal(phase, "Succeeded", log);
  assert.match(log, /^Version\s*: v1\.8\.0$/m);
});

test("over HTTPS with the store's CA: put and get a 6 MiB object, a multipart upload, a listing", async () => {
  await withClient(async (s3) => {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "base/full.tar", Body: big }));
    assert.equal(sha256(await getBytes(s3, "base/full.tar")), sha256(big));

    const key = "wal/000000010000000000000001";
    const parts = [big.subarray(0, 5 * MiB), big.subarray(5 * MiB)];
    const upload = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const etags: { ETag: string; PartNumber: number }[] = [];
    for (const [i, body] of parts.entries()) {
      const part = await s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: upload.UploadId,
          PartNumber: i + 1,
          Body: body,
        }),
      );
      etags.push({ ETag: part.ETag ?? "", PartNumber: i + 1 });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: upload.UploadId,
        MultipartUpload: { Parts: etags },
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    assert.equal(head.ContentLength, big.length);
    assert.equal(sha256(await getBytes(s3, key)), sha256(big));

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.deepEqual(
      listed.Contents?.map((o) => [o.Key, o.Size]),
      [
        ["base/full.tar", big.length],
        [key, big.length],
      ],
    );
  });
  // Plain files on the volume, as the posix backend keeps them.
  const stat = await cluster.kubectl(
    ...["-n", ns, "exec", "object-store-0", "--", "stat", "-c", "%s"],
    `/data/${bucket}/base/full.tar`,
  );
  assert.equal(stat.stdout.trim(), String(big.length), stat.stderr);
});

test("a wrong secret is refused with SignatureDoesNotMatch, and a client without the CA refuses the server", async () => {
  const wrong = await store.client({
    credentials: { accessKeyId: store.credentials.accessKeyId, secretAccessKey: "not-the-secret" },
  });
  await withClient(async (s3) => {
    await assert.rejects(s3.send(new ListObjectsV2Command({ Bucket: bucket })), (error: Error) => {
      assert.equal(error.name, "SignatureDoesNotMatch");
      return true;
    });
  }, wrong);
  const untrusting = new S3Client({
    endpoint: await store.hostEndpoint(),
    region: store.region,
    forcePathStyle: true,
    credentials: store.credentials,
    maxAttempts: 1,
  });
  await withClient(async (s3) => {
    await assert.rejects(
      s3.send(new ListObjectsV2Command({ Bucket: bucket })),
      /self[- ]signed certificate|unable to verify/,
    );
  }, untrusting);
});

test("a pod reaches the store by its Service name, trusting the CA and signing with the credentials of its Secret", async () => {
  const secretEnv = (name: string, key: string) => ({
    name,
    valueFrom: { secretKeyRef: { name: store.credentialsSecret, key } },
  });
  const emptySha = sha256(new Uint8Array());
  const { phase, log } = await runPod("client", {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    securityContext: restricted.pod,
    containers: [
      {
        name: "curl",
        image: "busybox",
        // Debian's curl (the host's: containers share its filesystem) signs SigV4.
        command: [
          "sh",
          "-c",
          [
            `curl -sS --fail-with-body --cacert /ca/ca.crt --aws-sigv4 aws:amz:${store.region}:s3`,
            '--user "$KEY:$SECRET"',
            `-H "x-amz-content-sha256: ${emptySha}"`,
            `-o /tmp/full.tar "${store.endpoint}/${bucket}/base/full.tar"`,
            "&& sha256sum /tmp/full.tar",
          ].join(" "),
        ],
        env: [secretEnv("KEY", "rootAccessKeyId"), secretEnv("SECRET", "rootSecretAccessKey")],
        securityContext: restricted.container,
        volumeMounts: [{ name: "ca", mountPath: "/ca", readOnly: true }],
      },
    ],
    volumes: [
      {
        name: "ca",
        secret: { secretName: store.credentialsSecret, items: [{ key: "ca.crt", path: "ca.crt" }] },
      },
    ],
  });
  assert.equal(phase, "Succeeded", log);
  assert.match(log, new RegExp(`^${sha256(big)}  /tmp/full.tar$`, "m"));
});

test("objects survive a restart of the store's pod (the PVC keeps them)", async () => {
  await store.restart();
  await withClient(async (s3) => {
    assert.equal(sha256(await getBytes(s3, "base/full.tar")), sha256(big));
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    assert.equal(listed.KeyCount, 2);
  });
});
