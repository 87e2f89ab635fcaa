/** bench/results.json: each bench merges its own entries in, leaving the others' as they are. */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export function recordResults(results: Record<string, unknown>): void {
  const file = join(import.meta.dirname, "results.json");
  const all = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  Object.assign(all, results);
  writeFileSync(file, `${JSON.stringify(all, null, 2)}\n`);
}
