/**
 * A small command framework: every command declares its usage, options and
 * help text in one place, so `--help` exists everywhere and errors name the
 * command that failed.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Command<O extends Options = Options> {
  /** e.g. "dev up" */
  name: string;
  summary: string;
  usage: string;
  /** Described options; `--help` is added to every command. */
  options: O;
  optionHelp?: Record<string, string>;
  /** What a string option's value is called in the help, e.g. `file` for `--kubeconfig <file>`. */
  optionArgs?: Record<string, string>;
  details?: string;
  /**
   * Takes what follows `--` as another program's arguments (`passthrough`),
   * unread: neither options nor `--help` there are the command's own.
   * Without it, `--` only ends the options, as usual.
   */
  passthrough?: boolean;
  run(args: ParsedArgs<O>): Promise<number>;
}

export interface ParsedArgs<O extends Options> {
  values: ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>["values"];
  positionals: string[];
  /** What followed `--`, for a command with `passthrough`; otherwise empty. */
  passthrough: string[];
}

/** Thrown for a usage mistake: printed with the command's usage line. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * A failure the user can act on (a missing file, an object that does not
 * exist): printed as one line naming the command, exit code 1, no stack.
 */
export class CommandError extends Error {
  override name = "CommandError";
}

export function defineCommand<O extends Options>(command: Command<O>): Command<O> {
  return command;
}

export function helpText(command: Command): string {
  const lines = [`${command.summary}`, "", `Usage: ${command.usage}`];
  const described = Object.entries(command.options);
  if (described.length > 0) {
    lines.push("", "Options:");
    for (const [flag, spec] of described) {
      const arg = spec.type === "string" ? ` <${command.optionArgs?.[flag] ?? flag}>` : "";
      const short = spec.short ? `-${spec.short}, ` : "";
      const help = command.optionHelp?.[flag] ?? "";
      const left = `  ${short}--${flag}${arg}`;
      lines.push(`${left.length < 34 ? left.padEnd(34) : `${left}  `}${help}`);
    }
  }
  lines.push(`${"  --help".padEnd(34)}show this help`);
  if (command.details) lines.push("", command.details);
  return lines.join("\n");
}

export function parse<O extends Options>(
  command: Command<O>,
  argv: string[],
): ParsedArgs<O> | "help" {
  const end = command.passthrough ? argv.indexOf("--") : -1;
  const own = end === -1 ? argv : argv.slice(0, end);
  const passthrough = end === -1 ? [] : argv.slice(end + 1);
  if (own.includes("--help") || own.includes("-h")) return "help";
  try {
    const { values, positionals } = parseArgs({
      args: own,
      options: command.options,
      allowPositionals: true,
      strict: true,
    });
    return { values, positionals, passthrough };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
