/**
 * A replica in its own process, for the test that SIGKILLs a leader:
 * `node _elector-child.ts <kubeconfig> <namespace> <lease> <identity> <leaseMs> <renewMs> <retryMs>`.
 * Prints `leading` once it leads, then keeps leading until killed.
 */
import { KubeClient } from "../client/client.ts";
import { LeaderElector } from "./elector.ts";

const [kubeconfig, namespace, leaseName, identity, lease, renew, retry] = process.argv.slice(2);
if (!kubeconfig || !namespace || !leaseName || !identity) {
  throw new Error(
    "usage: _elector-child.ts <kubeconfig> <namespace> <lease> <identity> <leaseMs> <renewMs> <retryMs>",
  );
}
const client = await KubeClient.fromKubeconfig(kubeconfig);
const elector = new LeaderElector(client, {
  leaseName,
  namespace,
  identity,
  leaseDurationMs: Number(lease),
  renewDeadlineMs: Number(renew),
  retryPeriodMs: Number(retry),
});
await elector.run({
  onStartedLeading() {
    process.stdout.write("leading\n");
  },
});
process.exit(1);
