/**
 * `ballast psql <cluster> [-- psql arguments]`: runs psql in the pod of
 * the PostgresCluster's primary (status.primary), through the API
 * server's exec, as the superuser.
 *
 * The password stays in the pod: psql connects over TCP to 127.0.0.1 and
 * reads the superuser's password from the passfile the pod's start script
 * wrote from the `<name>-superuser` Secret it mounts. So the password is
 * in no argv, no environment variable, nothing this machine reads or
 * prints; the user needs `pods/exec` on the cluster's pods, not read access
 * to its Secrets.
 *
 * Not interactive: the exec carries no terminal. psql gets a command
 * (`-c`, `-f`), or the script on this process's stdin; with neither and a
 * terminal on stdin, the command says how to open a session with kubectl.
 */
import { CommandError, defineCommand, UsageError } from "../cli.ts";
import {
  kubeOptionArgs,
  kubeOptionHelp,
  kubeOptions,
  namespaceHelp,
  namespaceOption,
  parseTimeout,
  timeoutOption,
  withCluster,
} from "../kubernetes-args.ts";
import {
  followHint,
  getCluster,
  namedCluster,
  type PostgresPackage,
  primaryMoving,
  primaryOf,
} from "./_postgres.ts";

/** psql's short options that take a value (`-c SQL`, `-dapp`); the others are flags. */
const takesValue = new Set("cdfFhLopPRTUv");

/**
 * Whether psql, given `args`, reads its input from stdin: not when it is
 * given a command or a file (other than `-f -`), or only lists databases
 * or prints its version or help.
 */
export function psqlReadsStdin(args: readonly string[]): boolean {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") break;
    if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split(/=(.*)/s);
      if (name === "command" || name === "list" || name === "version" || name === "help")
        return false;
      if (name === "file") {
        const file = inline ?? args[++i];
        if (file !== "-") return false;
      }
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") continue;
    // A cluster of short options: flags, then at most one that takes the rest (or the next argument).
    for (let c = 1; c < arg.length; c++) {
      const flag = arg[c] ?? "";
      if (flag === "l" || flag === "V" || flag === "?") return false;
      if (!takesValue.has(flag)) continue;
      const value = c + 1 < arg.length ? arg.slice(c + 1) : args[++i];
      if (flag === "c") return false;
      if (flag === "f" && value !== "-") return false;
      break;
    }
  }
  return true;
}

/** The command run in the container: psql, connected as the superuser with the pod's passfile. */
export function psqlCommand(pg: PostgresPackage, args: readonly string[]): string[] {
  const { paths, port, users } = pg.resources;
  return [
    "env",
    "PGHOST=127.0.0.1",
    `PGPORT=${port}`,
    `PGUSER=${users.superuser}`,
    "PGDATABASE=postgres",
    // Written by the start script from the mounted <name>-superuser Secret (mode 0600).
    `PGPASSFILE=${paths.run}/passfile`,
    "PGAPPNAME=ballast-psql",
    "PGCONNECT_TIMEOUT=10",
    "psql",
    "--no-password",
    ...args,
  ];
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export const psql = defineCommand({
  name: "psql",
  summary: "run psql on a PostgresCluster's primary, as the superuser",
  usage:
    "ballast psql <cluster> [-n NAMESPACE] [--kubeconfig FILE] [--context NAME] [-- PSQL_ARGS...]",
  options: { ...namespaceOption, ...kubeOptions, ...timeoutOption },
  optionArgs: { ...kubeOptionArgs },
  optionHelp: {
    ...namespaceHelp,
    ...kubeOptionHelp,
    "request-timeout": "give up when psql has not finished in time (default: 300)",
  },
  passthrough: true,
  details: [
    "Runs psql in the primary's pod (the instance status.primary names) through the API",
    "server's exec, connected to the database postgres as the superuser postgres. The password",
    "is the <cluster>-superuser Secret's, read in the pod from the passfile its start script",
    "wrote: it never leaves the pod and is never printed. Arguments after -- are psql's; a",
    "script goes on stdin. Exits with psql's exit code. Needs pods/exec on the cluster's pods.",
    "",
    "Examples:",
    "  ballast psql main -- -c 'SELECT pg_is_in_recovery()'",
    "  ballast psql pgc/main -n data -- -d app -At -c 'SELECT count(*) FROM orders'",
    "  ballast psql main < migrate.sql",
    "",
    "No terminal is attached, so there is no interactive session; without -c, -f or a",
    "script on stdin it prints the kubectl exec command that opens one.",
  ].join("\n"),
  async run({ values, positionals, passthrough }) {
    if (positionals.length > 1) {
      throw new UsageError(
        `one cluster, then psql's arguments after --: got ${positionals.join(" ")} (e.g. ballast psql ${positionals[0]} -- ${positionals.slice(1).join(" ")})`,
      );
    }
    const named = await namedCluster(positionals[0]);
    const { pg } = named;
    const namespace = values.namespace ?? "default";
    const timeoutMs = parseTimeout(values["request-timeout"], 300);
    const wantsStdin = psqlReadsStdin(passthrough);
    const stdin = wantsStdin && !process.stdin.isTTY ? await readStdin() : undefined;
    const runtime = await import("@ballast/runtime");
    const started = Date.now();
    return withCluster(
      values,
      async ({ client }) => {
        const r = await getCluster(client, named, namespace);
        const id = primaryOf(r, namespace);
        const pod =
          r.status?.instances?.find((i) => i.id === id)?.pod ?? pg.resources.names.pod(r, id);
        const command = psqlCommand(pg, passthrough);
        if (wantsStdin && stdin === undefined) {
          throw new CommandError(
            [
              "psql runs here without a terminal: give it a command (-- -c 'SELECT 1'), or a script on stdin.",
              "For an interactive session on the primary:",
              `  kubectl exec -it -n ${namespace} ${pod} -c postgres -- ${command.map(shellWord).join(" ")}`,
            ].join("\n"),
          );
        }
        const moving = primaryMoving(r);
        if (moving) process.stderr.write(`ballast psql: note: ${moving}\n`);
        // psql's share of the deadline ends just before the command's, so
        // that a psql still running is reported as such, not as an API server that does not answer.
        const left = Math.max(1, timeoutMs - (Date.now() - started) - 250);
        try {
          const result = await runtime.exec(client, { namespace, name: pod }, command, {
            container: "postgres",
            timeoutMs: left,
            ...(stdin === undefined ? {} : { stdin }),
          });
          process.stdout.write(result.stdout);
          process.stderr.write(result.stderr);
          return result.exitCode;
        } catch (error) {
          throw explainExecError(error, runtime, {
            name: named.name,
            namespace,
            pod,
            id,
            timeoutMs,
          });
        }
      },
      { timeoutMs },
    );
  },
});

/** A word as a POSIX shell reads it back. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function explainExecError(
  error: unknown,
  runtime: typeof import("@ballast/runtime"),
  where: { name: string; namespace: string; pod: string; id: number; timeoutMs: number },
): unknown {
  const { name, namespace, pod, id, timeoutMs } = where;
  if (error instanceof runtime.ExecTimeoutError) {
    return new CommandError(
      `psql did not finish within ${timeoutMs / 1000}s (--request-timeout); it may still be running in pod ${namespace}/${pod}`,
    );
  }
  if (runtime.isNotFound(error)) {
    return new CommandError(
      `the primary's pod ${namespace}/${pod} (instance ${id}) does not exist: the cluster is failing over or being repaired; see\n${followHint(name, namespace)}`,
    );
  }
  return error;
}
