/**
 * Lists the entries of a jar (a zip file) from its central directory, so an
 * image can see which main classes its jars hold: Kafka moves its tools
 * between packages from one release to the next, and reading the jars answers
 * "which class runs kafka-console-producer.sh in this version" without a
 * table of versions to keep up to date.
 */
import { readFileSync } from "node:fs";

const endOfCentralDirectory = 0x06054b50;
const centralEntry = 0x02014b50;

export class ZipError extends Error {
  override name = "ZipError";
}

/** Entry names of the zip file at `path` (e.g. `kafka/Kafka.class`). */
export function zipEntries(path: string): string[] {
  const data = readFileSync(path);
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment.
  let end = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 0xffff); i--) {
    if (data.readUInt32LE(i) === endOfCentralDirectory) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new ZipError(`${path} is not a zip file: it has no end of central directory`);
  const count = data.readUInt16LE(end + 10);
  let offset = data.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    if (offset + 46 > data.length || data.readUInt32LE(offset) !== centralEntry) {
      throw new ZipError(`${path}: central directory entry ${n} is malformed (zip64 is not read)`);
    }
    const nameLength = data.readUInt16LE(offset + 28);
    const extraLength = data.readUInt16LE(offset + 30);
    const commentLength = data.readUInt16LE(offset + 32);
    names.push(data.toString("utf8", offset + 46, offset + 46 + nameLength));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return names;
}

/** The fully qualified names of the classes in the given jars. */
export function classesIn(jars: string[]): Set<string> {
  const classes = new Set<string>();
  for (const jar of jars) {
    for (const entry of zipEntries(jar)) {
      if (entry.endsWith(".class")) classes.add(entry.slice(0, -6).replaceAll("/", "."));
    }
  }
  return classes;
}
