/**
 * The `ballast` command: `install`, `run`, `status` and `roll` work with the
 * operators on any cluster; `switchover` and `psql` with a PostgresCluster;
 * `ballast dev …` runs the local one.
 */
import { DevClusterError } from "@ballast/dev";
import { type Command, CommandError, helpText, parse, UsageError } from "./cli.ts";
import { devCommands } from "./commands/dev.ts";
import { install } from "./commands/install.ts";
import { psql } from "./commands/psql.ts";
import { roll } from "./commands/roll.ts";
import { run } from "./commands/run.ts";
import { status } from "./commands/status.ts";
import { switchover } from "./commands/switchover.ts";

const commands: Command[] = [
  install,
  run,
  status,
  roll,
  switchover,
  psql,
  ...devCommands,
] as Command[];

function overview(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    "ballast — operators for stateful data systems on Kubernetes",
    "",
    "Usage: ballast <command> [options]",
    "",
    "Commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Run `ballast <command> --help` for a command's options.",
  ].join("\n");
}

export async function main(argv: string[]): Promise<number> {
  // The longest command name that prefixes argv wins ("dev up" over "dev").
  const match = commands
    .filter((c) => {
      const words = c.name.split(" ");
      return words.every((w, i) => argv[i] === w);
    })
    .sort((a, b) => b.name.length - a.name.length)[0];

  if (!match) {
    const asked = argv.filter((a) => !a.startsWith("-")).join(" ");
    if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
      console.log(overview());
      return 0;
    }
    const group = commands.filter((c) => c.name.startsWith(`${argv[0]} `));
    if (group.length > 0 && (argv.length === 1 || argv[1] === "--help")) {
      console.log(overview());
      return argv.length === 1 ? 2 : 0;
    }
    console.error(`ballast: unknown command "${asked}".\n\n${overview()}`);
    return 2;
  }

  const rest = argv.slice(match.name.split(" ").length);
  try {
    const parsed = parse(match, rest);
    if (parsed === "help") {
      console.log(helpText(match));
      return 0;
    }
    return await match.run(parsed);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`ballast ${match.name}: ${error.message}\nUsage: ${match.usage}`);
      return 2;
    }
    if (error instanceof CommandError) {
      console.error(`ballast ${match.name}: ${error.message}`);
      return 1;
    }
    if (error instanceof DevClusterError) {
      console.error(`ballast ${match.name}: ${error.explain()}`);
      return 1;
    }
    throw error;
  }
}
