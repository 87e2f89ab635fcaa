/**
 * `npm run demo`: builds what is missing, starts (or reuses) the local
 * cluster, runs something real on it and shows how to reach it with kubectl.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { main } from "@ballast/cli";
import { ballastDir } from "@ballast/cli/dev";
import { isRunning, readState } from "@ballast/dev";

const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
const clusterDir = join(ballastDir(), "clusters", "ballast");
const kubeconfig = join(ballastDir(), "kubeconfig");
const kubectlBin = join(ballastDir(), "bin", "kubectl");

function kubectl(args: string[], input?: string): string {
  const result = spawnSync(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
    input,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr}`);
  }
  return result.stdout;
}

const state = readState(clusterDir);
if (state?.processes.every(isRunning)) {
  say(`Reusing the running local cluster at ${state.server}`);
} else {
  say("Starting the local cluster (the first run on a machine builds it from Go modules)");
  const code = await main(["dev", "up"]);
  if (code !== 0) process.exit(code);
}

say("The control plane");
const checks = kubectl(["get", "--raw", "/readyz?verbose"]).split("\n");
const passed = checks.filter((line) => line.startsWith("[+]")).length;
const failed = checks.filter((line) => line.startsWith("[-]"));
console.log(
  `kube-apiserver /readyz: ${passed} checks passed, ${failed.length} failed ${failed.join(" ")}`,
);
const version = JSON.parse(kubectl(["version", "-o", "json"])) as {
  clientVersion: { gitVersion: string };
  serverVersion: { gitVersion: string };
};
console.log(
  `kubectl ${version.clientVersion.gitVersion}, server ${version.serverVersion.gitVersion}`,
);
console.log(kubectl(["get", "namespaces"]).trim());

say("Creating a namespace with a Deployment (restricted Pod Security, like Ballast's own pods)");
const manifest = {
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: "ballast-demo",
        labels: { "pod-security.kubernetes.io/enforce": "restricted" },
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "hello", namespace: "ballast-demo" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "hello" } },
        template: {
          metadata: { labels: { app: "hello" } },
          spec: {
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 65534,
              seccompProfile: { type: "RuntimeDefault" },
            },
            containers: [
              {
                name: "httpd",
                image: "busybox:1.36",
                command: ["httpd", "-f", "-p", "8080"],
                securityContext: {
                  allowPrivilegeEscalation: false,
                  capabilities: { drop: ["ALL"] },
                },
              },
            ],
          },
        },
      },
    },
  ],
};
console.log(kubectl(["apply", "-f", "-"], JSON.stringify(manifest)).trim());

// The controller-manager turns the Deployment into a ReplicaSet and Pods.
const deadline = Date.now() + 30_000;
while (Date.now() < deadline) {
  const pods = kubectl(["get", "pods", "-n", "ballast-demo", "-o", "name"]).trim();
  if (pods.split("\n").filter(Boolean).length >= 2) break;
  await new Promise((r) => setTimeout(r, 250));
}
console.log(kubectl(["get", "deployment,replicaset,pods", "-n", "ballast-demo", "-o", "wide"]));
console.log(
  "The controller-manager created the ReplicaSet and its Pods; the scheduler keeps them Pending\n" +
    "because this cluster has no nodes yet. Local nodes that run pods as real processes are the\n" +
    "next piece of work (see the README's roadmap).",
);

say("Reach the cluster yourself");
console.log(`  export KUBECONFIG=${kubeconfig} PATH=${join(ballastDir(), "bin")}:$PATH
  kubectl get all -n ballast-demo
  npx ballast dev status        # processes and ports
  npx ballast dev down          # stop it; nothing keeps running`);
