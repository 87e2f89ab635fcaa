/**
 * Kubeconfig files. Written as JSON, which every kubeconfig reader accepts
 * (JSON is YAML), with the certificates inlined so the file works on its own
 * even when copied elsewhere.
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface KubeconfigInput {
  clusterName: string;
  server: string;
  caCertPath: string;
  user: string;
  clientCertPath: string;
  clientKeyPath: string;
}

export function writeKubeconfig(path: string, input: KubeconfigInput): void {
  const b64 = (file: string) => readFileSync(file).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: input.clusterName,
        cluster: { server: input.server, "certificate-authority-data": b64(input.caCertPath) },
      },
    ],
    users: [
      {
        name: input.user,
        user: {
          "client-certificate-data": b64(input.clientCertPath),
          "client-key-data": b64(input.clientKeyPath),
        },
      },
    ],
    contexts: [
      { name: input.clusterName, context: { cluster: input.clusterName, user: input.user } },
    ],
    "current-context": input.clusterName,
  };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}
