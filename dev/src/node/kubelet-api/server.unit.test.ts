import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { route } from "./server.ts";

describe("route()", () => {
  it("maps the kubelet's paths, with and without a pod UID", () => {
    assert.deepEqual(route("/healthz"), { kind: "healthz" });
    assert.deepEqual(route("/containerLogs/ns/pod/c?follow=true"), {
      kind: "logs",
      namespace: "ns",
      pod: "pod",
      container: "c",
    });
    assert.deepEqual(route("/exec/ns/pod/c?command=ls"), {
      kind: "exec",
      namespace: "ns",
      pod: "pod",
      container: "c",
    });
    assert.deepEqual(route("/exec/ns/pod/uid-1/c"), {
      kind: "exec",
      namespace: "ns",
      pod: "pod",
      uid: "uid-1",
      container: "c",
    });
    assert.deepEqual(route("/portForward/ns/pod"), {
      kind: "portForward",
      namespace: "ns",
      pod: "pod",
    });
    assert.deepEqual(route("/portForward/ns/pod/uid-1"), {
      kind: "portForward",
      namespace: "ns",
      pod: "pod",
      uid: "uid-1",
    });
  });

  it("sends anything else, empty segments and bad escapes to 404", () => {
    for (const path of [
      "/",
      "/pods",
      "/exec/ns/pod",
      "/containerLogs/ns//c",
      "/exec/ns/%E0%A4%A/c",
      "/portForward/a/b/c/d",
    ]) {
      assert.deepEqual(route(path), { kind: "notFound" }, path);
    }
  });
});
