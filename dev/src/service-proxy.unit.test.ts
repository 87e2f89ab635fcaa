import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { DevClusterError } from "./errors.ts";
import { kubeProxySynced, nftShim, requireNft } from "./service-proxy.ts";

const dir = mkdtempSync(join(tmpdir(), "ballast-nft-shim-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-in for the real nft: prints its arguments, then what it read on stdin. */
const fakeNft = join(dir, "real-nft");
writeFileSync(fakeNft, '#!/bin/sh\necho "args: $*"\n[ "$2" = - ] || [ "$3" = - ] && cat\nexit 3\n');
chmodSync(fakeNft, 0o755);
const shim = join(dir, "nft");
writeFileSync(shim, nftShim("kube-proxy-bst201", fakeNft));
chmodSync(shim, 0o755);

function runShim(args: string[], input = ""): { output: string; code: number } {
  try {
    return { output: execFileSync(shim, args, { input, encoding: "utf8" }), code: 0 };
  } catch (error) {
    const e = error as { stdout: string; status: number };
    return { output: e.stdout, code: e.status };
  }
}

test("nftShim() renames kube-proxy's table in the arguments and keeps nft's exit code", () => {
  const { output, code } = runShim(["--json", "--terse", "list", "table", "ip", "kube-proxy"]);
  assert.equal(output, "args: --json --terse list table ip kube-proxy-bst201\n");
  assert.equal(code, 3);
});

test("nftShim() renames the table in a transaction and nothing else", () => {
  const transaction = [
    'add table ip kube-proxy { comment "rules for kube-proxy" ; }',
    "add chain ip kube-proxy services",
    "flush chain ip kube-proxy services",
    "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips",
    "add element ip kube-proxy cluster-ips { 10.101.0.1 }",
    "delete table ip6 kube-proxy",
    "add table inet other-kube-proxy",
    "",
  ].join("\n");
  const { output, code } = runShim(["-f", "-"], transaction);
  assert.equal(code, 3, "the pipeline's status is nft's");
  assert.equal(
    output,
    [
      "args: -f -",
      'add table ip kube-proxy-bst201 { comment "rules for kube-proxy" ; }',
      "add chain ip kube-proxy-bst201 services",
      "flush chain ip kube-proxy-bst201 services",
      "add rule ip kube-proxy-bst201 services ip daddr . meta l4proto . th dport vmap @service-ips",
      "add element ip kube-proxy-bst201 cluster-ips { 10.101.0.1 }",
      "delete table ip6 kube-proxy-bst201",
      "add table inet other-kube-proxy",
      "",
    ].join("\n"),
  );
  assert.equal(
    runShim(["--check", "-f", "-"], "add table ip kube-proxy\n").output.split("\n")[1],
    "add table ip kube-proxy-bst201",
  );
});

test("requireNft() without nft on PATH names Debian's package and its install command", () => {
  assert.throws(
    () => requireNft({ PATH: dir.replace(/$/, "/none") }),
    (error: unknown) =>
      error instanceof DevClusterError &&
      /nftables/.test(error.message) &&
      /apt-get install -y nftables/.test(error.fix),
  );
});

test("kubeProxySynced() waits for the metric of the first successful IPv4 sync", () => {
  const before = [
    "# TYPE kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds gauge",
    'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"} 1.7807e+09',
  ].join("\n");
  const synced = `${before}\nkubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7807e+09\n`;
  assert.equal(kubeProxySynced({ status: 200, body: before }), false);
  assert.equal(kubeProxySynced({ status: 200, body: synced }), true);
  assert.equal(kubeProxySynced({ status: 0, body: "" }), false);
});
