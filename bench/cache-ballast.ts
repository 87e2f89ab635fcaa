/**
 * F2, Ballast's side: an Informer holding every ConfigMap of one namespace,
 * as a controller's cache would. Prints `SYNCED <n>` after the first list is
 * in the cache and a full GC, then holds the cache until killed.
 *
 *   node --expose-gc bench/cache-ballast.ts --kubeconfig=… --namespace=…
 */
import { Informer, KubeClient } from "@ballast/runtime";
import { collectGarbage, countRequests, flags, say } from "./_protocol.ts";
import { ConfigMap } from "./widget.ts";

const args = flags();
countRequests();
const client = await KubeClient.fromKubeconfig(args.get("kubeconfig"), {
  fieldManager: "bench-ballast",
});
const informer = new Informer(client, ConfigMap, { namespace: args.get("namespace") });
const stop = new AbortController();
process.once("SIGTERM", () => stop.abort());
const running = informer.run(stop.signal).catch(() => {});
await informer.waitForSync();
collectGarbage();
say(`SYNCED ${informer.list().length}`);
say("READY");
await running;
client.close();
