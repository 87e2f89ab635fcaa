/**
 * Failure modes a real API server will not produce on demand (a 410 answered
 * as the HTTP status of the watch request, a server that accepts a watch and
 * never answers) are played by a scripted HTTP server speaking the watch
 * protocol. Everything else is tested against the real cluster.
 */
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { eventually } from "@ballast/dev/testkit";
import { KubeClient } from "../client/client.ts";
import { Watcher, type WatcherEvent, type WatcherStatus } from "./watcher.ts";

type Script = (url: URL, res: ServerResponse) => void;
const watchScript: Script[] = [];
let listVersion = 10;
const hanging: ServerResponse[] = [];
const authorizations = new Set<string>();
const server = createServer((req, res) => {
  authorizations.add(req.headers.authorization ?? "(none)");
  const url = new URL(req.url ?? "/", "http://x");
  if (url.searchParams.get("watch") !== "1") {
    res.setHeader("content-type", "application/json");
    res.end(
      JSON.stringify({
        kind: "ConfigMapList",
        apiVersion: "v1",
        metadata: { resourceVersion: String(listVersion) },
        items: [
          {
            metadata: {
              name: `listed-${listVersion}`,
              namespace: "ns",
              resourceVersion: String(listVersion),
            },
          },
        ],
      }),
    );
    return;
  }
  const next = watchScript.shift();
  if (next) next(url, res);
  else hanging.push(res);
});
let client: KubeClient;

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  client = await KubeClient.fromConfig(
    { server: `http://127.0.0.1:${port}`, token: "t" },
    { rateLimit: false },
  );
  client.mapper.register({
    apiVersion: "v1",
    kind: "ConfigMap",
    resource: "configmaps",
    namespaced: true,
  });
});

after(async () => {
  for (const res of hanging) res.destroy();
  client?.close();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Polls often: the first test must stop the watch well within its stall timeout. */
const patience = { timeoutMs: 10_000, intervalMs: 10 };

test("a 410 HTTP answer to the watch request relists, a silent server is cut as stalled, and the watch resumes from the relist", async () => {
  const resumedFrom: string[] = [];
  watchScript.push(
    (url, res) => {
      resumedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      listVersion = 20;
      res.writeHead(410, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          kind: "Status",
          status: "Failure",
          reason: "Expired",
          code: 410,
          message: "too old resource version",
        }),
      );
    },
    (url, res) => {
      // Accepts the watch and never answers: only the stall timeout gets the watcher out.
      resumedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      hanging.push(res);
    },
    (url, res) => {
      resumedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      res.writeHead(200, { "content-type": "application/json" });
      res.write(
        `${JSON.stringify({ type: "ADDED", object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "new", namespace: "ns", resourceVersion: "21", managedFields: [{}] } } })}\n`,
      );
      // An event split across two chunks must still parse.
      const bookmark = JSON.stringify({
        type: "BOOKMARK",
        object: { kind: "ConfigMap", metadata: { resourceVersion: "25" } },
      });
      res.write(bookmark.slice(0, 10));
      setTimeout(() => res.write(`${bookmark.slice(10)}\n`), 20);
      hanging.push(res);
    },
  );
  const events: WatcherEvent[] = [];
  const statuses: WatcherStatus[] = [];
  const watcher = new Watcher(
    client,
    { apiVersion: "v1", kind: "ConfigMap" },
    {
      namespace: "ns",
      stallTimeoutMs: 300,
      backoff: { initialMs: 10, maxMs: 20 },
      onStatus: (s) => statuses.push(s),
    },
  );
  const stop = new AbortController();
  const done = watcher.run((e) => events.push(e), stop.signal);
  await eventually("the bookmark", () => watcher.resourceVersion === "25" || undefined, patience);
  stop.abort();
  await done;

  assert.deepEqual(resumedFrom, ["10", "20", "20"]);
  assert.deepEqual([...authorizations], ["Bearer t"], "the kubeconfig's token on every request");
  assert.deepEqual(
    statuses.map((s) => (s.state === "watching" ? s.state : `${s.state}:${s.reason}`)),
    ["listing:initial", "disconnected:gone", "listing:gone", "disconnected:stalled", "watching"],
  );
  assert.deepEqual(
    events.map((e) =>
      e.type === "relisted"
        ? `relisted ${e.resourceVersion}`
        : e.type === "bookmark"
          ? `bookmark ${e.resourceVersion}`
          : `${e.type} ${e.object.metadata.name}`,
    ),
    ["relisted 10", "relisted 20", "added new", "bookmark 25"],
  );
  const added = events[2];
  assert.equal(
    added?.type === "added" ? added.object.metadata.managedFields : "missing",
    undefined,
  );
});

test("an ERROR event that is not 410 backs off and resumes from the same resourceVersion without relisting", async () => {
  listVersion = 30;
  const resumedFrom: string[] = [];
  watchScript.push(
    (url, res) => {
      resumedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        `${JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 500, reason: "InternalError", message: "boom" } })}\n`,
      );
    },
    (url, res) => {
      resumedFrom.push(url.searchParams.get("resourceVersion") ?? "");
      hanging.push(res);
      res.writeHead(200, { "content-type": "application/json" });
      res.write("\n");
    },
  );
  const statuses: WatcherStatus[] = [];
  const watcher = new Watcher(
    client,
    { apiVersion: "v1", kind: "ConfigMap" },
    {
      namespace: "ns",
      backoff: { initialMs: 10, maxMs: 20 },
      onStatus: (s) => statuses.push(s),
    },
  );
  const stop = new AbortController();
  const done = watcher.run(() => {}, stop.signal);
  await eventually(
    "the second watch",
    () => (resumedFrom.length === 2 && statuses.at(-1)?.state === "watching") || undefined,
    patience,
  );
  stop.abort();
  await done;
  assert.deepEqual(resumedFrom, ["30", "30"]);
  const failure = statuses.find((s) => s.state === "disconnected");
  assert.equal(failure?.state === "disconnected" ? failure.reason : "", "error");
  assert.match(
    String(failure?.state === "disconnected" ? failure.error : ""),
    /InternalError|boom/,
  );
  assert.equal(statuses.filter((s) => s.state === "listing").length, 1);
});
