/**
 * Just enough of the DNS wire format (RFC 1035) to answer A queries: parse one
 * question, build a response. Pure functions, so they are tested on bytes.
 */

export interface Question {
  id: number;
  /** Recursion desired, echoed back. */
  rd: boolean;
  name: string;
  type: number;
  class: number;
  /** Bytes of the question section, echoed back in the answer. */
  section: Buffer;
}

export const TYPE_A = 1;
export const TYPE_AAAA = 28;
export const RCODE_OK = 0;
export const RCODE_FORMERR = 1;
export const RCODE_NXDOMAIN = 3;
export const RCODE_NOTIMP = 4;

export class DnsFormatError extends Error {
  override name = "DnsFormatError";
}

export function parseQuery(packet: Buffer): Question {
  if (packet.length < 12) throw new DnsFormatError("packet shorter than a DNS header");
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) throw new DnsFormatError("not a query");
  if (packet.readUInt16BE(4) !== 1) throw new DnsFormatError("expected exactly one question");
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = packet[offset];
    if (length === undefined) throw new DnsFormatError("name runs past the packet");
    offset += 1;
    if (length === 0) break;
    if (length > 63) throw new DnsFormatError("compressed or oversized label in a question");
    labels.push(packet.subarray(offset, offset + length).toString("ascii"));
    offset += length;
  }
  if (offset + 4 > packet.length) throw new DnsFormatError("question truncated");
  const type = packet.readUInt16BE(offset);
  const klass = packet.readUInt16BE(offset + 2);
  return {
    id,
    rd: Boolean(flags & 0x0100),
    name: labels.join(".").toLowerCase(),
    type,
    class: klass,
    section: packet.subarray(12, offset + 4),
  };
}

/** A response to `question` with A records for `addresses` (and `rcode`). */
export function buildResponse(
  question: Question,
  rcode: number,
  addresses: string[],
  ttl = 5,
): Buffer {
  const answers = addresses.map((address) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // pointer to the name in the question
    record.writeUInt16BE(TYPE_A, 2);
    record.writeUInt16BE(1, 4); // class IN
    record.writeUInt32BE(ttl, 6);
    record.writeUInt16BE(4, 10);
    address.split(".").forEach((octet, i) => {
      record[12 + i] = Number(octet);
    });
    return record;
  });
  const header = Buffer.alloc(12);
  header.writeUInt16BE(question.id, 0);
  // QR=1, AA=1, RD echoed, RA=0.
  header.writeUInt16BE(0x8000 | 0x0400 | (question.rd ? 0x0100 : 0) | (rcode & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  return Buffer.concat([header, question.section, ...answers]);
}

/** A FORMERR answer for a packet we could not parse (id kept when readable). */
export function formatError(packet: Buffer): Buffer {
  const header = Buffer.alloc(12);
  if (packet.length >= 2) header.writeUInt16BE(packet.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | RCODE_FORMERR, 2);
  return header;
}
