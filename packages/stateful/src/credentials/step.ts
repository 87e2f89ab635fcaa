/**
 * The credentials step of a member set's pipeline, before any pod is made
 * or compared (pods carry what the credentials derive):
 *
 * 1. Load them (`load`, usually `ensureGeneratedSecret` and keeping the
 *    values on the scope).
 * 2. A Secret in a wrong shape (`InvalidSecretError`) is a Warning event and
 *    `degrade` (the system's status says Degraded, reason InvalidSecret,
 *    naming the Secret and the key); nothing else is done this reconcile,
 *    and it is looked at again after the idle interval. Any other error
 *    fails the reconcile (retried with backoff).
 */
import { Action } from "@ballast/runtime";
import type { StepResult } from "../roll/roll.ts";
import { InvalidSecretError } from "./generated-secret.ts";

export interface CredentialsScope {
  event(reason: string, action: string, note: string, type?: "Normal" | "Warning"): void;
  readonly idleMs: number;
}

export async function loadCredentials(
  scope: CredentialsScope,
  load: () => Promise<void>,
  degrade: (reason: "InvalidSecret", message: string) => Promise<void>,
): Promise<StepResult> {
  try {
    await load();
    return "continue";
  } catch (err) {
    if (!(err instanceof InvalidSecretError)) throw err;
    scope.event("InvalidSecret", "ReadCredentials", err.message, "Warning");
    await degrade("InvalidSecret", err.message);
    return Action.requeueAfter(scope.idleMs);
  }
}
