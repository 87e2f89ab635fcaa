/**
 * What an admission test needs: the shared test cluster with a kind's CRDs
 * installed and a namespace of its own, and server-side dry runs, so a test
 * says only which object is refused and with what message. Nothing is
 * stored by a dry run and no operator runs: what is tested is the CRD's
 * schema and CEL rules on the real API server.
 */
import assert from "node:assert/strict";
import { createNamespace, type TestCluster, useCluster } from "@ballast/dev/testkit";
import { type CrdSource, installCrds, KubeClient } from "@ballast/runtime";

export interface Admission {
  k8s: TestCluster;
  namespace: string;
  /** A server-side dry run of `kubectl create` or `kubectl apply`. */
  dryRun(
    verb: "create" | "apply",
    object: unknown,
  ): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Asserts the API server refuses to create `object`, with a message matching `message`. */
  refused(object: unknown, message: RegExp): Promise<void>;
  /** Asserts the API server accepts to create `object` (a dry run). */
  accepted(object: unknown): Promise<void>;
}

/** Installs `crds` (or runs `install`) on the shared test cluster and makes `namespace`. */
export async function admission(
  namespace: string,
  crds: readonly CrdSource[] | ((client: KubeClient) => Promise<void>),
): Promise<Admission> {
  const k8s = await useCluster();
  await createNamespace(k8s, namespace);
  const client = await KubeClient.fromKubeconfig(k8s.kubeconfig);
  try {
    if (typeof crds === "function") await crds(client);
    else await installCrds(client, crds);
  } finally {
    client.close();
  }
  const dryRun = (verb: "create" | "apply", object: unknown) =>
    k8s.kubectlInput(object, verb, "--dry-run=server", "-f", "-");
  return {
    k8s,
    namespace,
    dryRun,
    async refused(object, message) {
      const result = await dryRun("create", object);
      assert.notEqual(result.code, 0, `accepted: ${JSON.stringify(object)}`);
      assert.match(result.stderr, message);
    },
    async accepted(object) {
      const result = await dryRun("create", object);
      assert.equal(result.code, 0, result.stderr);
    },
  };
}
