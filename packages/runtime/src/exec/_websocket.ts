/**
 * The client side of RFC 6455 (WebSocket) as pure functions over bytes: the
 * opening handshake's key and its check, frame encoding (client frames are
 * always masked), and a reader that turns TCP chunks into whole messages and
 * control frames. No sockets here, so every case is a unit test.
 *
 * Why our own: Node's global `WebSocket` is undici's, and loading undici costs
 * every operator process ~11 MiB (see ../_http.ts); exec needs only binary
 * messages, ping/pong and close, over the client's own authenticated socket.
 * No extensions are ever offered, so the RSV bits must be zero.
 */
import { createHash, randomBytes } from "node:crypto";

export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** Close codes this client sends or reads (RFC 6455 section 7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  noStatus: 1005,
  tooBig: 1009,
} as const;

/** The peer broke the protocol; the connection must be failed (RFC 6455 section 7.1.7). */
export class WebSocketProtocolError extends Error {
  override name = "WebSocketProtocolError";
  /** The close code to send before dropping the connection. */
  readonly closeCode: number;
  constructor(message: string, closeCode: number = CloseCode.protocolError) {
    super(message);
    this.closeCode = closeCode;
  }
}

const acceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/** A fresh `Sec-WebSocket-Key`: 16 random bytes, base64. */
export function handshakeKey(): string {
  return randomBytes(16).toString("base64");
}

/** The `Sec-WebSocket-Accept` a server must answer `key` with. */
export function acceptFor(key: string): string {
  return createHash("sha1")
    .update(key + acceptGuid)
    .digest("base64");
}

/** The request headers of an opening handshake offering `protocols`, in order of preference. */
export function handshakeHeaders(
  key: string,
  protocols: readonly string[],
): Record<string, string> {
  return {
    connection: "Upgrade",
    upgrade: "websocket",
    "sec-websocket-version": "13",
    "sec-websocket-key": key,
    "sec-websocket-protocol": protocols.join(", "),
  };
}

/**
 * Checks a 101 answer: the accept hash proves the server read our key (and
 * is not a cache replaying an old answer), and the subprotocol must be one we
 * offered. Returns the chosen subprotocol; throws WebSocketProtocolError.
 */
export function checkHandshake(
  headers: Record<string, string | string[] | undefined>,
  key: string,
  protocols: readonly string[],
): string {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  };
  if (one("upgrade")?.toLowerCase() !== "websocket") {
    throw new WebSocketProtocolError(`the server upgraded to ${one("upgrade")}, not websocket`);
  }
  if (one("sec-websocket-accept") !== acceptFor(key)) {
    throw new WebSocketProtocolError("the server's Sec-WebSocket-Accept does not match our key");
  }
  const chosen = one("sec-websocket-protocol")?.trim();
  if (!chosen || !protocols.includes(chosen)) {
    throw new WebSocketProtocolError(
      `the server chose subprotocol ${JSON.stringify(chosen ?? "")}, not one of ${protocols.join(", ")}`,
    );
  }
  return chosen;
}

/** XORs `data` in place with the 4-byte `key`; the same call unmasks. */
export function applyMask(data: Uint8Array, key: Uint8Array): void {
  for (let i = 0; i < data.length; i++) data[i] = (data[i] as number) ^ (key[i & 3] as number);
}

export interface OutgoingFrame {
  opcode: Opcode;
  payload?: Uint8Array | undefined;
  /** `false` for every fragment but the last. @default true */
  fin?: boolean | undefined;
}

/**
 * One frame, masked with `maskKey` (4 bytes; random unless given, which
 * tests do). A client must mask every frame it sends (RFC 6455 section 5.3):
 * it keeps a hostile page from writing bytes a proxy would misread.
 */
export function encodeFrame(frame: OutgoingFrame, maskKey: Uint8Array = randomBytes(4)): Buffer {
  const payload = frame.payload ?? new Uint8Array(0);
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const head = 2 + lengthBytes + 4;
  const out = Buffer.allocUnsafe(head + length);
  out[0] = ((frame.fin ?? true) ? 0x80 : 0) | frame.opcode;
  if (lengthBytes === 0) out[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    out[1] = 0x80 | 126;
    out.writeUInt16BE(length, 2);
  } else {
    out[1] = 0x80 | 127;
    out.writeBigUInt64BE(BigInt(length), 2);
  }
  out.set(maskKey.subarray(0, 4), head - 4);
  out.set(payload, head);
  applyMask(out.subarray(head), maskKey);
  return out;
}

/** The payload of a close frame: the code, then a UTF-8 reason of at most 123 bytes. */
export function closePayload(code: number, reason = ""): Buffer {
  const text = Buffer.from(reason, "utf8").subarray(0, 123);
  const out = Buffer.allocUnsafe(2 + text.length);
  out.writeUInt16BE(code, 0);
  text.copy(out, 2);
  return out;
}

/** Reads a close frame's payload; an empty one means "no status" (1005). */
export function parseClose(payload: Uint8Array): { code: number; reason: string } {
  if (payload.length === 0) return { code: CloseCode.noStatus, reason: "" };
  if (payload.length === 1) throw new WebSocketProtocolError("a close frame of one byte");
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  return { code: bytes.readUInt16BE(0), reason: bytes.toString("utf8", 2) };
}

/** What the reader hands on: whole data messages, and control frames as they come. */
export type WebSocketEvent =
  | { type: "message"; opcode: typeof Opcode.text | typeof Opcode.binary; data: Buffer }
  | { type: "ping"; data: Buffer }
  | { type: "pong"; data: Buffer }
  | { type: "close"; code: number; reason: string };

export interface ReaderOptions {
  /**
   * The largest message (all its fragments together) accepted; a bigger one
   * fails the connection with 1009 instead of filling memory.
   * @default 64 MiB
   */
  maxMessageBytes?: number;
}

/**
 * Frames from a server, reassembled. `push` takes TCP chunks as they come
 * (a frame may span several, a chunk may hold several frames) and returns
 * the events completed so far. A server must not mask its frames; control
 * frames may arrive between the fragments of a message.
 */
export class WebSocketReader {
  readonly #maxMessageBytes: number;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  /** Bytes the frame at the head of the buffer needs: chunks are joined only once they are all in. */
  #need = 2;
  /** The fragments of the data message in progress, and its opcode. */
  #fragments: Buffer[] = [];
  #fragmentBytes = 0;
  #fragmentOpcode: typeof Opcode.text | typeof Opcode.binary | undefined;
  #closed = false;

  constructor({ maxMessageBytes = 64 * 1024 * 1024 }: ReaderOptions = {}) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Throws WebSocketProtocolError; after a close frame, later bytes are ignored. */
  push(chunk: Uint8Array): WebSocketEvent[] {
    const events: WebSocketEvent[] = [];
    if (this.#closed) return events;
    this.#buffered.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.#bufferedBytes += chunk.length;
    for (;;) {
      const frame = this.#nextFrame();
      if (!frame) break;
      const event = this.#onFrame(frame);
      if (!event) continue;
      events.push(event);
      if (event.type === "close") {
        this.#closed = true;
        this.#buffered = [];
        this.#bufferedBytes = 0;
        break;
      }
    }
    return events;
  }

  /** Cuts the next whole frame off the buffer, or answers undefined if it has not all arrived. */
  #nextFrame(): { fin: boolean; opcode: number; payload: Buffer } | undefined {
    if (this.#bufferedBytes < this.#need) return undefined;
    const buffer = this.#joined();
    const b0 = buffer[0] as number;
    const b1 = buffer[1] as number;
    if (b0 & 0x70)
      throw new WebSocketProtocolError("a frame with RSV bits set (no extension was negotiated)");
    if (b1 & 0x80) throw new WebSocketProtocolError("a masked frame from the server");
    let length = b1 & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return this.#waitFor(4);
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return this.#waitFor(10);
      const long = buffer.readBigUInt64BE(2);
      if (long >> 63n) throw new WebSocketProtocolError("a frame length with its top bit set");
      if (long > BigInt(this.#maxMessageBytes)) {
        throw new WebSocketProtocolError(
          `a frame of ${long} bytes, over the limit of ${this.#maxMessageBytes}`,
          CloseCode.tooBig,
        );
      }
      length = Number(long);
      offset = 10;
    }
    if (buffer.length < offset + length) return this.#waitFor(offset + length);
    const payload = buffer.subarray(offset, offset + length);
    const rest = buffer.subarray(offset + length);
    this.#buffered = rest.length ? [rest] : [];
    this.#bufferedBytes = rest.length;
    this.#need = 2;
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, payload };
  }

  #waitFor(bytes: number): undefined {
    this.#need = bytes;
    return undefined;
  }

  #joined(): Buffer {
    if (this.#buffered.length > 1) this.#buffered = [Buffer.concat(this.#buffered)];
    return this.#buffered[0] as Buffer;
  }

  #onFrame(frame: { fin: boolean; opcode: number; payload: Buffer }): WebSocketEvent | undefined {
    const { fin, opcode, payload } = frame;
    if (opcode >= 0x8) {
      if (!fin) throw new WebSocketProtocolError("a fragmented control frame");
      if (payload.length > 125) throw new WebSocketProtocolError("a control frame over 125 bytes");
      if (opcode === Opcode.close) return { type: "close", ...parseClose(payload) };
      if (opcode === Opcode.ping) return { type: "ping", data: Buffer.from(payload) };
      if (opcode === Opcode.pong) return { type: "pong", data: Buffer.from(payload) };
      throw new WebSocketProtocolError(`a frame with reserved opcode 0x${opcode.toString(16)}`);
    }
    if (opcode === Opcode.continuation) {
      if (this.#fragmentOpcode === undefined) {
        throw new WebSocketProtocolError("a continuation frame with no message to continue");
      }
    } else if (opcode === Opcode.text || opcode === Opcode.binary) {
      if (this.#fragmentOpcode !== undefined) {
        throw new WebSocketProtocolError("a new message before the last one's final fragment");
      }
      this.#fragmentOpcode = opcode;
    } else {
      throw new WebSocketProtocolError(`a frame with reserved opcode 0x${opcode.toString(16)}`);
    }
    this.#fragmentBytes += payload.length;
    if (this.#fragmentBytes > this.#maxMessageBytes) {
      throw new WebSocketProtocolError(
        `a message over the limit of ${this.#maxMessageBytes} bytes`,
        CloseCode.tooBig,
      );
    }
    // The payload is a view into the received chunk, which may hold the next
    // frames too: a copy lets the chunk go.
    this.#fragments.push(Buffer.from(payload));
    if (!fin) return undefined;
    const message: WebSocketEvent = {
      type: "message",
      opcode: this.#fragmentOpcode,
      data:
        this.#fragments.length === 1
          ? (this.#fragments[0] as Buffer)
          : Buffer.concat(this.#fragments),
    };
    this.#fragments = [];
    this.#fragmentBytes = 0;
    this.#fragmentOpcode = undefined;
    return message;
  }
}
