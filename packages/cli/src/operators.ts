/**
 * The Ballast operators whose CRDs `ballast install` installs. A new
 * operator joins by adding its entry here. Loaded on use: an operator's
 * package brings its data system's client with it.
 */
import type { KubeClient, ResourceDefinition } from "@ballast/runtime";

export interface OperatorEntry {
  name: string;
  crds: readonly ResourceDefinition[];
  /** Applies the CRDs and waits until the API server serves them. */
  installCrds(client: KubeClient): Promise<void>;
}

export async function loadOperators(): Promise<readonly OperatorEntry[]> {
  const kafka = await import("@ballast/kafka");
  return [
    { name: "kafka", crds: kafka.crds, installCrds: (client) => kafka.installKafkaCrds(client) },
  ];
}
