/**
 * What a real API server does not do on demand (ping, fragment its
 * messages, close without a status, break the protocol, speak only v4) is
 * played by a scripted HTTP server that takes the WebSocket upgrade. The
 * happy paths run against the real cluster in exec.test.ts.
 */
import assert from "node:assert/strict";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { after, before, test } from "node:test";
import { KubeClient } from "../client/client.ts";
import { isForbidden, KubeApiError } from "../client/errors.ts";
import { acceptFor, applyMask, closePayload, Opcode, parseClose } from "./_websocket.ts";
import { ExecStreamError, ExecTimeoutError } from "./errors.ts";
import { exec } from "./exec.ts";

type Script = (request: IncomingMessage, socket: Duplex) => void;
const scripts: Script[] = [];
const server = createServer((_req, res) => {
  res.statusCode = 500;
  res.end("not an upgrade");
});
server.on("upgrade", (request: IncomingMessage, socket: Duplex) => {
  const script = scripts.shift();
  if (script) script(request, socket);
  else socket.destroy();
});
let client: KubeClient;
const pod = { namespace: "ns", name: "p" };

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  client = await KubeClient.fromConfig(
    { server: `http://127.0.0.1:${port}`, token: "t" },
    { rateLimit: false },
  );
});

after(() => {
  client.close();
  server.close();
});

/** A server frame: never masked. */
function frame(opcode: number, payload: Uint8Array | string = "", fin = true): Buffer {
  const data = Buffer.from(payload);
  const head =
    data.length < 126
      ? Buffer.from([(fin ? 0x80 : 0) | opcode, data.length])
      : Buffer.from([(fin ? 0x80 : 0) | opcode, 126, data.length >> 8, data.length & 0xff]);
  return Buffer.concat([head, data]);
}
const status = (body: object) =>
  frame(Opcode.binary, Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(body))]));
const success = () => status({ metadata: {}, status: "Success" });
const stdout = (text: string) => frame(Opcode.binary, `\x01${text}`);

function accept(
  request: IncomingMessage,
  socket: Duplex,
  { protocol = "v5.channel.k8s.io", acceptKey }: { protocol?: string; acceptKey?: string } = {},
): void {
  const key = request.headers["sec-websocket-key"] as string;
  socket.write(
    [
      "HTTP/1.1 101 Switching Protocols",
      "Upgrade: websocket",
      "Connection: Upgrade",
      `Sec-WebSocket-Accept: ${acceptKey ?? acceptFor(key)}`,
      `Sec-WebSocket-Protocol: ${protocol}`,
      "",
      "",
    ].join("\r\n"),
  );
}

interface ClientFrame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

/** Reads the client's frames as a server does: each must be masked. */
function clientFrames(socket: Duplex, onFrame: (frame: ClientFrame) => void): void {
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    for (;;) {
      if (buffered.length < 2) return;
      const b1 = buffered[1] as number;
      assert.ok(b1 & 0x80, "a client frame must be masked");
      let length = b1 & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (buffered.length < 4) return;
        length = buffered.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (buffered.length < 10) return;
        length = Number(buffered.readBigUInt64BE(2));
        offset = 10;
      }
      if (buffered.length < offset + 4 + length) return;
      const payload = Buffer.from(buffered.subarray(offset + 4, offset + 4 + length));
      applyMask(payload, buffered.subarray(offset, offset + 4));
      const b0 = buffered[0] as number;
      buffered = buffered.subarray(offset + 4 + length);
      onFrame({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload });
    }
  });
}

test("exec() asks for the exec subresource with repeated command=, the token and both subprotocols", async () => {
  let seen: IncomingMessage | undefined;
  scripts.push((request, socket) => {
    seen = request;
    accept(request, socket);
    socket.end(Buffer.concat([stdout("ok"), success()]));
  });
  const result = await exec(client, pod, ["sh", "-c", "echo a&b"], { container: "db" });
  assert.deepEqual(result, { exitCode: 0, stdout: "ok", stderr: "" });
  assert.ok(seen);
  const url = new URL(seen.url ?? "", "http://x");
  assert.equal(url.pathname, "/api/v1/namespaces/ns/pods/p/exec");
  assert.deepEqual(url.searchParams.getAll("command"), ["sh", "-c", "echo a&b"]);
  assert.equal(url.searchParams.get("stdout"), "1");
  assert.equal(url.searchParams.get("stderr"), "1");
  assert.equal(url.searchParams.get("stdin"), null, "no stdin unless given");
  assert.equal(url.searchParams.get("container"), "db");
  assert.equal(seen.method, "GET");
  assert.equal(seen.headers.authorization, "Bearer t");
  assert.equal(seen.headers["sec-websocket-protocol"], "v5.channel.k8s.io, v4.channel.k8s.io");
  assert.equal(seen.headers["sec-websocket-version"], "13");
});

test("exec() answers a ping with a pong and reads output fragmented across frames and TCP chunks", async () => {
  let pong: Buffer | undefined;
  scripts.push((request, socket) => {
    accept(request, socket);
    clientFrames(socket, (f) => {
      if (f.opcode !== Opcode.pong) return;
      pong = f.payload;
      const bytes = Buffer.concat([
        frame(Opcode.binary, "\x01hel", false),
        frame(Opcode.ping, "mid"),
        frame(Opcode.continuation, "lo", false),
        frame(Opcode.continuation, " world"),
        frame(Opcode.binary, "\x02warn"),
        success(),
      ]);
      // One byte per write: every frame crosses TCP chunks.
      let at = 0;
      const drip = () => {
        if (at < bytes.length) socket.write(bytes.subarray(at, ++at), drip);
      };
      drip();
    });
    socket.write(frame(Opcode.ping, "heartbeat"));
  });
  const result = await exec(client, pod, ["x"]);
  assert.deepEqual(pong, Buffer.from("heartbeat"));
  assert.deepEqual(result, { exitCode: 0, stdout: "hello world", stderr: "warn" });
});

test("exec() sends stdin as whole channel-0 messages, then closes stdin (v5)", async () => {
  const messages: ClientFrame[] = [];
  scripts.push((request, socket) => {
    accept(request, socket);
    clientFrames(socket, (f) => {
      messages.push(f);
      if (f.opcode === Opcode.binary && f.payload[0] === 255) {
        socket.end(
          status({
            status: "Failure",
            reason: "NonZeroExitCode",
            details: { causes: [{ reason: "ExitCode", message: "7" }] },
          }),
        );
      }
    });
  });
  const input = Buffer.alloc(70_000, 0x61);
  const result = await exec(client, pod, ["cat"], { stdin: input });
  assert.equal(result.exitCode, 7);
  assert.ok(
    messages.every((m) => m.fin && m.opcode === Opcode.binary),
    "whole binary messages",
  );
  const last = messages.at(-1)?.payload;
  assert.deepEqual(last, Buffer.from([255, 0]), "the last message closes channel 0");
  const data = messages.slice(0, -1);
  assert.ok(data.every((m) => m.payload[0] === 0));
  assert.ok(Buffer.concat(data.map((m) => m.payload.subarray(1))).equals(input));
});

test("exec() throws the Status of a Failure other than NonZeroExitCode as a KubeApiError", async () => {
  scripts.push((request, socket) => {
    accept(request, socket);
    socket.end(
      status({
        status: "Failure",
        reason: "InternalError",
        code: 500,
        message: 'Internal error occurred: container "db" is not running',
      }),
    );
  });
  const error = await exec(client, pod, ["x"]).catch((e: unknown) => e);
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.code, 500);
  assert.equal(error.reason, "InternalError");
  assert.match(error.message, /exec \["x"\] in Pod ns\/p: internal error: .*not running/);
});

test("exec() throws a refusal before the upgrade as a KubeApiError with its Status", async () => {
  scripts.push((_request, socket) => {
    const body = JSON.stringify({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      message: 'pods "p" is forbidden',
      reason: "Forbidden",
      code: 403,
    });
    socket.end(
      // Connection: close, or the client's keep-alive agent would reuse a socket we end.
      `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  const error = await exec(client, pod, ["x"]).catch((e: unknown) => e);
  assert.ok(isForbidden(error), String(error));
});

test("exec() fails with ExecStreamError when the server closes before the status", async () => {
  scripts.push((request, socket) => {
    accept(request, socket);
    socket.write(
      Buffer.concat([stdout("partial"), frame(Opcode.close, closePayload(1011, "boom"))]),
    );
  });
  await assert.rejects(exec(client, pod, ["x"]), (error: unknown) => {
    assert.ok(error instanceof ExecStreamError, String(error));
    assert.match(error.message, /closed the stream without an exit status \(close 1011: boom\)/);
    return true;
  });
});

test("exec() fails with ExecStreamError when the connection drops before the status", async () => {
  scripts.push((request, socket) => {
    accept(request, socket);
    socket.end(stdout("partial"));
  });
  await assert.rejects(exec(client, pod, ["x"]), /closed before the command's exit status/);
});

test("exec() refuses a 101 whose Sec-WebSocket-Accept does not match its key", async () => {
  scripts.push((request, socket) => {
    accept(request, socket, { acceptKey: acceptFor("someone else's key") });
    socket.end(success());
  });
  await assert.rejects(exec(client, pod, ["x"]), (error: unknown) => {
    assert.ok(error instanceof ExecStreamError);
    assert.match(error.message, /Sec-WebSocket-Accept/);
    return true;
  });
});

test("exec() works over v4 without stdin, and refuses stdin it could not end", async () => {
  scripts.push((request, socket) => {
    accept(request, socket, { protocol: "v4.channel.k8s.io" });
    socket.end(Buffer.concat([stdout("v4"), success()]));
  });
  assert.equal((await exec(client, pod, ["x"])).stdout, "v4");
  scripts.push((request, socket) => accept(request, socket, { protocol: "v4.channel.k8s.io" }));
  await assert.rejects(
    exec(client, pod, ["cat"], { stdin: "x" }),
    /only v4.channel.k8s.io, which cannot end stdin/,
  );
});

test("exec() fails the connection with close 1002 on a protocol violation", async () => {
  let closeCode: number | undefined;
  scripts.push((request, socket) => {
    accept(request, socket);
    clientFrames(socket, (f) => {
      if (f.opcode === Opcode.close) closeCode = parseClose(f.payload).code;
    });
    socket.write(Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]), () => undefined); // masked: servers must not
  });
  await assert.rejects(exec(client, pod, ["x"]), /WebSocket protocol error: a masked frame/);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closeCode, 1002);
});

test("exec() on timeout sends a close frame and ends the connection", async () => {
  let closeCode: number | undefined;
  let ended = false;
  scripts.push((request, socket) => {
    accept(request, socket);
    clientFrames(socket, (f) => {
      if (f.opcode === Opcode.close) closeCode = parseClose(f.payload).code;
    });
    socket.on("end", () => {
      ended = true;
      socket.end();
    });
  });
  await assert.rejects(exec(client, pod, ["sleep", "9"], { timeoutMs: 200 }), ExecTimeoutError);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(closeCode, 1001);
  assert.ok(ended, "the client ended its side");
});

test("exec() refuses a timeoutMs that is not a number >= 0, before connecting", async () => {
  for (const timeoutMs of [Number.NaN, -1]) {
    await assert.rejects(exec(client, pod, ["x"], { timeoutMs }), TypeError);
  }
  await assert.rejects(exec(client, pod, [], {}), /no command/);
});
