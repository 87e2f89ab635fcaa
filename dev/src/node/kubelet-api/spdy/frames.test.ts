import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { constants, createDeflate, type Deflate, inflateSync } from "node:zlib";
import fc from "fast-check";
import { spdy3Dictionary } from "./dictionary.ts";
import {
  adler32,
  encodeHeaderBlock,
  type Frame,
  FrameReader,
  FrameWriter,
  HeaderDeflater,
  HeaderInflater,
  SpdyProtocolError,
} from "./frames.ts";

/** Compresses like Go's SPDY framer: one zlib stream, a sync flush per block. */
function goLikeCompressor(): { block(raw: Buffer): Promise<Buffer>; deflate: Deflate } {
  const deflate = createDeflate({ level: 9, dictionary: spdy3Dictionary });
  const chunks: Buffer[] = [];
  deflate.on("data", (c: Buffer) => chunks.push(c));
  return {
    deflate,
    block: (raw) =>
      new Promise((resolve) => {
        deflate.write(raw);
        deflate.flush(constants.Z_SYNC_FLUSH, () => {
          resolve(Buffer.concat(chunks.splice(0)));
        });
      }),
  };
}

function controlFrame(type: number, flags: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8003, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([head, body]);
}

function synStream(id: number, compressedHeaders: Buffer): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(id, 0);
  return controlFrame(1, 0, Buffer.concat([fixed, compressedHeaders]));
}

describe("spdy framing", () => {
  it("the dictionary has the checksum SPDY/3 peers announce", () => {
    // The Adler-32 a Go peer writes after FDICT in its first header block.
    assert.equal(spdy3Dictionary.length, 1423);
    assert.equal(adler32(spdy3Dictionary).toString(16), "e3c6a7c2");
  });

  it("FrameReader inflates header blocks compressed with a shared, dictionary-primed zlib stream", async () => {
    const compressor = goLikeCompressor();
    const reader = new FrameReader();
    const headerSets = [
      { streamtype: "error" },
      { streamtype: "stdin" },
      { streamtype: "stdout" },
      { streamtype: "data", port: "8080", requestid: "0" },
      // Repeats compress into back-references to earlier blocks.
      { streamtype: "data", port: "8080", requestid: "1" },
    ];
    const frames: Frame[] = [];
    for (const [i, headers] of headerSets.entries()) {
      const compressed = await compressor.block(encodeHeaderBlock(headers));
      frames.push(...reader.push(synStream(2 * i + 1, compressed)));
    }
    compressor.deflate.close();
    assert.deepEqual(
      frames.map((f) => (f.type === "synStream" ? [f.streamId, f.headers] : f.type)),
      headerSets.map((h, i) => [2 * i + 1, Object.assign(Object.create(null), h)]),
    );
  });

  it("FrameReader reassembles frames split at any byte", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }),
        (payloads, cuts) => {
          const writer = new FrameWriter();
          const bytes = Buffer.concat(
            payloads.map((p, i) => writer.data(2 * i + 1, Buffer.from(p), i % 2 === 0)),
          );
          const reader = new FrameReader();
          const got: Frame[] = [];
          let offset = 0;
          for (let i = 0; offset < bytes.length; i++) {
            const size = cuts[i % cuts.length] ?? 1;
            got.push(...reader.push(bytes.subarray(offset, offset + size)));
            offset += size;
          }
          assert.deepEqual(
            got,
            payloads.map((p, i) => ({
              type: "data",
              streamId: 2 * i + 1,
              fin: i % 2 === 0,
              data: Buffer.from(p),
            })),
          );
        },
      ),
    );
  });

  it("what FrameWriter sends, a zlib inflater primed with the dictionary reads", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.dictionary(fc.stringMatching(/^[a-z-]{1,12}$/), fc.string({ maxLength: 200 })),
          { minLength: 1, maxLength: 6 },
        ),
        (headerSets) => {
          const writer = new FrameWriter();
          const reader = new FrameReader();
          for (const [i, headers] of headerSets.entries()) {
            const [frame] = reader.push(writer.synReply(2 * i + 1, headers, i === 0));
            assert.deepEqual(frame, {
              type: "synReply",
              streamId: 2 * i + 1,
              fin: i === 0,
              headers: Object.assign(Object.create(null), headers),
            });
          }
        },
      ),
    );
  });

  it("HeaderDeflater output is one zlib stream a standard inflater reads across blocks", () => {
    const deflater = new HeaderDeflater();
    const blocks = [Buffer.from("first block"), Buffer.alloc(70_000, 0x62), Buffer.from("third")];
    const wire = Buffer.concat(blocks.map((b) => deflater.deflate(b)));
    const inflated = inflateSync(wire, {
      dictionary: spdy3Dictionary,
      finishFlush: constants.Z_SYNC_FLUSH,
    });
    assert.deepEqual(inflated, Buffer.concat(blocks));
  });

  it("HeaderDeflater splits blocks larger than a stored block holds", () => {
    const raw = Buffer.alloc(200_000, 0x61);
    const inflater = new HeaderInflater();
    assert.deepEqual(inflater.inflate(new HeaderDeflater().deflate(raw)), raw);
  });

  it("control frames round-trip: RST_STREAM, PING, GOAWAY, SETTINGS", () => {
    const writer = new FrameWriter();
    const reader = new FrameReader();
    const frames = reader.push(
      Buffer.concat([
        writer.rstStream(7, 5),
        writer.ping(0xdeadbeef),
        writer.goAway(9, 1),
        writer.settings([{ id: 7, value: 65536 }]),
      ]),
    );
    assert.deepEqual(frames, [
      { type: "rstStream", streamId: 7, status: 5 },
      { type: "ping", id: 0xdeadbeef },
      { type: "goAway", lastGoodStreamId: 9, status: 1 },
      { type: "settings", entries: [{ flags: 0, id: 7, value: 65536 }] },
    ]);
  });

  it("FrameReader refuses another SPDY version, garbage headers and oversized control frames", () => {
    const v2 = controlFrame(6, 0, Buffer.alloc(4));
    v2.writeUInt16BE(0x8002, 0);
    assert.throws(() => new FrameReader().push(v2), SpdyProtocolError);
    assert.throws(
      () => new FrameReader().push(synStream(1, Buffer.from([0x78, 0x01, 0xff, 0xff, 0xff]))),
      SpdyProtocolError,
    );
    const huge = Buffer.alloc(8);
    huge.writeUInt16BE(0x8003, 0);
    huge.writeUInt16BE(1, 2);
    huge.writeUIntBE(0xffffff, 5, 3);
    assert.throws(() => new FrameReader({ maxControlFrame: 1024 }).push(huge), /exceeds/);
  });
});
