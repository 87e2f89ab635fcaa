/**
 * Errors of the local cluster. Each one is meant to be read by a person at a
 * terminal: it says what went wrong and, in `fix`, the one thing to do about it.
 */
export class DevClusterError extends Error {
  override name = "DevClusterError";
  /** What the user should do, as one sentence or command. */
  readonly fix: string;

  constructor(message: string, fix: string, options?: ErrorOptions) {
    super(message, options);
    this.fix = fix;
  }

  /** The message and the fix, ready to print. */
  explain(): string {
    return `${this.message}\n  → ${this.fix}`;
  }
}
