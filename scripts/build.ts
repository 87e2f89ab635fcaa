/**
 * Builds what ships: each operator as one JavaScript file, its dependencies
 * included, so a container holds Node, that file and nothing else. The
 * operators and their entry points are their descriptors' (the registry in
 * packages/cli/src/operators.ts): `<name>-operator.mjs` from each `entry`.
 *
 *   node scripts/build.ts                  writes dist/<name>-operator.mjs (+ .map) for every operator
 *   node scripts/build.ts --operator kafka only that one (repeatable)
 *   node scripts/build.ts --out DIR        somewhere else (tests use a temporary directory)
 *
 * Why a bundle and not the TypeScript sources that `npm test` runs: measured
 * on the cache benchmark (bench/README.md, F2), a process that strips types
 * at start-up carries the compiler (~17 MiB of RSS), and resolving hundreds
 * of small ES modules (typebox alone is 709 files) costs more again; the
 * bundle holds ~1 MB of source, of which V8 compiles only what runs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { loadOperators, type OperatorName } from "../packages/cli/src/operators.ts";

const root = resolve(dirname(new URL(import.meta.url).pathname), "..");

/**
 * The Node flags operators run with (the Dockerfile's ENTRYPOINT; a test keeps
 * the two equal). A young generation of at most 2 MiB per semi-space instead
 * of V8's 16–32: an operator's live data is long-lived (caches), so a large
 * nursery only holds garbage between scavenges and is never given back.
 * Measured in bench F1–F3 under the same flags.
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=2"];

/** Bundle name (`<operator>-operator`) → absolute path of the operator's entry point. */
export const operators = Object.fromEntries(
  (await loadOperators()).map((operator) => [`${operator.name}-operator`, operator.entry]),
) as Record<`${OperatorName}-operator`, string>;

/**
 * Bundles one entry point into an ES module. CommonJS dependencies
 * (prom-client) call `require` for Node's built-ins, which an ES module does
 * not have; the banner gives them one. `externalPackages` leaves every npm
 * package to be loaded from node_modules as usual (the benchmark's view of
 * a library as most projects run it).
 */
export async function bundle(
  entry: string,
  outfile: string,
  options: { externalPackages?: boolean } = {},
): Promise<void> {
  mkdirSync(dirname(outfile), { recursive: true });
  const result = await build({
    entryPoints: [resolve(root, entry)],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node26",
    // Whitespace and syntax only: names stay, so stack traces stay readable.
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    legalComments: "none",
    metafile: true,
    banner: {
      js: "import { createRequire as __ballastRequire } from 'node:module'; const require = __ballastRequire(import.meta.url);",
    },
    // Kafka's client reads its WebAssembly from a file beside its module;
    // the package's bundler entry carries it inline instead.
    alias: { "@platformatic/wasm-utils": "@platformatic/wasm-utils/bundled" },
    ...(options.externalPackages ? { packages: "external" as const } : {}),
    logLevel: "warning",
  });
  if (!options.externalPackages) {
    writeFileSync(`${outfile}.licenses.txt`, licenses(Object.keys(result.metafile.inputs)));
  }
}

/**
 * The licence of every npm package inside a bundle, which their licences
 * (MIT, Apache-2.0, ISC) ask to travel with the code.
 */
function licenses(inputs: readonly string[]): string {
  const packageDirs = new Set<string>();
  for (const input of inputs) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (match?.[1]) packageDirs.add(resolve(root, match[1]));
  }
  const sections: string[] = [];
  for (const dir of [...packageDirs].sort()) {
    const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
      name: string;
      version: string;
      license?: string;
    };
    const file = readdirSync(dir).find((f) => /^(licen[cs]e|copying)/i.test(f));
    const text = file && existsSync(join(dir, file)) ? readFileSync(join(dir, file), "utf8") : "";
    sections.push(
      `${manifest.name}@${manifest.version} (${manifest.license ?? "no licence field"})\n\n${text.trim() || "(no licence file in the package)"}`,
    );
  }
  return `${sections.join(`\n\n${"-".repeat(72)}\n\n`)}\n`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { out: { type: "string" }, operator: { type: "string", multiple: true } },
  });
  const out = resolve(values.out ?? join(root, "dist"));
  const only = values.operator?.flatMap((o) => o.split(",")).filter(Boolean);
  const wanted = only?.length ? await loadOperators(only) : undefined;
  for (const [name, entry] of Object.entries(operators)) {
    if (wanted && !wanted.some((o) => `${o.name}-operator` === name)) continue;
    const outfile = join(out, `${name}.mjs`);
    await bundle(entry, outfile);
    console.log(`built ${outfile}`);
  }
}
