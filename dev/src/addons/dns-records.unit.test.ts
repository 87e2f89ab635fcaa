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
