/**
 * One replica of the hello operator, in its own process, for the failover
 * test that SIGKILLs the leader:
 *
 *   node _failover-replica.ts <kubeconfig> <namespace> <lease> <identity> <leaseMs> <renewMs> <retryMs>
 *
 * Runs `helloManager` with leader election and writes one JSON line to
 * stdout per event the test judges by: `{"identity", "event": "reconcile",
 * "key", "startedAt", "endedAt"}` for every reconcile outcome the controller
 * reports, `"leading"` when it starts leading and `"leader"` when it sees who
 * leads. Times are epoch ms; the test runs on the same machine, so its clock
 * and ours are the same one.
 */
import { KubeClient, type LogFields, type Logger, MetricsRegistry } from "@ballast/runtime";
import { helloManager } from "./operator.ts";

const [kubeconfig, namespace, leaseName, identity, lease, renew, retry] = process.argv.slice(2);
if (!kubeconfig || !namespace || !leaseName || !identity) {
  throw new Error(
    "usage: _failover-replica.ts <kubeconfig> <namespace> <lease> <identity> <leaseMs> <renewMs> <retryMs>",
  );
}

function emit(record: Record<string, unknown>): void {
  // Writes to a pipe are synchronous on Linux, so a line is out before a SIGKILL can land.
  process.stdout.write(`${JSON.stringify({ identity, ...record })}\n`);
}

/**
 * Reads the manager's own logs: the controller logs every reconcile outcome
 * (done, failed, aborted) with its `key` and `durationMs` once it finishes.
 */
function observe(msg: string, fields: LogFields = {}): void {
  const now = Date.now();
  if (typeof fields.key === "string" && typeof fields.durationMs === "number") {
    emit({
      event: "reconcile",
      key: fields.key,
      msg,
      startedAt: now - fields.durationMs,
      endedAt: now,
    });
  } else if (msg === "started leading") emit({ event: "leading", at: now });
  else if (msg === "new leader") emit({ event: "leader", leader: fields.leader, at: now });
}

const logger: Logger = {
  debug: observe,
  info: observe,
  warn: (msg, fields) => {
    observe(msg, fields);
    process.stderr.write(`${identity} warn: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  },
  error: (msg, fields) => {
    observe(msg, fields);
    process.stderr.write(`${identity} error: ${msg} ${JSON.stringify(fields ?? {})}\n`);
  },
};

const client = await KubeClient.fromKubeconfig(kubeconfig, { fieldManager: "hello-operator" });
const { manager } = helloManager(client, {
  namespace,
  metricsPort: false,
  healthPort: false,
  logger,
  metrics: new MetricsRegistry({ defaultMetrics: false }),
  leaderElection: {
    leaseName,
    namespace,
    identity,
    leaseDurationMs: Number(lease),
    renewDeadlineMs: Number(renew),
    retryPeriodMs: Number(retry),
  },
});
try {
  await manager.start(manager.handleSignals());
} finally {
  client.close();
}
