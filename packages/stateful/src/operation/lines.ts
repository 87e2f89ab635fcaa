/**
 * The operation as `ballast status` shows it, for every member set: what
 * runs, why, since when, how far along (the one progress function), who is
 * restarting, and what it waits for.
 */
import type { StatusViewOptions } from "@ballast/runtime";
import { ago, fields, paint, progressBar } from "@ballast/runtime/text";
import { type Operation, operationProgress } from "./operation.ts";

export interface OperationWords {
  /** How a member is named, e.g. `node 2`. */
  member(id: number): string;
  /** What a scale operation counts, e.g. "partition moves done". @default "data moves done" */
  moves?: string;
  /** What a roll counts, e.g. "nodes restarted". @default "members restarted" */
  restarts?: string;
}

export function operationLines(
  op: Operation,
  options: StatusViewOptions,
  words: OperationWords,
): string[] {
  const { done, total } = operationProgress(op);
  const since = ago(op.startedAt, options.now);
  const roll = op.type === "Roll" ? op : undefined;
  const unit = roll ? (words.restarts ?? "members restarted") : (words.moves ?? "data moves done");
  const list = (ids: readonly number[] | undefined) =>
    ids?.length ? ids.map(words.member).join(", ") : undefined;
  return [
    `Operation: ${paint(options.style, "bold", op.type)}`,
    ...fields([
      ["Reason", op.reason],
      ["Since", since ? `${op.startedAt} (${since})` : op.startedAt],
      ["Progress", `${progressBar(done, total)} ${unit}`],
      ["Restarting", roll?.current === undefined ? undefined : words.member(roll.current)],
      ["Done", list(roll?.done)],
      ["Pending", list(roll?.pending)],
      ["Adding", op.type === "ScaleUp" ? list(op.adding) : undefined],
      ["Removing", op.type === "ScaleDown" ? list(op.removing) : undefined],
      ["Waiting for", op.waitingFor ? paint(options.style, "yellow", op.waitingFor) : "nothing"],
    ]),
  ];
}
