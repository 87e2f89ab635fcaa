/**
 * The second half of `npm run demo`: the Kafka operator at work on the
 * local cluster that `dev/demo.ts` started. It installs the CRDs, runs the
 * operator in this process, brings up a 3-broker KRaft cluster with a
 * topic, then rolls it under an acks=all producer and shows that every
 * acknowledged message was read back while the operator restarted the
 * brokers one at a time.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { installKafkaCrds, KafkaCluster, kafkaOperator } from "@ballast/kafka";
import { KubeClient, type Logger } from "@ballast/runtime";
import { type DemoPod, DemoPodsError, describeNotRunning, stuckWatch } from "../dev/demo-pods.ts";
import { startWorkload } from "../packages/operators/kafka/test-support/workload.ts";

const root = join(import.meta.dirname, "..");
const kubeconfig = join(root, ".ballast", "kubeconfig");
const kubectlBin = join(root, ".ballast", "bin", "kubectl");
const namespace = "kafka-demo";
const name = "demo";
const say = (text: string) => console.log(`\n\x1b[1m== ${text}\x1b[0m`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function kubectl(args: string[], input?: string): string {
  const result = spawnSync(kubectlBin, [`--kubeconfig=${kubeconfig}`, ...args], {
    input,
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr}`);
  return result.stdout;
}

// Only what needs attention: the operator's info logs would drown the story.
const quiet: Logger = {
  debug: () => {},
  info: () => {},
  warn: (msg, fields) => console.error(`  operator warn: ${msg} ${JSON.stringify(fields ?? {})}`),
  error: (msg, fields) => console.error(`  operator error: ${msg} ${JSON.stringify(fields ?? {})}`),
};

const client = await KubeClient.fromKubeconfig(kubeconfig, { fieldManager: "ballast-demo" });
const stop = new AbortController();
let operatorDone: Promise<void> | undefined;
let exitCode = 0;
try {
  say("Installing the Kafka CRDs and starting the Kafka operator (in this process)");
  await installKafkaCrds(client);
  const { manager, admins } = kafkaOperator(client, {
    namespace,
    metricsPort: false,
    healthPort: false,
    logger: quiet,
  });
  operatorDone = manager.start(stop.signal).finally(() => admins.closeAll());
  console.log(
    kubectl(["get", "crd", "kafkaclusters.ballast.dev", "kafkatopics.ballast.dev"]).trim(),
  );

  say("A 3-broker KRaft cluster and a topic: two small manifests");
  const manifests = {
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "Namespace",
        metadata: {
          name: namespace,
          labels: { "pod-security.kubernetes.io/enforce": "restricted" },
        },
      },
      {
        apiVersion: KafkaCluster.apiVersion,
        kind: "KafkaCluster",
        metadata: { name, namespace },
        spec: {
          version: "3.9.1",
          brokers: 3,
          controllers: { replicas: 3, mode: "combined" },
          storage: { size: "1Gi", storageClassName: "local" },
          jvm: { heap: "256M" },
          rack: { topologyKey: "topology.kubernetes.io/zone" },
          config: { "min.insync.replicas": 2 },
        },
      },
      {
        apiVersion: KafkaCluster.apiVersion,
        kind: "KafkaTopic",
        metadata: { name: "orders", namespace },
        spec: { cluster: name, partitions: 6, replicas: 3 },
      },
    ],
  };
  console.log(kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(manifests)).trim());
  await follow("Ready", (c) => c.ready === "True" && !c.operation, 600_000);
  console.log(kubectl(["get", "kafkaclusters,kafkatopics,pods", "-n", namespace, "-o", "wide"]));

  say("A rolling restart under an acks=all producer");
  const bootstrap = () => {
    const pods = JSON.parse(
      kubectl([
        "get",
        "pods",
        "-n",
        namespace,
        "-l",
        "kafka.ballast.dev/broker=true",
        "-o",
        "json",
      ]),
    ) as {
      items: { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }[];
    };
    return pods.items
      .filter((p) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .map((p) => `${p.status?.podIP}:9092`);
  };
  const workload = startWorkload({
    bootstrap,
    topic: "orders",
    intervalMs: 20,
    drainTimeoutMs: 15_000,
  });
  await workload.waitFor({ acknowledged: 100 });
  kubectl([
    "annotate",
    "kafkacluster",
    name,
    "-n",
    namespace,
    "--overwrite",
    `kafka.ballast.dev/restart-requested=${new Date().toISOString()}`,
  ]);
  await follow("the roll to start", (c) => c.operation.startsWith("Roll"), 60_000);
  await follow("the roll to finish", (c) => c.ready === "True" && !c.operation, 600_000);
  const report = await workload.stop();
  if (report.lost.length > 0) exitCode = 1;
  console.log(
    `  producer: ${report.acknowledged} messages acknowledged (${report.failed} sends retried)` +
      `\n  consumer: every acknowledged message read back? ${report.lost.length === 0 ? "yes" : `NO — ${report.lost.length} lost`}`,
  );
  console.log(
    kubectl(["get", "events", "-n", namespace, "--field-selector", `involvedObject.name=${name}`]),
  );

  say("Keep going");
  console.log(`  export KUBECONFIG=${kubeconfig} PATH=${join(root, ".ballast", "bin")}:$PATH
  npx ballast run -n ${namespace}                        # run the operator again (Ctrl-C stops it)
  npx ballast status kafkacluster/${name} -n ${namespace}   # then, in another shell:
  kubectl patch kafkacluster ${name} -n ${namespace} --type=merge -p '{"spec":{"brokers":4}}'
  npx ballast roll kafkacluster/${name} -n ${namespace}
  npx ballast dev down                                   # stop everything`);
} catch (error) {
  // A pod that does not run ends the demo with its reason, not a stack.
  if (!(error instanceof DemoPodsError)) throw error;
  console.error(`\nThe demo stops here: ${error.message}`);
  console.error(
    `\`npx ballast dev doctor\` checks what the local nodes need; \`kubectl describe pods -n ${namespace}\` shows the events.`,
  );
  exitCode = 1;
} finally {
  stop.abort();
  await operatorDone;
  client.close();
}
if (exitCode !== 0) process.exit(exitCode);

interface Row {
  brokers: string;
  operation: string;
  ready: string;
  waiting: string;
}

const pods = (): DemoPod[] =>
  (JSON.parse(kubectl(["get", "pods", "-n", namespace, "-o", "json"])) as { items: DemoPod[] })
    .items;

/**
 * Prints the cluster's status line whenever it changes, until `done` says so.
 * A pod of the cluster that does not run (an image that cannot be pulled, a
 * crash loop) ends the wait at once with the pod's reason; at the bound, the
 * pods that are not Ready say what they wait for.
 */
async function follow(what: string, done: (row: Row) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const stuck = stuckWatch();
  let last = "";
  while (Date.now() < deadline) {
    const c = JSON.parse(
      kubectl(["get", "kafkacluster", name, "-n", namespace, "-o", "json"]),
    ) as KafkaCluster;
    const row: Row = {
      brokers: c.status?.brokers ?? "0/3",
      operation: c.status?.operation?.summary ?? "",
      ready: c.status?.conditions?.find((x) => x.type === "Ready")?.status ?? "Unknown",
      waiting: c.status?.operation?.waitingFor ?? "",
    };
    const line = `  brokers ${row.brokers}  ready ${row.ready}  ${row.operation}${row.waiting ? ` — ${row.waiting}` : ""}`;
    if (line !== last) console.log(`${new Date().toISOString().slice(11, 19)}${line}`);
    last = line;
    if (done(row)) return;
    const problem = stuck(pods());
    if (problem)
      throw new DemoPodsError(`KafkaCluster ${namespace}/${name}, waiting for ${what}: ${problem}`);
    await sleep(1000);
  }
  throw new DemoPodsError(
    [
      `KafkaCluster ${namespace}/${name}: timed out after ${timeoutMs / 1000} s waiting for ${what}`,
      ...describeNotRunning(pods()),
    ].join("\n"),
  );
}
