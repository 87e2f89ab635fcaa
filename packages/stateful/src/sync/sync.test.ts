/**
 * Object sync against the real API server: what the server adds to an
 * applied object is not drift (a quiet set makes no write), and a field we
 * set that someone changed by hand is, and is put back.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { useCluster } from "@ballast/dev/testkit";
import { type ApplyObject, ignoreNotFound, KubeClient, type KubeObject } from "@ballast/runtime";
import {
  headlessService,
  memberDisruptionBudget,
  type Owner,
  type SetIdentity,
} from "../resources/resources.ts";
import { ObjectRejectedError } from "./rejected.ts";
import { applyDrifted, createIfMissing } from "./sync.ts";

const ns = `stateful-sync-${randomBytes(3).toString("hex")}`;
const identity: SetIdentity = { system: "demo", managedBy: "stateful-sync-test" };
const Service = { apiVersion: "v1", kind: "Service" } as const;
const Budget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget" } as const;
let client: KubeClient;
let owner: Owner;

before(async () => {
  const cluster = await useCluster();
  client = await KubeClient.fromKubeconfig(cluster.kubeconfig, {
    fieldManager: identity.managedBy,
  });
  await client.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
  // A real owner, so the garbage collector keeps what points at it.
  const held = await client.create({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "owner", namespace: ns },
  });
  owner = { ...held, apiVersion: "v1", kind: "ConfigMap" };
});

after(async () => {
  await client.delete({ apiVersion: "v1", kind: "Namespace" }, { name: ns }).catch(ignoreNotFound);
  client.close();
});

const ctx = () => ({ client, signal: new AbortController().signal });

async function live(): Promise<KubeObject[]> {
  const services = await client.list(Service, { namespace: ns });
  const budgets = await client.list(Budget, { namespace: ns });
  return [...services.items, ...budgets.items];
}

function wanted(): ApplyObject[] {
  return [
    headlessService(identity, owner, "members", [{ name: "peer", port: 7000 }]),
    memberDisruptionBudget(identity, owner, "members", 3),
  ];
}

test("applyDrifted() applies what is missing, then makes no write while nothing we set changed", async () => {
  assert.deepEqual(await applyDrifted(ctx(), wanted(), []), [
    "Service/members",
    "PodDisruptionBudget/members",
  ]);
  // The server filled in clusterIPs, protocols, targetPorts, managedFields…: not drift.
  assert.deepEqual(await applyDrifted(ctx(), wanted(), await live()), []);
});

test("applyDrifted() puts back a Service selector someone narrowed by hand", async () => {
  await client.patch(
    Service,
    { namespace: ns, name: "members" },
    { spec: { selector: { extra: "by-hand" } } },
    { type: "merge", fieldManager: "someone-else" },
  );
  assert.deepEqual(await applyDrifted(ctx(), wanted(), await live()), ["Service/members"]);
  const service = await client.get<KubeObject & { spec: { selector: Record<string, string> } }>(
    Service,
    { namespace: ns, name: "members" },
  );
  assert.deepEqual(service.spec.selector, {
    "app.kubernetes.io/name": "demo",
    "app.kubernetes.io/instance": "owner",
  });
  assert.deepEqual(
    await applyDrifted(ctx(), wanted(), await live()),
    [],
    "and then is quiet again",
  );
});

test("applyDrifted() puts back a budget's minAvailable", async () => {
  await client.patch(
    Budget,
    { namespace: ns, name: "members" },
    { spec: { minAvailable: 0 } },
    { type: "merge", fieldManager: "someone-else" },
  );
  assert.deepEqual(await applyDrifted(ctx(), wanted(), await live()), [
    "PodDisruptionBudget/members",
  ]);
  assert.deepEqual(await applyDrifted(ctx(), wanted(), await live()), []);
});

test("createIfMissing() leaves an existing object as it is", async () => {
  const claim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "data-0", namespace: ns },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } } },
  };
  assert.equal(await createIfMissing(ctx(), claim), "created");
  assert.equal(await createIfMissing(ctx(), claim), "existed");
});

test("applyDrifted() and createIfMissing() raise ObjectRejectedError naming the object, with the server's message", async () => {
  const tooLong = headlessService(identity, owner, `${"n".repeat(60)}-members`, [
    { name: "peer", port: 7000 },
  ]);
  await assert.rejects(applyDrifted(ctx(), [tooLong], []), (err: unknown) => {
    assert.ok(err instanceof ObjectRejectedError);
    assert.equal(err.code, 422);
    assert.equal(err.kind, "Service");
    assert.match(
      err.message,
      /refused to apply Service n{60}-members: .*must be no more than 63 characters/,
    );
    return true;
  });
  const claim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "Not_A_Name", namespace: ns },
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Mi" } } },
  };
  await assert.rejects(
    createIfMissing(ctx(), claim),
    /refused to create PersistentVolumeClaim Not_A_Name: /,
  );
});
