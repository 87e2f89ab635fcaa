/**
 * K1 — what the Kafka operator's safety costs: the duration of a rolling
 * restart of a 3-broker cluster holding data, against the sum of each
 * broker's own restart + catch-up time measured on the same cluster, in
 * the same run, alternating:
 *
 *   reference: delete one broker pod by hand and time until the broker is
 *              registered, unfenced and back in every ISR; once per broker,
 *              summed (the operator only recreates the pod).
 *   roll:      request a roll (the restart annotation) and time until the
 *              KafkaCluster reports it done.
 *
 * The ratio is the overhead of the roll's checks and waits over the
 * unavoidable work. Run by `npm run bench` after run.ts (F1–F4), or alone:
 *
 *   node bench/kafka-roll.ts            BENCH_RUNS=3 (default), BENCH_ONLY=K1
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { eventually } from "@ballast/dev/testkit";
import {
  clusterManifest,
  Harness,
  namespace,
  topicManifest,
} from "../packages/operators/kafka/e2e/harness.ts";
import { startWorkload } from "../packages/operators/kafka/test-support/workload.ts";
import { round, spread } from "./_stats.ts";

const only = process.env.BENCH_ONLY;
if (only && !only.split(",").includes("K1")) process.exit(0);

const runs = Number(process.env.BENCH_RUNS ?? 3);
const messages = Number(process.env.BENCH_KAFKA_MESSAGES ?? 20_000);
const benchDir = import.meta.dirname;
const name = "bench";
const log = (msg: string) => process.stderr.write(`[K1] ${msg}\n`);

const h = await Harness.start();
try {
  await h.apply(clusterManifest(name));
  await h.settled(name, 600_000);
  await h.apply(topicManifest("load", name, { partitions: 12 }));
  await eventually("topic load in Kafka", () => h.withAdmin(name, (a) => a.describeTopic("load")), {
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
  // Data for the restarted brokers to catch up on: written by the workload's acks=all producer.
  const fill = startWorkload({ bootstrap: () => h.bootstrap(name), topic: "load", intervalMs: 0 });
  await fill.waitFor({ acknowledged: messages }, 600_000);
  const filled = await fill.stop();
  log(`filled: ${filled.acknowledged} messages, ${filled.lost.length} lost`);

  const reference: number[] = [];
  const roll: number[] = [];
  for (let run = 0; run < runs; run++) {
    // Alternate which goes first: the machine is noisy.
    const order = run % 2 === 0 ? ["reference", "roll"] : ["roll", "reference"];
    for (const what of order) {
      if (what === "reference") reference.push(await restartEachByHand());
      else roll.push(await rollOnce(run));
      log(
        `run ${run + 1}: ${what} ${(what === "reference" ? reference.at(-1) : roll.at(-1))?.toFixed(1)} s`,
      );
    }
  }
  const tenths = (values: number[]) => values.map((v) => round(v, 1));
  const rolls = spread(tenths(roll));
  const sums = spread(tenths(reference));
  const result = {
    roll_s: round(rolls.median, 1),
    sum_of_restarts_s: round(sums.median, 1),
    ratio: round(rolls.median / sums.median, 2),
    roll: rolls,
    sum_of_restarts: sums,
    brokers: 3,
    messages: filled.acknowledged,
  };
  log(JSON.stringify(result));
  if (!only) {
    const file = join(benchDir, "results.json");
    const results = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    results.K1 = result;
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  }
} finally {
  await h.close();
}

/** Deletes each broker pod in turn; sums delete → broker unfenced and in every ISR again. */
async function restartEachByHand(): Promise<number> {
  let total = 0;
  for (const id of [0, 1, 2]) {
    await settledInKafka();
    const pod = (await h.pods(name)).find(
      (p) => p.metadata.labels?.["kafka.ballast.dev/node-id"] === String(id),
    );
    if (!pod) throw new Error(`no pod for broker ${id}`);
    const started = performance.now();
    await h.cluster.api(`/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`, {
      method: "DELETE",
    });
    await eventually(
      `broker ${id} back in every ISR`,
      async () => {
        const fresh = (await h.pods(name)).find(
          (p) =>
            p.metadata.labels?.["kafka.ballast.dev/node-id"] === String(id) &&
            p.metadata.uid !== pod.metadata.uid,
        );
        if (
          !fresh?.status?.conditions?.some(
            (c) => c.type === "ContainersReady" && c.status === "True",
          )
        )
          return undefined;
        const obs = await h.withAdmin(name, (a) => a.observe());
        const back =
          obs.liveBrokers.has(id) &&
          obs.partitions.every((p) => !p.replicas.includes(id) || p.isr.includes(id));
        return back ? true : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 250 },
    );
    total += (performance.now() - started) / 1000;
  }
  return total;
}

async function rollOnce(run: number): Promise<number> {
  await settledInKafka();
  const started = performance.now();
  await h.patchCluster(name, {
    metadata: {
      annotations: { "kafka.ballast.dev/restart-requested": `bench-${run}-${Date.now()}` },
    },
  });
  await eventually(
    "the roll to start",
    async () =>
      (await h.kafkaCluster(name)).status?.operation?.type === "Roll" ? true : undefined,
    { timeoutMs: 60_000, intervalMs: 100 },
  );
  await h.settled(name, 900_000);
  return (performance.now() - started) / 1000;
}

/** Every partition fully replicated and every broker Ready: a fair start for either side. */
async function settledInKafka(): Promise<void> {
  await h.settled(name, 600_000);
  await eventually(
    "every partition fully replicated",
    async () => {
      const obs = await h.withAdmin(name, (a) => a.observe());
      return obs.partitions.every((p) => p.isr.length === p.replicas.length) ? true : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 500 },
  );
}
