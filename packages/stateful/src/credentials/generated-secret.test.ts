/**
 * Generated credentials against the real API server: a missing Secret is
 * created once and then read, never regenerated; one a user wrote is taken
 * as it is; one edited into a wrong shape is an error naming the key, and
 * is left untouched.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { useCluster } from "@ballast/dev/testkit";
import { ignoreNotFound, KubeClient, type KubeObject } from "@ballast/runtime";
import { ensureGeneratedSecret, generatePassword, InvalidSecretError } from "./generated-secret.ts";

const ns = `stateful-secret-${randomBytes(3).toString("hex")}`;
const Secret = { apiVersion: "v1", kind: "Secret" } as const;
let client: KubeClient;

before(async () => {
  const cluster = await useCluster();
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig, {
    fieldManager: "stateful-secret-test",
  });
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
});

after(async () => {
  await client.delete({ apiVersion: "v1", kind: "Namespace" }, { name: ns }).catch(ignoreNotFound);
  client.close();
});

const ctx = () => ({ client, signal: new AbortController().signal });
const meta = (name: string) => ({ name, namespace: ns, labels: { app: "demo" } });
let generated = 0;
const counting = () => {
  generated += 1;
  return generatePassword();
};

test("ensureGeneratedSecret() creates the Secret once and returns the same values ever after", async () => {
  generated = 0;
  const first = await ensureGeneratedSecret(ctx(), {
    metadata: meta("gen"),
    generate: { password: counting },
  });
  assert.match(first.password ?? "", /^[A-Za-z0-9_-]{32}$/, "24 random bytes, base64url");
  const again = await ensureGeneratedSecret(ctx(), {
    metadata: meta("gen"),
    generate: { password: counting },
  });
  assert.deepEqual(again, first);
  assert.equal(generated, 1, "generated only for the create");
  const stored = await client.get<KubeObject & { type?: string; metadata: { labels?: object } }>(
    Secret,
    { namespace: ns, name: "gen" },
  );
  assert.equal(stored.type, "Opaque");
  assert.deepEqual(stored.metadata.labels, { app: "demo" });
});

test("ensureGeneratedSecret() takes a Secret a user wrote as it is", async () => {
  await client.create({
    ...Secret,
    metadata: meta("brought"),
    stringData: { password: "chosen-by-the-user" },
  } as KubeObject);
  const values = await ensureGeneratedSecret(ctx(), {
    metadata: meta("brought"),
    generate: { password: generatePassword },
  });
  assert.equal(values.password, "chosen-by-the-user");
});

test("ensureGeneratedSecret() refuses a Secret without a needed key, names the key, and leaves it alone", async () => {
  await client.create({
    ...Secret,
    metadata: meta("wrong"),
    stringData: { passwd: "typo-in-the-key" },
  } as KubeObject);
  await assert.rejects(
    ensureGeneratedSecret(ctx(), {
      metadata: meta("wrong"),
      generate: { password: generatePassword },
    }),
    (err: unknown) =>
      err instanceof InvalidSecretError &&
      err.keys.includes("password") &&
      /Secret wrong lacks "password"/.test(err.message) &&
      !err.message.includes("typo-in-the-key"),
  );
  const stored = await client.get<KubeObject & { data?: Record<string, string> }>(Secret, {
    namespace: ns,
    name: "wrong",
  });
  assert.deepEqual(Object.keys(stored.data ?? {}), ["passwd"], "nothing was written over it");
});
