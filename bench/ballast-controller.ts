/**
 * The Ballast half of the benchmark: for each Widget, create a ConfigMap it
 * owns, then mark the Widget ready — the same logic, the same API calls
 * (create, then a merge patch of /status) as bench/reference/main.go.
 *
 *   node bench/ballast-controller.ts --kubeconfig=… --namespace=… --qps=… --burst=… --workers=…
 *                                    [--shared-rate-limiter=true]
 */
import {
  Action,
  controller,
  isAlreadyExists,
  KubeClient,
  Manager,
  noopLogger,
} from "@ballast/runtime";
import { countRequests, flags, say } from "./_protocol.ts";
import { ConfigMap, stampAnnotation, Widget, wallMs } from "./widget.ts";

const args = flags();
const namespace = args.get("namespace") ?? "default";
countRequests();

const client = await KubeClient.fromKubeconfig(args.get("kubeconfig"), {
  fieldManager: "bench-ballast",
  rateLimit: {
    qps: Number(args.get("qps") ?? 20),
    burst: Number(args.get("burst") ?? 30),
    // As the Go reference's -shared-rate-limiter: one bucket, or one per resource.
    per: args.get("shared-rate-limiter") === "true" ? "client" : "resource",
  },
});

// Per key, the last stamp reported: a status write wakes the same key again,
// and that second reconcile must not be counted as another update arriving.
const seen = new Map<string, string>();
// When each stamp's watch event reached this process: the part of F3's
// latency that is the runtime's own (queue and worker) starts here.
const arrived = new Map<string, number>();

const widgets = controller(client, Widget)
  .owns(ConfigMap)
  .withOptions({
    name: "widget",
    namespace,
    maxConcurrentReconciles: Number(args.get("workers") ?? 1),
  })
  .withEventFilter({
    update: (_previous, current) => {
      const stamp = current.metadata.annotations?.[stampAnnotation];
      if (stamp !== undefined && !arrived.has(stamp)) arrived.set(stamp, wallMs());
      return true;
    },
  })
  .build(async (ref, ctx) => {
    const started = wallMs();
    const widget = ctx.object;
    if (!widget) return Action.done();
    const key = `${ref.namespace ?? ""}/${ref.name}`;
    const stamp = widget.metadata.annotations?.[stampAnnotation];
    if (stamp !== undefined && seen.get(key) !== stamp) {
      seen.set(key, stamp);
      const at = arrived.get(stamp);
      arrived.delete(stamp);
      say(`LAT ${stamp} ${started.toFixed(3)}${at === undefined ? "" : ` ${at.toFixed(3)}`}`);
    }

    const name = widget.metadata.name ?? "";
    if (!ctx.owned(ConfigMap).some((cm) => cm.metadata.name === name)) {
      try {
        await ctx.client.create(
          {
            ...ConfigMap,
            metadata: {
              name,
              namespace,
              ownerReferences: [
                {
                  apiVersion: Widget.apiVersion,
                  kind: Widget.kind,
                  name,
                  uid: widget.metadata.uid ?? "",
                  controller: true,
                  blockOwnerDeletion: true,
                },
              ],
            },
            data: { data: widget.spec.data ?? "" },
          },
          { signal: ctx.signal },
        );
      } catch (error) {
        if (!isAlreadyExists(error)) throw error;
      }
    }

    const generation = widget.metadata.generation;
    if (widget.status?.ready === true && widget.status.observedGeneration === generation) {
      return Action.done();
    }
    await ctx.client.patchStatus(
      Widget,
      { namespace, name },
      { status: { ready: true, observedGeneration: generation } },
      { type: "merge", signal: ctx.signal },
    );
    return Action.done();
  });

const manager = new Manager({
  client,
  metricsPort: false,
  healthPort: false,
  leaderElection: false,
  logger: noopLogger,
});
manager.add(widgets);

const ready = setInterval(() => {
  if (!widgets.hasSynced()) return;
  clearInterval(ready);
  say("READY");
}, 20);

try {
  await manager.start(manager.handleSignals());
} finally {
  client.close();
}
// The stats reader on stdin would keep the process alive; exiting normally
// also lets `--cpu-prof` (BENCH_NODE_FLAGS) write its profile.
process.exit(0);
