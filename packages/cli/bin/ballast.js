#!/usr/bin/env node
// Entry point of the `ballast` command. The sources are TypeScript that Node
// runs directly (type stripping, Node ≥ 23.6). Under npm/npx the project's own
// Node LTS comes first on PATH; when an older Node runs this file directly, we
// hand over to the project's Node instead of failing on the syntax.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 23 || (major === 23 && minor < 6)) {
  const projectNode = join(here, "..", "..", "..", "node_modules", ".bin", "node");
  if (!existsSync(projectNode)) {
    console.error(
      `ballast: Node ${process.versions.node} cannot run TypeScript. Run \`npm ci\` in the repository (it installs the project's Node LTS), then use \`npx ballast\`.`,
    );
    process.exit(1);
  }
  const result = spawnSync(
    projectNode,
    [fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    {
      stdio: "inherit",
    },
  );
  process.exit(result.status ?? 1);
}
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
