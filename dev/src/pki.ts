/**
 * The local cluster's certificates, made with the openssl command line: one CA
 * that signs the API server's serving certificate and one client certificate
 * per identity, so that RBAC sees the same users a kubeadm cluster has
 * (system:kube-controller-manager, system:kube-scheduler, an admin in
 * system:masters) rather than one all-powerful token.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface ClientIdentity {
  /** Becomes the Kubernetes user name. */
  commonName: string;
  /** Become the user's groups. */
  organizations?: string[];
}

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
  frontProxyCaCert: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
  client(name: string): { cert: string; key: string };
  /** A node's kubelet identities: system:node:<name> for the API, a serving certificate for its kubelet API. */
  node(name: string): Promise<NodePki>;
}

export interface NodePki {
  clientCert: string;
  clientKey: string;
  servingCert: string;
  servingKey: string;
}

/**
 * The default service IP range's first address: where `kubernetes.default`
 * points in a cluster without a service proxy. A cluster with one has its own
 * range (network.ts), and passes its address to ensurePki().
 */
export const kubernetesServiceIp = "10.96.0.1";

export const identities = {
  admin: { commonName: "ballast-admin", organizations: ["system:masters"] },
  controllerManager: { commonName: "system:kube-controller-manager" },
  scheduler: { commonName: "system:kube-scheduler" },
  // The API server calls kubelets (logs, exec, port-forward) as this user.
  kubeletClient: { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"] },
  // DNS and the local volume provisioner; its ClusterRole is in nodes.ts.
  addons: { commonName: "system:ballast-local-addons" },
  // Bound to ClusterRole system:node-proxier by the API server's bootstrap policy.
  kubeProxy: { commonName: "system:kube-proxy" },
} as const satisfies Record<string, ClientIdentity>;

const days = "3650";
// A config with no default extensions: every extension a certificate carries
// is the one we add, so a leaf never inherits CA:TRUE from openssl's defaults.
const minimalConfig = "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n";

/** Creates any certificate missing from `dir`; existing ones are kept. */
export async function ensurePki(
  dir: string,
  serviceIp: string = kubernetesServiceIp,
): Promise<Pki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const config = join(dir, "openssl.cnf");
  writeFileSync(config, minimalConfig);
  const file = (name: string) => join(dir, name);
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

  const authority = async (name: string, commonName: string) => {
    if (existsSync(file(`${name}.crt`))) return;
    await run("openssl", [
      ...["req", "-x509", "-config", config, ...newKey],
      ...["-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", days],
      ...["-subj", `/CN=${commonName}`],
      ...["-addext", "basicConstraints=critical,CA:TRUE"],
      ...["-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
    ]);
  };
  await authority("ca", "ballast-local-ca");
  // A separate CA for the aggregation layer, as kubeadm does: extension API
  // servers trust request headers only from a client this CA signed.
  await authority("front-proxy-ca", "ballast-front-proxy-ca");

  const signed = async (name: string, subject: string, extensions: string[], ca = "ca") => {
    if (existsSync(file(`${name}.crt`))) return;
    await run("openssl", [
      ...["req", "-x509", "-config", config, ...newKey],
      ...["-CA", file(`${ca}.crt`), "-CAkey", file(`${ca}.key`)],
      ...["-keyout", file(`${name}.key`), "-out", file(`${name}.crt`), "-days", days],
      ...["-subj", subject],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"],
      ...extensions.flatMap((ext) => ["-addext", ext]),
    ]);
  };

  await signed("apiserver", "/CN=kube-apiserver", [
    "extendedKeyUsage=serverAuth",
    `subjectAltName=DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,IP:127.0.0.1,IP:${serviceIp}`,
  ]);
  for (const [name, identity] of Object.entries(identities) as [string, ClientIdentity][]) {
    const subject = [
      ...(identity.organizations ?? []).map((o) => `/O=${o}`),
      `/CN=${identity.commonName}`,
    ].join("");
    await signed(`client-${name}`, subject, ["extendedKeyUsage=clientAuth"]);
  }

  await signed(
    "front-proxy-client",
    "/CN=front-proxy-client",
    ["extendedKeyUsage=clientAuth"],
    "front-proxy-ca",
  );

  if (!existsSync(file("sa.key"))) {
    await run("openssl", [
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      file("sa.key"),
    ]);
    await run("openssl", ["pkey", "-in", file("sa.key"), "-pubout", "-out", file("sa.pub")]);
  }

  const nodeFiles = async (node: string) => {
    await signed(`node-${node}-client`, `/O=system:nodes/CN=system:node:${node}`, [
      "extendedKeyUsage=clientAuth",
    ]);
    await signed(`node-${node}-serving`, `/CN=${node}`, [
      "extendedKeyUsage=serverAuth",
      `subjectAltName=DNS:${node},DNS:localhost,IP:127.0.0.1`,
    ]);
    return {
      clientCert: file(`node-${node}-client.crt`),
      clientKey: file(`node-${node}-client.key`),
      servingCert: file(`node-${node}-serving.crt`),
      servingKey: file(`node-${node}-serving.key`),
    };
  };

  return {
    dir,
    node: nodeFiles,
    caCert: file("ca.crt"),
    caKey: file("ca.key"),
    apiserverCert: file("apiserver.crt"),
    apiserverKey: file("apiserver.key"),
    serviceAccountKey: file("sa.key"),
    serviceAccountPub: file("sa.pub"),
    frontProxyCaCert: file("front-proxy-ca.crt"),
    frontProxyClientCert: file("front-proxy-client.crt"),
    frontProxyClientKey: file("front-proxy-client.key"),
    client: (name) => ({ cert: file(`client-${name}.crt`), key: file(`client-${name}.key`) }),
  };
}
