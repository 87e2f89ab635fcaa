/**
 * The ACL commands the operator sends for application users, on one
 * member at a time, over the shared session discipline (admin/session.ts:
 * a fresh authenticated connection, short timeouts, secrets redacted).
 *
 * - `check`: each user's rules set on a throwaway user that is `off`
 *   (nobody can log in as it) and deleted again, so a rule Redis refuses is
 *   found before the real user or the users' file changes.
 * - `apply`: `ACL SETUSER` of every user (reset first: what the spec no
 *   longer grants is taken away), `ACL DELUSER` of those dropped; then
 *   `ACL GETUSER` of each to confirm it is there and on.
 *
 * ACL changes are not replicated: each member is told itself.
 */
import { randomBytes } from "node:crypto";
import type { RedisAddress } from "../admin/port.ts";
import { RedisPortError } from "../admin/port.ts";
import { Sessions, type SessionTarget } from "../admin/session.ts";
import { type DesiredUser, ruleTokens, setUserArgs } from "./plan.ts";

/** What the controllers need (a fake in act-layer tests). */
export interface AclPort {
  /** Undefined when Redis accepts every user's rules; else the user and Redis's reason. */
  check(
    target: AclTarget,
    users: readonly DesiredUser[],
  ): Promise<{ user: string; message: string } | undefined>;
  apply(target: AclTarget, users: readonly DesiredUser[], remove: readonly string[]): Promise<void>;
}

export interface AclTarget {
  address: RedisAddress;
  /** How messages name it, e.g. "member 2". */
  what: string;
}

export class RedisAcl implements AclPort {
  readonly #password: string;
  readonly #sessions: Sessions;

  /** `password`: the default user's, which the operator authenticates with. */
  constructor(password: string, users: readonly DesiredUser[] = []) {
    this.#password = password;
    this.#sessions = new Sessions([password, ...users.map((u) => u.password)]);
  }

  #target(t: AclTarget): SessionTarget {
    return { address: t.address, password: this.#password, what: t.what };
  }

  async check(
    target: AclTarget,
    users: readonly DesiredUser[],
  ): Promise<{ user: string; message: string } | undefined> {
    const probe = `ballast-check-${randomBytes(4).toString("hex")}`;
    return this.#sessions.run(this.#target(target), "ACL SETUSER (check)", async (c) => {
      for (const user of users) {
        try {
          await c.call("ACL", ["SETUSER", probe, "reset", "off", ...ruleTokens(user.rules)]);
        } catch (err) {
          return {
            user: user.name,
            message: this.#sessions.redact(err instanceof Error ? err.message : String(err)),
          };
        } finally {
          await c.call("ACL", ["DELUSER", probe]).catch(() => undefined);
        }
      }
      return undefined;
    });
  }

  async apply(
    target: AclTarget,
    users: readonly DesiredUser[],
    remove: readonly string[],
  ): Promise<void> {
    await this.#sessions.run(this.#target(target), "ACL SETUSER", async (c) => {
      for (const user of users) await c.call("ACL", ["SETUSER", ...setUserArgs(user)]);
      if (remove.length > 0) await c.call("ACL", ["DELUSER", ...remove]);
      for (const user of users) {
        const got = (await c.call("ACL", ["GETUSER", user.name])) as unknown[] | null;
        const flags = got ? got[got.indexOf("flags") + 1] : undefined;
        if (!Array.isArray(flags) || !flags.includes("on"))
          throw new RedisPortError(
            "error",
            `${target.address.host}:${target.address.port}`,
            `ACL GETUSER ${user.name} on ${target.what}: the user is not there, or not on, after ACL SETUSER`,
          );
      }
    });
  }
}
