import assert from "node:assert/strict";
import { test } from "node:test";
import { memberReport, pairs, parseInfo, parseReplicaLine, sentinelReport } from "./_parse.ts";

// As redis-server 7.0.15 prints them (`INFO replication persistence`, trimmed).
const masterInfo = `# Replication\r
role:master\r
connected_slaves:2\r
slave0:ip=r-1.r-members.default.svc,port=6379,state=online,offset=2352,lag=0\r
slave1:ip=10.0.0.7,port=6379,state=wait_bgsave,offset=0,lag=1\r
master_failover_state:no-failover\r
master_replid:391086bf7ba916c9c8768f122f68aaeb987dc7bb\r
master_replid2:0000000000000000000000000000000000000000\r
master_repl_offset:2366\r
second_repl_offset:-1\r
\r
# Persistence\r
loading:0\r
async_loading:0\r
`;

const replicaInfo = `# Replication
role:slave
master_host:r-0.r-members.default.svc
master_port:6379
master_link_status:down
master_last_io_seconds_ago:-1
master_sync_in_progress:1
slave_read_repl_offset:1
slave_repl_offset:730
slave_priority:10
slave_read_only:1
replica_announced:1
connected_slaves:0
master_replid:c87f7242bf6b647360848d4c45475c4cbb29027b
master_replid2:391086bf7ba916c9c8768f122f68aaeb987dc7bb
master_repl_offset:730
# Persistence
loading:1
`;

test("memberReport() reads a master's offset, history and the replicas it lists", () => {
  assert.deepEqual(memberReport(0, parseInfo(masterInfo)), {
    id: 0,
    reachable: true,
    role: "master",
    offset: 2366,
    replicationId: "391086bf7ba916c9c8768f122f68aaeb987dc7bb",
    loading: false,
    replicas: [
      {
        address: { host: "r-1.r-members.default.svc", port: 6379 },
        state: "online",
        offset: 2352,
        lagSeconds: 0,
      },
      { address: { host: "10.0.0.7", port: 6379 }, state: "wait_bgsave", offset: 0, lagSeconds: 1 },
    ],
  });
});

test("memberReport() reads a replica's master, link, sync, priority, previous history and loading", () => {
  assert.deepEqual(memberReport(1, parseInfo(replicaInfo)), {
    id: 1,
    reachable: true,
    role: "replica",
    offset: 730,
    replicationId: "c87f7242bf6b647360848d4c45475c4cbb29027b",
    previousReplicationId: "391086bf7ba916c9c8768f122f68aaeb987dc7bb",
    loading: true,
    following: { host: "r-0.r-members.default.svc", port: 6379 },
    masterLinkStatus: "down",
    syncInProgress: true,
    priority: 10,
  });
});

test("memberReport() refuses fields that are not a redis-server's", () => {
  assert.throws(() => memberReport(0, parseInfo("# Server\nredis_mode:sentinel\n")), /no role/);
  assert.throws(() => memberReport(0, parseInfo("role:slave\n")), /master_host/);
});

test("parseReplicaLine() keeps IPv6 addresses whole and drops malformed lines", () => {
  assert.deepEqual(parseReplicaLine("ip=fd00::7,port=6380,state=online,offset=5,lag=0")?.address, {
    host: "fd00::7",
    port: 6380,
  });
  assert.equal(parseReplicaLine("state=online"), undefined);
});

test("sentinelReport() reads the master's address, flags, epoch and what the sentinel knows", () => {
  const master = pairs([
    "name",
    "r",
    "ip",
    "127.0.0.1",
    "port",
    "27001",
    "flags",
    "master,failover_in_progress,force_failover",
    "config-epoch",
    "3",
    "quorum",
    "2",
    "failover-state",
    "wait_promotion",
  ]);
  const replica = pairs([
    "ip",
    "127.0.0.1",
    "port",
    "27002",
    "flags",
    "s_down,slave",
    "master-link-status",
    "err",
    "slave-priority",
    "100",
    "slave-repl-offset",
    "596",
  ]);
  const peer = pairs(["ip", "127.0.0.1", "port", "26380", "runid", "abc", "flags", "sentinel"]);
  const r = sentinelReport(4, master, [replica], [peer]);
  assert.deepEqual(r.master, { host: "127.0.0.1", port: 27001 });
  assert.equal(r.failoverInProgress, true);
  assert.equal(r.subjectivelyDown, false);
  assert.equal(r.failoverState, "wait_promotion");
  assert.equal(r.configEpoch, 3);
  assert.equal(r.quorum, 2);
  assert.deepEqual(r.replicas, [
    {
      address: { host: "127.0.0.1", port: 27002 },
      flags: ["s_down", "slave"],
      down: true,
      masterLinkOk: false,
      offset: 596,
      priority: 100,
    },
  ]);
  assert.deepEqual(r.sentinels, [
    { address: { host: "127.0.0.1", port: 26380 }, runId: "abc", flags: ["sentinel"], down: false },
  ]);
});
