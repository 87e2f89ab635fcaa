/**
 * SPDY/3.1 framing: turning bytes into frames and frames into bytes, with the
 * connection-wide zlib state header blocks share.
 *
 * Header blocks are compressed by one zlib stream per direction for the whole
 * connection, flushed (Z_SYNC_FLUSH) after every block. Two consequences shape
 * this module:
 * - Reading: a block may back-reference up to 32 KiB of earlier output (or the
 *   preset dictionary), but never Huffman state, because a sync flush ends the
 *   deflate block. So each block inflates on its own as raw deflate whose preset
 *   window is the dictionary followed by everything inflated so far. That keeps
 *   parsing synchronous, so frames are handled strictly in arrival order.
 * - Writing: any valid zlib stream that is sync-flushed after each block is
 *   acceptable to the peer, so blocks are sent as deflate "stored" blocks plus
 *   the flush marker. Headers here are a few dozen bytes; real compression
 *   would save nothing worth an asynchronous write path.
 */
import { constants, inflateRawSync } from "node:zlib";
import { spdy3Dictionary } from "./dictionary.ts";

export const frameTypes = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goAway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

/** RST_STREAM status codes (SPDY/3 §2.4.2). */
export const rstStatus = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  cancel: 5,
  internalError: 6,
  streamInUse: 8,
  streamAlreadyClosed: 9,
} as const;

/** GOAWAY status codes. */
export const goAwayStatus = { ok: 0, protocolError: 1, internalError: 2 } as const;

const flagFin = 0x01;
const flagUnidirectional = 0x02;
const version = 3;
/** Frame bodies are at most 2^24-1 bytes by the wire format. */
export const maxFrameBody = 0xffffff;
const headerSize = 8;
/** Largest header block we inflate: a bound against compression bombs. */
const maxHeaderBlock = 256 * 1024;

/** Header names are lower case; several values of one name are joined by NUL. */
export type SpdyHeaders = Record<string, string>;

export type Frame =
  | { type: "data"; streamId: number; fin: boolean; data: Buffer }
  | {
      type: "synStream";
      streamId: number;
      associatedTo: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headers: SpdyHeaders;
    }
  | { type: "synReply"; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: "headers"; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: "rstStream"; streamId: number; status: number }
  | { type: "settings"; entries: { id: number; value: number; flags: number }[] }
  | { type: "ping"; id: number }
  | { type: "goAway"; lastGoodStreamId: number; status: number }
  | { type: "windowUpdate"; streamId: number; delta: number }
  | { type: "unknown"; frameType: number };

export class SpdyProtocolError extends Error {
  override name = "SpdyProtocolError";
}

/** Inflates the peer's header blocks; one per connection. */
export class HeaderInflater {
  #window: Buffer = spdy3Dictionary;
  #sawZlibHeader = false;

  inflate(block: Buffer): Buffer {
    let body = block;
    if (!this.#sawZlibHeader) {
      // The first block opens the zlib stream: CMF, FLG and, with FDICT set,
      // the dictionary's Adler-32, which must be the SPDY/3 one.
      if (block.length < 2) throw new SpdyProtocolError("header block too short for zlib header");
      const flg = block[1] ?? 0;
      const hasDict = (flg & 0x20) !== 0;
      if (hasDict && block.readUInt32BE(2) !== adler32(spdy3Dictionary)) {
        throw new SpdyProtocolError("header block compressed with an unknown dictionary");
      }
      body = block.subarray(hasDict ? 6 : 2);
      this.#sawZlibHeader = true;
    }
    if (body.length === 0) return Buffer.alloc(0);
    let out: Buffer;
    try {
      out = inflateRawSync(body, {
        dictionary: this.#window,
        finishFlush: constants.Z_SYNC_FLUSH,
        // A few bytes may inflate to gigabytes; real header blocks are tiny.
        maxOutputLength: maxHeaderBlock,
      });
    } catch (error) {
      throw new SpdyProtocolError("header block failed to inflate", { cause: error });
    }
    const joined = Buffer.concat([this.#window, out]);
    this.#window = joined.subarray(Math.max(0, joined.length - 32 * 1024));
    return out;
  }
}

/** Produces our header blocks as a valid zlib stream; one per connection. */
export class HeaderDeflater {
  #started = false;

  deflate(raw: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.#started) {
      const zlibHeader = Buffer.alloc(6);
      // CMF 0x78: deflate, 32 KiB window. FLG: FDICT set, check bits so that
      // (CMF*256 + FLG) % 31 === 0.
      let flg = 0x20;
      flg += 31 - ((0x78 * 256 + flg) % 31);
      zlibHeader[0] = 0x78;
      zlibHeader[1] = flg;
      zlibHeader.writeUInt32BE(adler32(spdy3Dictionary), 2);
      parts.push(zlibHeader);
      this.#started = true;
    }
    let offset = 0;
    do {
      const piece = raw.subarray(offset, offset + 0xffff);
      const stored = Buffer.alloc(5);
      stored[0] = 0; // BFINAL=0, BTYPE=00 (stored): the stream never ends.
      stored.writeUInt16LE(piece.length, 1);
      stored.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(stored, piece);
      offset += piece.length;
    } while (offset < raw.length);
    // End with the empty stored block a sync flush writes. Go's inflater only
    // hands out a stored block's bytes when the next block header says so; a
    // block without this marker would make it read past the frame, fail, and
    // keep failing for every later frame (the second SYN_REPLY never parses).
    parts.push(syncFlushMarker);
    return Buffer.concat(parts);
  }
}

const syncFlushMarker = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const entries = Object.entries(headers);
  const parts: Buffer[] = [u32(entries.length)];
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(value, "utf8");
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(raw: Buffer): SpdyHeaders {
  // No prototype: a header named "__proto__" must stay a header.
  const headers: SpdyHeaders = Object.create(null);
  let offset = 0;
  const take = (): Buffer => {
    if (offset + 4 > raw.length) throw new SpdyProtocolError("truncated header block");
    const length = raw.readUInt32BE(offset);
    offset += 4;
    if (offset + length > raw.length) throw new SpdyProtocolError("truncated header block");
    const value = raw.subarray(offset, offset + length);
    offset += length;
    return value;
  };
  if (raw.length < 4) throw new SpdyProtocolError("truncated header block");
  const count = raw.readUInt32BE(0);
  offset = 4;
  for (let i = 0; i < count; i++) {
    const name = take().toString("utf8");
    const value = take().toString("utf8");
    if (name.length === 0) throw new SpdyProtocolError("empty header name");
    headers[name] = headers[name] === undefined ? value : `${headers[name]}\0${value}`;
  }
  return headers;
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return b;
}

/**
 * Splits a byte stream into frames. Feed it whatever the socket delivers;
 * it keeps partial frames until the rest arrives.
 */
export class FrameReader {
  #pending: Buffer[] = [];
  readonly #inflater = new HeaderInflater();
  readonly #maxControlFrame: number;

  constructor(options: { maxControlFrame?: number } = {}) {
    // Control frames carry only headers and small fields; a huge one is an
    // attack or a bug, never a legitimate request.
    this.#maxControlFrame = options.maxControlFrame ?? 1024 * 1024;
  }

  push(chunk: Buffer): Frame[] {
    this.#pending.push(chunk);
    const frames: Frame[] = [];
    let buffer = this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending);
    let offset = 0;
    while (buffer.length - offset >= headerSize) {
      const length = buffer.readUIntBE(offset + 5, 3);
      const isControl = ((buffer[offset] ?? 0) & 0x80) !== 0;
      if (isControl && length > this.#maxControlFrame) {
        throw new SpdyProtocolError(`control frame of ${length} bytes exceeds the limit`);
      }
      if (buffer.length - offset < headerSize + length) break;
      frames.push(this.#parse(buffer.subarray(offset, offset + headerSize + length)));
      offset += headerSize + length;
    }
    buffer = buffer.subarray(offset);
    this.#pending = buffer.length > 0 ? [buffer] : [];
    return frames;
  }

  #parse(frame: Buffer): Frame {
    const flags = frame[4] ?? 0;
    const body = frame.subarray(headerSize);
    if (((frame[0] ?? 0) & 0x80) === 0) {
      return {
        type: "data",
        streamId: frame.readUInt32BE(0) & 0x7fffffff,
        fin: (flags & flagFin) !== 0,
        data: Buffer.from(body),
      };
    }
    const frameVersion = frame.readUInt16BE(0) & 0x7fff;
    if (frameVersion !== version) {
      throw new SpdyProtocolError(`unsupported SPDY version ${frameVersion}`);
    }
    const type = frame.readUInt16BE(2);
    const fin = (flags & flagFin) !== 0;
    const need = (n: number) => {
      if (body.length < n) throw new SpdyProtocolError(`control frame type ${type} too short`);
    };
    const streamId = () => body.readUInt32BE(0) & 0x7fffffff;
    switch (type) {
      case frameTypes.synStream:
        need(10);
        return {
          type: "synStream",
          streamId: streamId(),
          associatedTo: body.readUInt32BE(4) & 0x7fffffff,
          priority: (body[8] ?? 0) >> 5,
          fin,
          unidirectional: (flags & flagUnidirectional) !== 0,
          headers: this.#headers(body.subarray(10)),
        };
      case frameTypes.synReply:
        need(4);
        return {
          type: "synReply",
          streamId: streamId(),
          fin,
          headers: this.#headers(body.subarray(4)),
        };
      case frameTypes.headers:
        need(4);
        return {
          type: "headers",
          streamId: streamId(),
          fin,
          headers: this.#headers(body.subarray(4)),
        };
      case frameTypes.rstStream:
        need(8);
        return { type: "rstStream", streamId: streamId(), status: body.readUInt32BE(4) };
      case frameTypes.settings: {
        need(4);
        const count = body.readUInt32BE(0);
        need(4 + count * 8);
        const entries = [];
        for (let i = 0; i < count; i++) {
          const at = 4 + i * 8;
          entries.push({
            flags: body[at] ?? 0,
            id: body.readUIntBE(at + 1, 3),
            value: body.readUInt32BE(at + 4),
          });
        }
        return { type: "settings", entries };
      }
      case frameTypes.ping:
        need(4);
        return { type: "ping", id: body.readUInt32BE(0) };
      case frameTypes.goAway:
        need(4);
        return {
          type: "goAway",
          lastGoodStreamId: streamId(),
          status: body.length >= 8 ? body.readUInt32BE(4) : 0,
        };
      case frameTypes.windowUpdate:
        need(8);
        return {
          type: "windowUpdate",
          streamId: streamId(),
          delta: body.readUInt32BE(4) & 0x7fffffff,
        };
      default:
        return { type: "unknown", frameType: type };
    }
  }

  #headers(block: Buffer): SpdyHeaders {
    return decodeHeaderBlock(this.#inflater.inflate(block));
  }
}

/** Serialises frames; holds the outgoing header compression state. */
export class FrameWriter {
  readonly #deflater = new HeaderDeflater();

  data(streamId: number, data: Buffer, fin: boolean): Buffer {
    if (data.length > maxFrameBody) throw new RangeError(`data frame of ${data.length} bytes`);
    const head = Buffer.alloc(headerSize);
    head.writeUInt32BE(streamId & 0x7fffffff, 0);
    head[4] = fin ? flagFin : 0;
    head.writeUIntBE(data.length, 5, 3);
    return Buffer.concat([head, data]);
  }

  synStream(streamId: number, headers: SpdyHeaders, fin = false): Buffer {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(streamId & 0x7fffffff, 0);
    return this.#control(frameTypes.synStream, fin ? flagFin : 0, [
      fixed,
      this.#deflater.deflate(encodeHeaderBlock(headers)),
    ]);
  }

  synReply(streamId: number, headers: SpdyHeaders, fin = false): Buffer {
    return this.#control(frameTypes.synReply, fin ? flagFin : 0, [
      u32(streamId & 0x7fffffff),
      this.#deflater.deflate(encodeHeaderBlock(headers)),
    ]);
  }

  rstStream(streamId: number, status: number): Buffer {
    return this.#control(frameTypes.rstStream, 0, [u32(streamId & 0x7fffffff), u32(status)]);
  }

  ping(id: number): Buffer {
    return this.#control(frameTypes.ping, 0, [u32(id)]);
  }

  goAway(lastGoodStreamId: number, status: number): Buffer {
    return this.#control(frameTypes.goAway, 0, [u32(lastGoodStreamId & 0x7fffffff), u32(status)]);
  }

  settings(entries: { id: number; value: number }[]): Buffer {
    const body = [u32(entries.length)];
    for (const entry of entries) {
      const e = Buffer.alloc(8);
      e.writeUIntBE(entry.id, 1, 3);
      e.writeUInt32BE(entry.value, 4);
      body.push(e);
    }
    return this.#control(frameTypes.settings, 0, body);
  }

  #control(type: number, flags: number, body: Buffer[]): Buffer {
    const payload = Buffer.concat(body);
    const head = Buffer.alloc(headerSize);
    head.writeUInt16BE(0x8000 | version, 0);
    head.writeUInt16BE(type, 2);
    head[4] = flags;
    head.writeUIntBE(payload.length, 5, 3);
    return Buffer.concat([head, payload]);
  }
}
