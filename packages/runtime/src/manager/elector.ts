/**
 * What the manager needs from leader election: `leader/`'s `LeaderElector`
 * fits, and so does any other implementation (a test double, another lock).
 *
 * Contract assumed of `run(callbacks, signal)`:
 * - it campaigns until it holds the lease, then calls `onStartedLeading`
 *   with a signal that aborts the moment leadership is lost;
 * - it calls `onStoppedLeading` once leading ends (lost, or `signal` aborted);
 * - it returns when leadership is lost or `signal` aborts, releasing the
 *   lease in the latter case so a standby takes over without waiting for
 *   the lease to expire.
 */
import type { LeaderCallbacks } from "../leader/elector.ts";

export interface Elector {
  run(callbacks: LeaderCallbacks, signal: AbortSignal): Promise<void>;
}
