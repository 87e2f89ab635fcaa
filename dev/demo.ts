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
                command: [
                  "sh",
                  "-c",
                  'echo "hello from $(hostname)" > /tmp/index.html; exec httpd -f -v -p 8080 -h /tmp',
                ],
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

// The controller-manager makes a ReplicaSet and Pods, the scheduler places
// them on the local nodes, and each node runs its pods as real processes.
interface PodList {
  items: {
    metadata: { name: string };
    spec: { nodeName?: string };
    status: { phase?: string; podIP?: string };
  }[];
}
const pods = async (): Promise<PodList["items"]> =>
  (JSON.parse(kubectl(["get", "pods", "-n", "ballast-demo", "-o", "json"])) as PodList).items;
const nodes = kubectl(["get", "nodes", "-o", "name"]).trim().split("\n").filter(Boolean);
const deadline = Date.now() + 60_000;
let running: PodList["items"] = [];
while (Date.now() < deadline && nodes.length > 0) {
  running = (await pods()).filter((p) => p.status.phase === "Running" && p.status.podIP);
  if (running.length >= 2) break;
  await new Promise((r) => setTimeout(r, 250));
}
console.log(kubectl(["get", "deployment,replicaset", "-n", "ballast-demo"]));
console.log(kubectl(["get", "pods", "-n", "ballast-demo", "-o", "wide"]));
if (nodes.length === 0) {
  console.log("This cluster has no nodes (started with --nodes 0), so the pods stay Pending.");
} else {
  say("The pods really run: each answers on its own IP");
  for (const pod of running) {
    const answer = await fetch(`http://${pod.status.podIP}:8080/`)
      .then(async (r) => `HTTP ${r.status}: ${(await r.text()).trim()}`)
      .catch((e: Error) => `no answer (${e.message})`);
    console.log(
      `  ${pod.metadata.name} on ${pod.spec.nodeName} at ${pod.status.podIP}:8080 → ${answer}`,
    );
  }
  console.log(kubectl(["get", "nodes", "-L", "topology.kubernetes.io/zone"]));
}

say("Reach the cluster yourself");
console.log(`  export KUBECONFIG=${kubeconfig} PATH=${join(ballastDir(), "bin")}:$PATH
  kubectl get pods -n ballast-demo -o wide
  kubectl logs -n ballast-demo deploy/hello
  kubectl exec -n ballast-demo deploy/hello -- ps
  npx ballast dev status        # processes and ports
  npx ballast dev down          # stop it; nothing keeps running`);
