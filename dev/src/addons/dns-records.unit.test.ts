import assert from "node:assert/strict";
import { test } from "node:test";
import { buildResponse, parseQuery, RCODE_NXDOMAIN, TYPE_A } from "./dns-message.ts";
import { buildRecords, lookup } from "./dns-records.ts";

const domain = "cluster.local";

test("buildRecords() resolves a service to its ready endpoints and a hostname to its own pod", () => {
  const records = buildRecords(
    [{ namespace: "kafka", name: "brokers" }],
    [
      {
        namespace: "kafka",
        service: "brokers",
        endpoints: [
          { addresses: ["10.200.1.2"], hostname: "kafka-0", conditions: { ready: true } },
          { addresses: ["10.200.2.2"], hostname: "kafka-1" },
          { addresses: ["10.200.3.2"], hostname: "kafka-2", conditions: { ready: false } },
        ],
      },
    ],
    domain,
  );
  assert.deepEqual(lookup(records, "brokers.kafka.svc.cluster.local", domain), {
    kind: "answer",
    addresses: ["10.200.1.2", "10.200.2.2"],
  });
  assert.deepEqual(lookup(records, "kafka-1.brokers.kafka.svc.cluster.local.", domain), {
    kind: "answer",
    addresses: ["10.200.2.2"],
  });
  // A not-ready pod is not published, as CoreDNS does.
  assert.deepEqual(lookup(records, "kafka-2.brokers.kafka.svc.cluster.local", domain), {
    kind: "nxdomain",
  });
});

test("buildRecords() with clusterIps answers a ClusterIP Service with its cluster IP, a headless one with its ready pods", () => {
  const ready = { conditions: { ready: true } };
  const records = buildRecords(
    [
      { namespace: "default", name: "kubernetes", clusterIPs: ["10.100.0.1"] },
      { namespace: "web", name: "front", clusterIPs: ["10.100.7.9"] },
      { namespace: "web", name: "members", clusterIPs: ["None"] },
      { namespace: "web", name: "idle", clusterIPs: ["10.100.8.1"] },
    ],
    [
      { namespace: "default", service: "kubernetes", endpoints: [{ addresses: ["127.0.0.1"] }] },
      {
        namespace: "web",
        service: "front",
        endpoints: [{ addresses: ["10.200.1.2"], hostname: "a", ...ready }],
      },
      {
        namespace: "web",
        service: "members",
        endpoints: [
          { addresses: ["10.200.1.2"], hostname: "a", ...ready },
          { addresses: ["10.200.2.2"], hostname: "b", conditions: { ready: false } },
        ],
      },
    ],
    domain,
    { clusterIps: true },
  );
  const answer = (name: string) => lookup(records, name, domain);
  assert.deepEqual(answer("kubernetes.default.svc.cluster.local"), {
    kind: "answer",
    addresses: ["10.100.0.1"],
  });
  assert.deepEqual(answer("front.web.svc.cluster.local"), {
    kind: "answer",
    addresses: ["10.100.7.9"],
  });
  // A cluster IP answers even with no ready endpoint: kube-proxy refuses the connection.
  assert.deepEqual(answer("idle.web.svc.cluster.local"), {
    kind: "answer",
    addresses: ["10.100.8.1"],
  });
  assert.deepEqual(answer("members.web.svc.cluster.local"), {
    kind: "answer",
    addresses: ["10.200.1.2"],
  });
  assert.deepEqual(answer("a.members.web.svc.cluster.local"), {
    kind: "answer",
    addresses: ["10.200.1.2"],
  });
  // As in CoreDNS, endpoint hostnames exist under headless Services only.
  assert.deepEqual(answer("a.front.web.svc.cluster.local"), { kind: "nxdomain" });
});

test("buildRecords() without clusterIps resolves a ClusterIP Service to its ready pods (no service proxy)", () => {
  const records = buildRecords(
    [{ namespace: "web", name: "front", clusterIPs: ["10.96.7.9"] }],
    [
      {
        namespace: "web",
        service: "front",
        endpoints: [{ addresses: ["10.200.1.2"], conditions: { ready: true } }],
      },
    ],
    domain,
  );
  assert.deepEqual(lookup(records, "front.web.svc.cluster.local", domain), {
    kind: "answer",
    addresses: ["10.200.1.2"],
  });
});

test("lookup() answers NODATA for a service with no ready endpoint and NXDOMAIN for unknown names", () => {
  const records = buildRecords([{ namespace: "a", name: "empty" }], [], domain);
  assert.deepEqual(lookup(records, "empty.a.svc.cluster.local", domain), { kind: "nodata" });
  assert.deepEqual(lookup(records, "missing.a.svc.cluster.local", domain), { kind: "nxdomain" });
  assert.deepEqual(lookup(records, "example.com", domain), { kind: "nxdomain" });
  assert.deepEqual(lookup(records, "10-200-1-7.a.pod.cluster.local", domain), {
    kind: "answer",
    addresses: ["10.200.1.7"],
  });
});

test("parseQuery() and buildResponse() round-trip an A query", () => {
  // A query for "a.b" type A, id 0x1234, RD set.
  const query = Buffer.from([
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 1, 0x62, 0, 0, 1, 0, 1,
  ]);
  const question = parseQuery(query);
  assert.equal(question.name, "a.b");
  assert.equal(question.type, TYPE_A);
  const response = buildResponse(question, 0, ["10.1.2.3"]);
  assert.equal(response.readUInt16BE(0), 0x1234);
  assert.equal(response.readUInt16BE(6), 1, "one answer");
  assert.deepEqual([...response.subarray(response.length - 4)], [10, 1, 2, 3]);
  const nx = buildResponse(question, RCODE_NXDOMAIN, []);
  assert.equal(nx.readUInt16BE(2) & 0xf, RCODE_NXDOMAIN);
  assert.throws(() => parseQuery(Buffer.from([1, 2, 3])), /shorter than a DNS header/);
});
