import assert from "node:assert/strict";
import { test } from "node:test";
import {
  acceptFor,
  applyMask,
  CloseCode,
  checkHandshake,
  closePayload,
  encodeFrame,
  handshakeHeaders,
  handshakeKey,
  Opcode,
  parseClose,
  WebSocketProtocolError,
  WebSocketReader,
} from "./_websocket.ts";

/** A server frame (never masked), built by hand so the reader is not tested against our encoder. */
function serverFrame(opcode: number, payload: Uint8Array | string, fin = true): Buffer {
  const data = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  let head: Buffer;
  if (data.length < 126) head = Buffer.from([(fin ? 0x80 : 0) | opcode, data.length]);
  else if (data.length < 0x10000) {
    head = Buffer.from([(fin ? 0x80 : 0) | opcode, 126, 0, 0]);
    head.writeUInt16BE(data.length, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = (fin ? 0x80 : 0) | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(data.length), 2);
  }
  return Buffer.concat([head, data]);
}

/** Decodes a client frame the way a server does: checks the mask bit, unmasks. */
function decodeClientFrame(frame: Buffer): { fin: boolean; opcode: number; payload: Buffer } {
  assert.ok(frame[1] && frame[1] & 0x80, "client frames are masked");
  let length = (frame[1] as number) & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    offset = 10;
  }
  const key = frame.subarray(offset, offset + 4);
  const payload = Buffer.from(frame.subarray(offset + 4));
  assert.equal(payload.length, length);
  applyMask(payload, key);
  return { fin: ((frame[0] as number) & 0x80) !== 0, opcode: (frame[0] as number) & 0x0f, payload };
}

test("acceptFor() gives RFC 6455's example answer", () => {
  // RFC 6455 section 1.3.
  assert.equal(acceptFor("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

test("handshakeKey() is 16 random bytes in base64", () => {
  const key = handshakeKey();
  assert.equal(Buffer.from(key, "base64").length, 16);
  assert.notEqual(handshakeKey(), key);
});

test("handshakeHeaders() offers the subprotocols in order", () => {
  const headers = handshakeHeaders("k", ["v5.channel.k8s.io", "v4.channel.k8s.io"]);
  assert.equal(headers["sec-websocket-protocol"], "v5.channel.k8s.io, v4.channel.k8s.io");
  assert.equal(headers.upgrade, "websocket");
  assert.equal(headers["sec-websocket-version"], "13");
});

test("checkHandshake() returns the chosen subprotocol, and refuses a wrong accept or protocol", () => {
  const key = handshakeKey();
  const ok = {
    upgrade: "WebSocket",
    "sec-websocket-accept": acceptFor(key),
    "sec-websocket-protocol": "v5.channel.k8s.io",
  };
  assert.equal(checkHandshake(ok, key, ["v5.channel.k8s.io"]), "v5.channel.k8s.io");
  assert.throws(
    () =>
      checkHandshake({ ...ok, "sec-websocket-accept": acceptFor("other") }, key, [
        "v5.channel.k8s.io",
      ]),
    WebSocketProtocolError,
  );
  assert.throws(
    () =>
      checkHandshake({ ...ok, "sec-websocket-protocol": "channel.k8s.io" }, key, [
        "v5.channel.k8s.io",
      ]),
    /chose subprotocol "channel.k8s.io"/,
  );
  assert.throws(
    () =>
      checkHandshake({ ...ok, "sec-websocket-protocol": undefined }, key, ["v5.channel.k8s.io"]),
    /chose subprotocol ""/,
  );
  assert.throws(() => checkHandshake({ ...ok, upgrade: "h2c" }, key, ["v5.channel.k8s.io"]), /h2c/);
});

test("applyMask() twice gives the data back", () => {
  const data = Buffer.from("hello, masked world");
  const key = Buffer.from([1, 2, 3, 250]);
  applyMask(data, key);
  assert.notEqual(data.toString(), "hello, masked world");
  applyMask(data, key);
  assert.equal(data.toString(), "hello, masked world");
});

test("encodeFrame() masks a short frame with the given key", () => {
  const frame = encodeFrame(
    { opcode: Opcode.text, payload: Buffer.from("Hello") },
    Buffer.from([0x37, 0xfa, 0x21, 0x3d]),
  );
  // RFC 6455 section 5.7: a masked "Hello".
  assert.deepEqual([...frame], [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
});

test("encodeFrame() uses 16- and 64-bit lengths where needed, masked each time", () => {
  for (const size of [0, 125, 126, 65535, 65536, 200_000]) {
    const payload = Buffer.alloc(size, 7);
    const frame = decodeClientFrame(encodeFrame({ opcode: Opcode.binary, payload }));
    assert.equal(frame.opcode, Opcode.binary);
    assert.equal(frame.fin, true);
    assert.ok(frame.payload.equals(payload), `size ${size}`);
  }
});

test("encodeFrame() leaves fin unset on a fragment, and a random mask by default", () => {
  const a = encodeFrame({ opcode: Opcode.binary, payload: Buffer.from("x"), fin: false });
  assert.equal((a[0] as number) & 0x80, 0);
  const b = encodeFrame({ opcode: Opcode.binary, payload: Buffer.from("x"), fin: false });
  assert.notDeepEqual(a.subarray(2, 6), b.subarray(2, 6), "a fresh mask per frame");
});

test("WebSocketReader reads several frames from one chunk", () => {
  const reader = new WebSocketReader();
  const events = reader.push(
    Buffer.concat([serverFrame(Opcode.binary, "\x01one"), serverFrame(Opcode.text, "two")]),
  );
  assert.deepEqual(
    events.map((e) => (e.type === "message" ? [e.opcode, e.data.toString()] : e.type)),
    [
      [Opcode.binary, "\x01one"],
      [Opcode.text, "two"],
    ],
  );
});

test("WebSocketReader reads a frame split across TCP chunks, one byte at a time", () => {
  const payload = Buffer.alloc(70_000, 3);
  payload[0] = 1;
  const bytes = serverFrame(Opcode.binary, payload);
  const reader = new WebSocketReader();
  const events = [];
  for (let i = 0; i < bytes.length; i++) {
    const got = reader.push(bytes.subarray(i, i + 1));
    if (i < bytes.length - 1) assert.equal(got.length, 0, `nothing before the last byte (at ${i})`);
    events.push(...got);
  }
  assert.equal(events.length, 1);
  const [event] = events;
  assert.ok(event?.type === "message" && event.data.equals(payload));
});

test("WebSocketReader reads a frame split in the middle of its extended length", () => {
  const bytes = serverFrame(Opcode.binary, Buffer.alloc(300, 9));
  const reader = new WebSocketReader();
  assert.deepEqual(reader.push(bytes.subarray(0, 3)), []);
  const [event] = reader.push(bytes.subarray(3));
  assert.ok(event?.type === "message" && event.data.length === 300);
});

test("WebSocketReader joins a fragmented message, with a ping between its fragments", () => {
  const reader = new WebSocketReader();
  const events = reader.push(
    Buffer.concat([
      serverFrame(Opcode.binary, "\x01hel", false),
      serverFrame(Opcode.ping, "are you there"),
      serverFrame(Opcode.continuation, "lo ", false),
      serverFrame(Opcode.continuation, "world"),
    ]),
  );
  assert.equal(events.length, 2);
  assert.deepEqual(events[0], { type: "ping", data: Buffer.from("are you there") });
  assert.ok(events[1]?.type === "message");
  assert.equal(events[1].opcode, Opcode.binary);
  assert.equal(events[1].data.toString(), "\x01hello world");
});

test("WebSocketReader reports pongs and an empty message", () => {
  const reader = new WebSocketReader();
  const events = reader.push(
    Buffer.concat([serverFrame(Opcode.pong, "p"), serverFrame(Opcode.binary, "")]),
  );
  assert.deepEqual(events, [
    { type: "pong", data: Buffer.from("p") },
    { type: "message", opcode: Opcode.binary, data: Buffer.alloc(0) },
  ]);
});

test("WebSocketReader reads a close frame's code and reason, and ignores what follows it", () => {
  const reader = new WebSocketReader();
  const events = reader.push(
    Buffer.concat([
      serverFrame(Opcode.close, closePayload(CloseCode.normal, "bye")),
      serverFrame(Opcode.binary, "late"),
    ]),
  );
  assert.deepEqual(events, [{ type: "close", code: 1000, reason: "bye" }]);
  assert.deepEqual(reader.push(serverFrame(Opcode.binary, "later")), []);
});

test("parseClose() reads an empty close as 1005 and refuses one byte", () => {
  assert.deepEqual(parseClose(Buffer.alloc(0)), { code: 1005, reason: "" });
  assert.deepEqual(parseClose(closePayload(1001)), { code: 1001, reason: "" });
  assert.throws(() => parseClose(Buffer.from([3])), WebSocketProtocolError);
});

test("closePayload() keeps the reason within a control frame's 125 bytes", () => {
  assert.equal(closePayload(1000, "x".repeat(500)).length, 125);
});

test("WebSocketReader fails on protocol violations", () => {
  const cases: [string, Buffer, RegExp][] = [
    ["a masked frame", Buffer.from([0x82, 0x81, 1, 2, 3, 4, 5]), /masked frame from the server/],
    ["RSV bits", Buffer.from([0xc2, 0x00]), /RSV/],
    ["a reserved opcode", serverFrame(0x3, "x"), /reserved opcode 0x3/],
    ["a reserved control opcode", serverFrame(0xb, "x"), /reserved opcode 0xb/],
    ["a continuation first", serverFrame(Opcode.continuation, "x"), /no message to continue/],
    [
      "a new message inside a fragmented one",
      Buffer.concat([serverFrame(Opcode.binary, "a", false), serverFrame(Opcode.binary, "b")]),
      /before the last one's final fragment/,
    ],
    ["a fragmented ping", serverFrame(Opcode.ping, "x", false), /fragmented control frame/],
    ["a long ping", serverFrame(Opcode.ping, Buffer.alloc(126)), /over 125 bytes/],
    ["a one-byte close", serverFrame(Opcode.close, Buffer.from([3])), /close frame of one byte/],
  ];
  for (const [what, bytes, message] of cases) {
    assert.throws(() => new WebSocketReader().push(bytes), message, what);
  }
});

test("WebSocketReader fails with 1009 on a message over maxMessageBytes, before it has arrived", () => {
  const reader = new WebSocketReader({ maxMessageBytes: 1000 });
  const head = serverFrame(Opcode.binary, Buffer.alloc(70_000)).subarray(0, 10);
  assert.throws(
    () => reader.push(head),
    (error: unknown) => error instanceof WebSocketProtocolError && error.closeCode === 1009,
  );
  const fragments = new WebSocketReader({ maxMessageBytes: 10 });
  assert.throws(
    () =>
      fragments.push(
        Buffer.concat([
          serverFrame(Opcode.binary, Buffer.alloc(6), false),
          serverFrame(Opcode.continuation, Buffer.alloc(6)),
        ]),
      ),
    /over the limit of 10 bytes/,
  );
});
