/**
 * Errors of `exec`, one per step that can fail on our side. The API
 * server's own refusals (403, 404, a container that is not running) are
 * `KubeApiError`s, like every other client call, so `isNotFound` and
 * `isForbidden` work on them; these are the rest. Each message names the
 * pod and the command, so a log line says which exec it was.
 */

/** Where a command runs, for messages. */
export interface ExecTarget {
  namespace: string;
  name: string;
  container?: string | undefined;
}

/** `exec ["sh","-c","exit 3"] in Pod ns/name (container c)`. */
export function describeExec(target: ExecTarget, command: readonly string[]): string {
  const container = target.container ? ` (container ${target.container})` : "";
  return `exec ${JSON.stringify(command)} in Pod ${target.namespace}/${target.name}${container}`;
}

/**
 * No exit status within `timeoutMs`; the connection was closed. The command
 * may still be running in the container: closing an exec does not kill it.
 */
export class ExecTimeoutError extends Error {
  override name = "ExecTimeoutError";
  readonly target: ExecTarget;
  readonly command: readonly string[];
  readonly timeoutMs: number;
  constructor(target: ExecTarget, command: readonly string[], timeoutMs: number) {
    super(
      `${describeExec(target, command)}: no exit status after ${timeoutMs}ms (timeoutMs); the connection was closed`,
    );
    this.target = target;
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * The stream broke after the upgrade and before the exit status: the
 * connection dropped, the server broke the WebSocket or channel protocol,
 * or it closed without a status.
 */
export class ExecStreamError extends Error {
  override name = "ExecStreamError";
  readonly target: ExecTarget;
  readonly command: readonly string[];
  constructor(target: ExecTarget, command: readonly string[], why: string, options?: ErrorOptions) {
    super(`${describeExec(target, command)}: ${why}`, options);
    this.target = target;
    this.command = command;
  }
}

/** The command wrote more than `maxOutputBytes` (stdout and stderr together); the connection was closed. */
export class ExecOutputLimitError extends Error {
  override name = "ExecOutputLimitError";
  readonly target: ExecTarget;
  readonly command: readonly string[];
  readonly maxOutputBytes: number;
  constructor(target: ExecTarget, command: readonly string[], maxOutputBytes: number) {
    super(
      `${describeExec(target, command)}: output over ${maxOutputBytes} bytes (maxOutputBytes); the connection was closed`,
    );
    this.target = target;
    this.command = command;
    this.maxOutputBytes = maxOutputBytes;
  }
}
