/**
 * The remote-command channel protocol the API server speaks over a WebSocket
 * (`v5.channel.k8s.io`, `v4.channel.k8s.io`): every binary message starts
 * with one byte naming its channel — 0 stdin, 1 stdout, 2 stderr, 3 the
 * error channel (one JSON `Status` when the command is over), 4 resize — and
 * v5 adds 255, "close the stream named in the next byte", which is how stdin
 * reaches end-of-file without closing the connection. Pure functions.
 */
import type { Status } from "../client/types.ts";

export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** In order of preference. v4 only for API servers older than 1.30 (no stream close). */
export const channelProtocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"] as const;

/** Only v5 can tell the server that stdin has ended. */
export function canCloseStdin(protocol: string): boolean {
  return protocol === "v5.channel.k8s.io";
}

/**
 * The API server reads each WebSocket frame as one message (x/net/websocket
 * does not reassemble fragments), so stdin goes as whole messages, each with
 * its channel byte, never fragmented; this size keeps any one small.
 */
export const stdinChunkBytes = 32 * 1024;

/** Stdin as channel-0 messages, then (v5) the message that closes it. */
export function stdinMessages(data: Uint8Array, closeAfter: boolean): Buffer[] {
  const messages: Buffer[] = [];
  for (let at = 0; at < data.length; at += stdinChunkBytes) {
    const part = data.subarray(at, at + stdinChunkBytes);
    const message = Buffer.allocUnsafe(1 + part.length);
    message[0] = Channel.stdin;
    message.set(part, 1);
    messages.push(message);
  }
  if (closeAfter) messages.push(Buffer.from([Channel.close, Channel.stdin]));
  return messages;
}

/**
 * How a command ended, read from the error channel's Status: an exit code
 * (0 for Success, N for NonZeroExitCode with an `ExitCode` cause), or the
 * Status of a failure to run it at all (the container is not running, the
 * node is unreachable), which the caller throws.
 */
export type Outcome = { type: "exited"; exitCode: number } | { type: "failed"; status: Status };

export function outcomeOf(text: string): Outcome {
  let status: Status;
  try {
    status = JSON.parse(text) as Status;
  } catch {
    // v1-v3 wrote plain text here; a server that does is reporting a failure.
    return { type: "failed", status: failure(text.trim() || "(empty error channel message)") };
  }
  if (typeof status !== "object" || status === null) {
    return { type: "failed", status: failure(`unexpected error channel message ${text}`) };
  }
  if (status.status === "Success") return { type: "exited", exitCode: 0 };
  if (status.reason === "NonZeroExitCode") {
    const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
    if (cause?.message && /^\d{1,3}$/.test(cause.message)) {
      return { type: "exited", exitCode: Number(cause.message) };
    }
  }
  return { type: "failed", status: { ...status, kind: "Status", status: "Failure" } };
}

function failure(message: string): Status {
  return { kind: "Status", status: "Failure", message };
}
