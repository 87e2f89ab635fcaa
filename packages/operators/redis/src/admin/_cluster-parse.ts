/**
 * `CLUSTER NODES` and `CLUSTER INFO` replies → the port's views. Pure.
 *
 * A `CLUSTER NODES` line (Redis 7):
 *   <id> <ip:port@cport[,hostname]> <flags> <master|-> <ping-sent> <pong-recv> <config-epoch> <link-state> <slot>...
 * where a slot is `a-b`, `a`, or — on the asked node's own line only —
 * `[a->-<id>]` (migrating to <id>) or `[a-<-<id>]` (importing from <id>).
 */
import type { ClusterNodeView, SlotMark } from "./cluster-port.ts";
import { rangesOf } from "./cluster-port.ts";

export function parseClusterNodes(reply: string): ClusterNodeView[] {
  const out: ClusterNodeView[] = [];
  for (const raw of reply.split("\n")) {
    const line = raw.trim();
    if (!line) continue;
    const fields = line.split(" ");
    const [nodeId, address, flagText, master, , , epoch, link, ...slotFields] = fields;
    if (!nodeId || !address || !flagText) continue;
    const [hostPort = "", hostname] = address.split(",");
    const at = hostPort.indexOf("@");
    const ipPort = at >= 0 ? hostPort.slice(0, at) : hostPort;
    const colon = ipPort.lastIndexOf(":");
    const ip = colon >= 0 ? ipPort.slice(0, colon) : "";
    const port = colon >= 0 ? Number(ipPort.slice(colon + 1)) : 0;
    const flags = flagText.split(",");
    const slots: number[] = [];
    const migrating: SlotMark[] = [];
    const importing: SlotMark[] = [];
    for (const s of slotFields) {
      if (s.startsWith("[")) {
        const body = s.slice(1, -1);
        const out = body.match(/^(\d+)->-([0-9a-f]+)$/);
        const inc = body.match(/^(\d+)-<-([0-9a-f]+)$/);
        if (out?.[1] && out[2]) migrating.push({ slot: Number(out[1]), peer: out[2] });
        if (inc?.[1] && inc[2]) importing.push({ slot: Number(inc[1]), peer: inc[2] });
        continue;
      }
      const [a, b] = s.split("-");
      const from = Number(a);
      const to = b === undefined ? from : Number(b);
      if (Number.isInteger(from) && Number.isInteger(to))
        for (let x = from; x <= to; x++) slots.push(x);
    }
    out.push({
      nodeId,
      ip,
      port,
      ...(hostname ? { hostname } : {}),
      flags,
      myself: flags.includes("myself"),
      master: flags.includes("master"),
      ...(master && master !== "-" ? { replicaOf: master } : {}),
      failing: flags.includes("fail") || flags.includes("fail?"),
      unusable: flags.includes("handshake") || flags.includes("noaddr") || ip === "",
      configEpoch: Number(epoch ?? 0),
      connected: link === "connected",
      slots: rangesOf(slots),
      migrating,
      importing,
    });
  }
  return out;
}
