/**
 * The server side of one SPDY/3.1 connection: accepts the peer's streams,
 * answers each with SYN_REPLY (as the kubelet does, before it knows what the
 * stream is for), echoes PINGs, and turns every stream into a Node Duplex.
 *
 * Flow control: the Go implementation the API server uses (spdystream) never
 * sends WINDOW_UPDATE and ignores ours, so SPDY windows are not honoured in
 * either direction. Backpressure instead comes from the transport: writes wait
 * for the socket to drain, and when a stream's reader falls behind, the whole
 * socket stops being read until it catches up — the same head-of-line
 * behaviour spdystream's blocking frame handler has.
 */
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { Duplex } from "node:stream";
import {
  type Frame,
  FrameReader,
  FrameWriter,
  goAwayStatus,
  rstStatus,
  type SpdyHeaders,
  SpdyProtocolError,
} from "./frames.ts";

/** Biggest DATA frame we send; smaller frames interleave streams fairly. */
const maxDataChunk = 32 * 1024;
/**
 * Streams open at once on one connection. Exec needs five; port-forward two
 * per forwarded connection. The cap only bounds memory if a peer misbehaves.
 */
const maxConcurrentStreams = 2048;

export class SpdyStream extends Duplex {
  readonly id: number;
  readonly headers: SpdyHeaders;
  /** True once the peer sent RST_STREAM: the stream was aborted, not finished. */
  resetByPeer = false;
  readonly #session: SpdySession;
  #wantsData = true;

  constructor(session: SpdySession, id: number, headers: SpdyHeaders) {
    super({ allowHalfOpen: true });
    this.id = id;
    this.headers = headers;
    this.#session = session;
  }

  /** Called by the session for each DATA frame; false means "slow down". */
  deliver(data: Buffer): boolean {
    if (data.length > 0) this.#wantsData = this.push(data);
    return this.#wantsData;
  }

  get wantsData(): boolean {
    return this.#wantsData || this.destroyed;
  }

  override _read(): void {
    if (!this.#wantsData) {
      this.#wantsData = true;
      this.#session.streamCaughtUp();
    }
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error) => void) {
    this.#session.sendData(this.id, chunk, false, callback);
  }

  override _final(callback: (error?: Error) => void): void {
    this.#session.sendData(this.id, Buffer.alloc(0), true, callback);
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.#session.streamDestroyed(this);
    callback(error);
  }
}

export interface SpdySessionOptions {
  /** Called for each stream the peer opens, after it was answered. */
  onStream(stream: SpdyStream): void;
  /** Reports protocol trouble; the session closes itself afterwards. */
  onError?(error: Error): void;
}

/**
 * Emits "close" once, when the transport is gone; every stream is destroyed
 * by then.
 */
export class SpdySession extends EventEmitter {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();
  readonly #writer = new FrameWriter();
  readonly #streams = new Map<number, SpdyStream>();
  readonly #options: SpdySessionOptions;
  #lastPeerStreamId = 0;
  #paused = false;
  #closed = false;
  #goingAway = false;

  constructor(socket: Socket, options: SpdySessionOptions, head?: Buffer) {
    super();
    this.#socket = socket;
    this.#options = options;
    socket.on("data", (chunk: Buffer) => this.#onBytes(chunk));
    socket.on("error", () => this.#teardown());
    socket.on("close", () => this.#teardown());
    socket.on("end", () => {
      // The peer will send nothing more; streams it left open never finish.
      for (const stream of this.#streams.values()) stream.push(null);
    });
    if (head && head.length > 0) queueMicrotask(() => this.#onBytes(head));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Says goodbye (GOAWAY), then half-closes the transport so everything
   * already written is delivered; the peer closes its side in return.
   * Destroys the socket if it has not closed after `graceMs`.
   */
  close(graceMs = 10_000): void {
    if (this.#closed) return;
    if (!this.#goingAway) {
      this.#goingAway = true;
      this.#write(this.#writer.goAway(this.#lastPeerStreamId, goAwayStatus.ok));
    }
    this.#socket.end();
    const timer = setTimeout(() => this.#socket.destroy(), graceMs);
    timer.unref();
  }

  /** Tears the connection down at once: streams are aborted. */
  destroy(): void {
    this.#socket.destroy();
  }

  sendData(streamId: number, data: Buffer, fin: boolean, done: (error?: Error) => void): void {
    if (this.#closed) {
      done(new Error(`SPDY connection closed before stream ${streamId} could write`));
      return;
    }
    let offset = 0;
    let flushed = true;
    do {
      const piece = data.subarray(offset, offset + maxDataChunk);
      offset += piece.length;
      const last = offset >= data.length;
      flushed = this.#write(this.#writer.data(streamId, piece, fin && last));
    } while (offset < data.length);
    if (flushed) done();
    else this.#socket.once("drain", () => done());
  }

  /** A stream's reader drained its buffer: maybe start reading the socket again. */
  streamCaughtUp(): void {
    this.#updateFlow();
  }

  streamDestroyed(stream: SpdyStream): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    const finishedBothWays = stream.writableFinished && stream.readableEnded;
    if (!finishedBothWays && !stream.resetByPeer && !this.#closed) {
      this.#write(this.#writer.rstStream(stream.id, rstStatus.cancel));
    }
    this.#updateFlow();
  }

  #write(bytes: Buffer): boolean {
    if (this.#socket.destroyed || !this.#socket.writable) return true;
    return this.#socket.write(bytes);
  }

  #onBytes(chunk: Buffer): void {
    if (this.#closed) return;
    let frames: Frame[];
    try {
      frames = this.#reader.push(chunk);
    } catch (error) {
      this.#fail(error as Error);
      return;
    }
    for (const frame of frames) this.#onFrame(frame);
    this.#updateFlow();
  }

  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case "synStream":
        this.#onSynStream(frame);
        return;
      case "data": {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) {
          // Late frames for a stream we already reset are expected; others
          // point at a confused peer, but one stream's confusion is not worth
          // the connection.
          if (frame.streamId > this.#lastPeerStreamId) {
            this.#write(this.#writer.rstStream(frame.streamId, rstStatus.invalidStream));
          }
          return;
        }
        stream.deliver(frame.data);
        if (frame.fin) stream.push(null);
        return;
      }
      case "headers": {
        if (frame.fin) this.#streams.get(frame.streamId)?.push(null);
        return;
      }
      case "rstStream": {
        const stream = this.#streams.get(frame.streamId);
        if (stream) {
          stream.resetByPeer = true;
          stream.destroy();
        }
        return;
      }
      case "ping":
        // Our own PINGs would have even ids; we send none, so every PING is
        // the peer's liveness check and is answered unchanged.
        this.#write(this.#writer.ping(frame.id));
        return;
      case "goAway":
        // The peer opens no more streams; the ones running may finish.
        this.#goingAway = true;
        return;
      case "synReply":
        // We never open streams, so a reply can only be a peer bug.
        this.#write(this.#writer.rstStream(frame.streamId, rstStatus.protocolError));
        return;
      default:
        // SETTINGS, WINDOW_UPDATE and unknown control frames: see the flow
        // control note at the top.
        return;
    }
  }

  #onSynStream(frame: Extract<Frame, { type: "synStream" }>): void {
    const id = frame.streamId;
    if (id % 2 === 0 || id <= this.#lastPeerStreamId) {
      const duplicate = this.#streams.has(id);
      this.#write(
        this.#writer.rstStream(id, duplicate ? rstStatus.streamInUse : rstStatus.protocolError),
      );
      return;
    }
    this.#lastPeerStreamId = id;
    if (this.#goingAway || this.#streams.size >= maxConcurrentStreams) {
      this.#write(this.#writer.rstStream(id, rstStatus.refusedStream));
      return;
    }
    const stream = new SpdyStream(this, id, frame.headers);
    this.#streams.set(id, stream);
    this.#write(this.#writer.synReply(id, {}));
    if (frame.unidirectional) stream.end();
    if (frame.fin) stream.push(null);
    this.#options.onStream(stream);
  }

  #updateFlow(): void {
    if (this.#closed) return;
    let behind = false;
    for (const stream of this.#streams.values()) {
      if (!stream.wantsData) behind = true;
    }
    if (behind && !this.#paused) {
      this.#paused = true;
      this.#socket.pause();
    } else if (!behind && this.#paused) {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  #fail(error: Error): void {
    this.#options.onError?.(error);
    const status =
      error instanceof SpdyProtocolError ? goAwayStatus.protocolError : goAwayStatus.internalError;
    this.#write(this.#writer.goAway(this.#lastPeerStreamId, status));
    this.#goingAway = true;
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const stream of [...this.#streams.values()]) stream.destroy();
    this.#streams.clear();
    this.emit("close");
  }
}
