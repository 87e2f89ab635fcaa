/**
 * An error that retrying cannot fix (an invalid spec, a missing permission the
 * operator will never gain). The default error policy stops retrying it; the
 * object is reconciled again only when it changes.
 */

export class TerminalError extends Error {
  override name = "TerminalError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** True if `error`, or any error in its `cause` chain, is a `TerminalError`. */
export function isTerminalError(error: unknown): boolean {
  const seen = new Set<unknown>();
  for (let e = error; e instanceof Error && !seen.has(e); e = e.cause) {
    if (e instanceof TerminalError) return true;
    seen.add(e);
  }
  return false;
}
