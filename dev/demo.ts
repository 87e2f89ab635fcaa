/**
 * `npm run demo`: builds what is missing, starts (or reuses) the local
 * cluster, runs something real on it and shows how to reach it with kubectl.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { main } from "@ballast/cli";
import { ballastDir } from "@ballast/cli/dev";
import { isRunning, readState } from "@ballast/dev";
import { type DemoPod, DemoPodsError, waitForPods } from "./demo-pods.ts";

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
                // Ready means it answers, which is what the demo shows next.
                readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 },
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
// Nothing below says they run until they do: a pod that cannot (an image that
// cannot be pulled, a crash loop) or is not Ready within the bound ends the
// demo with the pod's own reason.
const pods = async (): Promise<DemoPod[]> =>
  (JSON.parse(kubectl(["get", "pods", "-n", "ballast-demo", "-o", "json"])) as { items: DemoPod[] })
    .items;
const nodes = kubectl(["get", "nodes", "-o", "name"]).trim().split("\n").filter(Boolean);
let running: DemoPod[] = [];
let failure: Error | undefined;
if (nodes.length > 0) {
  try {
    running = await waitForPods(pods, {
      what: "Deployment ballast-demo/hello",
      count: 2,
      timeoutMs: 60_000,
    });
  } catch (error) {
    if (!(error instanceof DemoPodsError)) throw error;
    failure = error;
  }
}
console.log(kubectl(["get", "deployment,replicaset", "-n", "ballast-demo"]));
console.log(kubectl(["get", "pods", "-n", "ballast-demo", "-o", "wide"]));
if (failure) {
  console.error(`\nThe demo stops here: ${failure.message}`);
  console.error(
    "`npx ballast dev doctor` checks what the local nodes need; `kubectl describe pods -n ballast-demo` shows the events.",
  );
  process.exit(1);
}
if (nodes.length === 0) {
  console.log("This cluster has no nodes (started with --nodes 0), so the pods stay Pending.");
} else {
  say("The pods really run: each answers on its own IP");
  let silent = 0;
  for (const pod of running) {
    const answer = await fetch(`http://${pod.status?.podIP}:8080/`, {
      signal: AbortSignal.timeout(10_000),
    })
      .then(async (r) => `HTTP ${r.status}: ${(await r.text()).trim()}`)
      .catch((e: Error) => {
        silent++;
        return `no answer (${e.message})`;
      });
    console.log(
      `  ${pod.metadata.name} on ${pod.spec?.nodeName} at ${pod.status?.podIP}:8080 → ${answer}`,
    );
  }
  console.log(kubectl(["get", "nodes", "-L", "topology.kubernetes.io/zone"]));
  if (silent > 0) {
    console.error(
      `The demo stops here: ${silent} of ${running.length} Running pod(s) did not answer.`,
    );
    process.exit(1);
  }
}

say("Reach the cluster yourself");
console.log(`  export KUBECONFIG=${kubeconfig} PATH=${join(ballastDir(), "bin")}:$PATH
  kubectl get pods -n ballast-demo -o wide
  kubectl logs -n ballast-demo deploy/hello
  kubectl exec -n ballast-demo deploy/hello -- ps
  npx ballast dev status        # processes and ports
  npx ballast dev down          # stop it; nothing keeps running`);
