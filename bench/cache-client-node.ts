/**
 * F2, the baseline most TypeScript operators use: @kubernetes/client-node's
 * makeInformer holding every ConfigMap of one namespace. Prints `SYNCED <n>`
 * after the first list is in the cache and a full GC.
 *
 *   node --expose-gc bench/cache-client-node.ts --kubeconfig=… --namespace=…
 */
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from "@kubernetes/client-node";
import { collectGarbage, countRequests, flags, say } from "./_protocol.ts";

const args = flags();
const namespace = args.get("namespace") ?? "default";
countRequests();
const config = new KubeConfig();
config.loadFromFile(args.get("kubeconfig") ?? "");
const core = config.makeApiClient(CoreV1Api);
const informer = makeInformer<V1ConfigMap>(
  config,
  `/api/v1/namespaces/${namespace}/configmaps`,
  () => core.listNamespacedConfigMap({ namespace }),
);
informer.on("error", (error: unknown) =>
  process.stderr.write(`informer error: ${String(error)}\n`),
);
await informer.start();
collectGarbage();
say(`SYNCED ${informer.list(namespace).length}`);
say("READY");
process.once("SIGTERM", () => {
  void informer.stop().then(() => process.exit(0));
});
