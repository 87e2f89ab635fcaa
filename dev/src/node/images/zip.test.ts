import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { classesIn, ZipError, zipEntries } from "./zip.ts";

const dir = mkdtempSync(join(tmpdir(), "ballast-zip-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A zip of empty, stored entries, with an archive comment to find the end record behind. */
function zip(names: string[], comment = ""): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const name of names) {
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length;
  }
  const directory = Buffer.concat(centrals);
  const commentBytes = Buffer.from(comment);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(commentBytes.length, 20);
  return Buffer.concat([...locals, directory, end, commentBytes]);
}

test("zipEntries() lists every entry of a jar, behind an archive comment too", () => {
  const path = join(dir, "a.jar");
  const names = ["META-INF/MANIFEST.MF", "kafka/Kafka.class", "kafka/tools/StorageTool$.class"];
  writeFileSync(path, zip(names, "built by a test"));
  assert.deepEqual(zipEntries(path), names);
});

test("classesIn() names the classes of several jars and skips other entries", () => {
  const first = join(dir, "first.jar");
  const second = join(dir, "second.jar");
  writeFileSync(first, zip(["kafka/Kafka.class", "kafka/kafka.properties"]));
  writeFileSync(second, zip(["org/apache/kafka/tools/TopicCommand.class"]));
  assert.deepEqual([...classesIn([first, second])].sort(), [
    "kafka.Kafka",
    "org.apache.kafka.tools.TopicCommand",
  ]);
});

test("zipEntries() rejects a file that is not a zip, naming it", () => {
  const path = join(dir, "not-a.jar");
  writeFileSync(path, "just text, long enough to hold an end record if it were one");
  assert.throws(
    () => zipEntries(path),
    (error: unknown) => {
      assert.ok(error instanceof ZipError);
      assert.match(error.message, /not-a\.jar is not a zip file/);
      return true;
    },
  );
});
