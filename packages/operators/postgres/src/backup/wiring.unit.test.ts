/** What spec.backup puts in the ConfigMap and the pods (wiring.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { PostgresCluster } from "../api.ts";
import { configMap, pod, port, templateHash } from "../resources.ts";
import { pgbackrestPaths } from "./pgbackrest.ts";
import { backupWiring } from "./wiring.ts";

const base = {
  apiVersion: "ballast.dev/v1alpha1",
  kind: "PostgresCluster",
  metadata: { name: "pg", namespace: "ns", uid: "u" },
  spec: { version: "15", instances: 3, storage: { size: "1Gi" } },
} as unknown as PostgresCluster;

const withBackup = (endpoint: string): PostgresCluster =>
  ({
    ...base,
    spec: {
      ...base.spec,
      backup: {
        objectStore: { endpoint, bucket: "backups", credentialsSecret: "s3", caSecret: "ca" },
        retention: "2w",
      },
    },
  }) as PostgresCluster;

interface PodShape {
  spec: {
    containers: { env: { name: string; value?: string }[]; volumeMounts: { name: string }[] }[];
    volumes: { name: string; secret?: { secretName: string; optional?: boolean } }[];
  };
}

test("no spec.backup: nothing in the ConfigMap or the pods", () => {
  assert.deepEqual(backupWiring(base), { kind: "off" });
  const data = (configMap(base) as unknown as { data: Record<string, string> }).data;
  assert.equal(data["pgbackrest.conf"], undefined);
  const p = pod(base, 0, { hint: 0 }) as unknown as PodShape;
  assert.ok(!p.spec.containers[0]?.env.some((e) => e.name === "ARCHIVE_COMMAND"));
});

test("an endpoint pgBackRest cannot use: invalid, naming the field, and the pods run without archiving", () => {
  const r = withBackup("https://10.0.0.5:7070");
  const w = backupWiring(r);
  assert.equal(w.kind, "invalid");
  assert.match(
    w.kind === "invalid" ? w.message : "",
    /^spec\.backup\.objectStore\.endpoint .*host name/,
  );
  const p = pod(r, 0, { hint: 0 }) as unknown as PodShape;
  assert.ok(!p.spec.containers[0]?.env.some((e) => e.name === "ARCHIVE_COMMAND"));
});

test("spec.backup: pgbackrest.conf for this server, archive_command and the Secrets mounted optional", () => {
  const r = withBackup("https://s3.example.com:7070");
  const w = backupWiring(r);
  assert.equal(w.kind, "on");
  const data = (configMap(r) as unknown as { data: Record<string, string> }).data;
  const conf = data["pgbackrest.conf"] ?? "";
  assert.match(conf, /^repo1-s3-endpoint=s3\.example\.com$/m);
  assert.match(conf, /^repo1-path=\/ns\/pg$/m);
  assert.match(conf, /^repo1-retention-full=14$/m);
  assert.match(conf, new RegExp(`^pg1-port=${port}$`, "m"));
  assert.match(conf, new RegExp(`^repo1-storage-ca-file=${pgbackrestPaths.ca}$`, "m"));
  const p = pod(r, 1, { hint: 0 }) as unknown as PodShape;
  const env = p.spec.containers[0]?.env ?? [];
  const archive = env.find((e) => e.name === "ARCHIVE_COMMAND")?.value ?? "";
  assert.match(archive, /--stanza=pg archive-push %p$/);
  assert.ok(!/s3-key/.test(archive), "no credential on the command");
  const secrets = p.spec.volumes.filter((v) => v.secret && v.name.startsWith("backup-"));
  assert.deepEqual(
    secrets.map((v) => [v.secret?.secretName, v.secret?.optional]),
    [
      ["pg-pgbackrest", true],
      ["ca", true],
    ],
  );
  assert.notEqual(
    templateHash(r),
    templateHash(base),
    "turning archiving on restarts the instances",
  );
});
