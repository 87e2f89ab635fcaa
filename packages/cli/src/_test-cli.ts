/**
 * For the CLI's tests: runs `ballast` as a user does, as a child process,
 * and hands back its exit code and output. The environment is scrubbed of
 * KUBECONFIG so a developer's own cluster can never be touched.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const binPath = fileURLToPath(new URL("../bin/ballast.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `input` is written to its stdin; either way stdin then ends, as it does
 * for `ballast … < file` (a command that reads stdin must not wait for ever).
 */
export function ballast(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  input = "",
): Promise<CliResult> {
  const { KUBECONFIG: _mine, ...inherited } = process.env;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [binPath, ...args],
      { env: { ...inherited, NO_COLOR: "1", ...env }, timeout: 120_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(input);
  });
}
