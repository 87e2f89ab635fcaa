import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type Frame, FrameReader, FrameWriter } from "./frames.ts";
import { SpdySession, type SpdyStream } from "./session.ts";

/** A raw SPDY client: sends frames, collects what the server answers. */
class Client {
  readonly socket: Socket;
  readonly writer = new FrameWriter();
  readonly frames: Frame[] = [];
  readonly #reader = new FrameReader();
  #waiters: (() => void)[] = [];

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.frames.push(...this.#reader.push(chunk));
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async waitFor(predicate: (frame: Frame) => boolean): Promise<Frame> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such frame in ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }
}

let server: Server;
let port: number;
const sessions: SpdySession[] = [];
let onStream: (stream: SpdyStream) => void = () => {};

before(async () => {
  server = createServer((socket) => {
    sessions.push(new SpdySession(socket, { onStream: (s) => onStream(s) }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as { port: number }).port;
});

after(() => {
  for (const s of sessions) s.destroy();
  server.close();
});

async function client(): Promise<Client> {
  const socket = connect(port, "127.0.0.1");
  await once(socket, "connect");
  return new Client(socket);
}

describe("SpdySession", () => {
  it("answers a PING with the same id", async () => {
    const c = await client();
    c.send(c.writer.ping(7));
    assert.deepEqual(await c.waitFor((f) => f.type === "ping"), { type: "ping", id: 7 });
    c.socket.destroy();
  });

  it("replies to a new stream and carries data both ways, FIN included", async () => {
    const c = await client();
    const received: Buffer[] = [];
    const streamSeen = new Promise<SpdyStream>((resolve) => {
      onStream = (stream) => {
        stream.on("data", (d: Buffer) => received.push(d));
        stream.on("end", () => stream.end("bye"));
        resolve(stream);
      };
    });
    c.send(c.writer.synStream(1, { streamtype: "stdin" }));
    const stream = await streamSeen;
    assert.equal(stream.headers.streamtype, "stdin");
    await c.waitFor((f) => f.type === "synReply" && f.streamId === 1);
    c.send(c.writer.data(1, Buffer.from("hello"), false));
    c.send(c.writer.data(1, Buffer.from(" world"), true));
    await c.waitFor((f) => f.type === "data" && f.fin);
    assert.equal(Buffer.concat(received).toString(), "hello world");
    const data = c.frames.filter((f) => f.type === "data");
    assert.equal(
      Buffer.concat(data.map((f) => (f.type === "data" ? f.data : Buffer.alloc(0)))).toString(),
      "bye",
    );
    c.socket.destroy();
  });

  it("destroys a stream the peer resets, and resets a stream we abandon", async () => {
    const c = await client();
    const streams: SpdyStream[] = [];
    onStream = (stream) => {
      stream.resume();
      streams.push(stream);
    };
    c.send(c.writer.synStream(1, { streamtype: "data" }));
    c.send(c.writer.synStream(3, { streamtype: "error" }));
    await c.waitFor((f) => f.type === "synReply" && f.streamId === 3);
    const [first, second] = streams;
    assert.ok(first && second);
    c.send(c.writer.rstStream(1, 5));
    await once(first, "close");
    assert.equal(first.resetByPeer, true);
    second.destroy();
    assert.deepEqual(await c.waitFor((f) => f.type === "rstStream"), {
      type: "rstStream",
      streamId: 3,
      status: 5,
    });
    c.socket.destroy();
  });

  it("refuses stream ids that go backwards or are even", async () => {
    const c = await client();
    onStream = (stream) => stream.resume();
    c.send(c.writer.synStream(5, { streamtype: "a" }));
    c.send(c.writer.synStream(3, { streamtype: "b" }));
    c.send(c.writer.synStream(8, { streamtype: "c" }));
    await c.waitFor((f) => f.type === "rstStream" && f.streamId === 8);
    assert.deepEqual(
      c.frames
        .filter((f) => f.type === "rstStream")
        .map((f) => f.type === "rstStream" && f.streamId),
      [3, 8],
    );
    c.socket.destroy();
  });

  it("says GOAWAY with a protocol error to a peer that sends garbage", async () => {
    const c = await client();
    const bad = Buffer.alloc(12);
    bad.writeUInt16BE(0x8002, 0); // SPDY/2
    bad.writeUInt16BE(6, 2);
    bad.writeUIntBE(4, 5, 3);
    c.send(bad);
    assert.deepEqual(await c.waitFor((f) => f.type === "goAway"), {
      type: "goAway",
      lastGoodStreamId: 0,
      status: 1,
    });
    await once(c.socket, "close");
  });

  it("stops reading the socket while a stream's reader lags, and resumes after", async () => {
    const c = await client();
    let stream: SpdyStream | undefined;
    onStream = (s) => {
      stream = s;
    };
    c.send(c.writer.synStream(1, { streamtype: "data" }));
    await c.waitFor((f) => f.type === "synReply");
    const big = Buffer.alloc(32 * 1024, 1);
    for (let i = 0; i < 8; i++) c.send(c.writer.data(1, big, false));
    c.send(c.writer.data(1, Buffer.alloc(0), true));
    const session = sessions.at(-1);
    assert.ok(session && stream);
    const s = stream;
    // Nobody reads: the session stops pulling bytes once the buffer is full.
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(s.readableLength >= s.readableHighWaterMark);
    assert.ok(s.readableLength < 8 * big.length, "not everything was buffered");
    let total = 0;
    s.on("data", (d: Buffer) => {
      total += d.length;
    });
    await once(s, "end");
    assert.equal(total, 8 * big.length);
    c.socket.destroy();
  });
});
