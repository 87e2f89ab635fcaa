/**
 * The real ZooKeeper port. Reads go to each member's AdminServer over HTTP
 * (`/commands/<name>`, JSON); reconfig runs the member's own `zkCli.sh`
 * through a `CommandRunner` (pod exec in the operator, a local process in
 * tests), bounded by `timeout` in the command itself, since an exec whose
 * caller gave up keeps running in the container.
 */
import {
  changeApplied,
  type MemberAddress,
  type MemberReport,
  type ReconfigChange,
  type ReconfigOutcome,
  type ServerState,
  type SuperUser,
  type ZooKeeperPort,
} from "./port.ts";

/** Runs argv in `pod` with `stdin`; resolves with the exit code and output whatever the code. */
export type CommandRunner = (
  pod: MemberAddress["pod"],
  argv: readonly string[],
  stdin: string,
) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

export interface ZooKeeperAdminOptions {
  run: CommandRunner;
  /** The AdminServer's port. @default 8080 */
  adminPort?: number | ((member: MemberAddress) => number);
  /** The client port zkCli.sh connects to inside the pod. @default 2181 */
  clientPort?: number | ((member: MemberAddress) => number);
  /** How long one AdminServer request may take. @default 3000 */
  requestTimeoutMs?: number;
  /** Seconds zkCli.sh may run (its own `timeout`). @default 30 */
  reconfigTimeoutSeconds?: number;
  /**
   * How long to wait, after a reconfig, for a member in broadcast to answer
   * with the configuration: removing the leader starts an election, during
   * which nobody answers although the change committed. @default 15000
   */
  readBackTimeoutMs?: number;
  /** The zkCli.sh to run. @default ["zkCli.sh"] */
  cli?: readonly string[];
}

export class ZooKeeperAdmin implements ZooKeeperPort {
  readonly #options: ZooKeeperAdminOptions;

  constructor(options: ZooKeeperAdminOptions) {
    this.#options = options;
  }

  #port(option: number | ((m: MemberAddress) => number) | undefined, m: MemberAddress, d: number) {
    return typeof option === "function" ? option(m) : (option ?? d);
  }

  async #command(member: MemberAddress, name: string): Promise<Record<string, unknown>> {
    const port = this.#port(this.#options.adminPort, member, 8080);
    const res = await fetch(`http://${member.host}:${port}/commands/${name}`, {
      signal: AbortSignal.timeout(this.#options.requestTimeoutMs ?? 3000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${name} on member ${member.id}: HTTP ${res.status}`);
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body.error === "string" && body.error)
      throw new Error(`${name} on member ${member.id}: ${body.error}`);
    return body;
  }

  async report(member: MemberAddress): Promise<MemberReport> {
    let zab: Record<string, unknown>;
    try {
      zab = await this.#command(member, "zabstate");
    } catch (err) {
      return {
        id: member.id,
        reachable: false,
        state: "unknown",
        broadcast: false,
        error: message(err),
      };
    }
    const zxid = typeof zab.last_zxid === "string" ? { zxid: zab.last_zxid } : {};
    // `monitor` and `voting_view` fail while the member has no ZooKeeperServer (no quorum).
    let monitor: Record<string, unknown>;
    let view: Record<string, unknown>;
    try {
      [monitor, view] = await Promise.all([
        this.#command(member, "monitor"),
        this.#command(member, "voting_view"),
      ]);
    } catch (err) {
      return {
        id: member.id,
        reachable: true,
        state: "looking",
        broadcast: false,
        ...zxid,
        error: message(err),
      };
    }
    const state = serverState(monitor.server_state);
    const peer = String(monitor.peer_state ?? "");
    const synced =
      state === "leader"
        ? {
            syncedVotingFollowers:
              num(monitor.synced_followers) - num(monitor.synced_non_voting_followers),
          }
        : {};
    return {
      id: member.id,
      reachable: true,
      state,
      broadcast: peer.endsWith("broadcast"),
      ...zxid,
      ...synced,
      config: votingView(view),
    };
  }

  async reconfig(
    via: MemberAddress,
    change: ReconfigChange,
    readBack: readonly MemberAddress[],
    superUser: SuperUser,
  ): Promise<ReconfigOutcome> {
    const port = this.#port(this.#options.clientPort, via, 2181);
    const argv = [
      "timeout",
      String(this.#options.reconfigTimeoutSeconds ?? 30),
      ...(this.#options.cli ?? ["zkCli.sh"]),
      "-server",
      `127.0.0.1:${port}`,
    ];
    const command =
      change.kind === "add" ? `reconfig -add ${change.line}` : `reconfig -remove ${change.id}`;
    const stdin = `addauth digest super:${superUser.password}\n${command}\nquit\n`;
    let detail: string;
    try {
      const out = await this.#options.run(via.pod, argv, stdin);
      detail = lastLines(`${out.stdout}\n${out.stderr}`, out.exitCode);
    } catch (err) {
      detail = message(err);
    }
    if (superUser.password) detail = detail.replaceAll(superUser.password, "<password>");
    // Whatever the command said: the ensemble's configuration is the answer,
    // once a member serves again (an election may follow the change).
    const deadline = Date.now() + (this.#options.readBackTimeoutMs ?? 15_000);
    let voters = await this.readVoters(readBack);
    while (!voters && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      voters = await this.readVoters(readBack);
    }
    if (!voters) return { applied: false, detail: `${detail}; no member answered afterwards` };
    return { applied: changeApplied(change, voters), voters, detail };
  }

  /**
   * The voters of the newest configuration any member serves. After a
   * leader's removal some members may still hold the older one for a
   * moment; the leader of the new configuration has the newest.
   */
  async readVoters(members: readonly MemberAddress[]): Promise<number[] | undefined> {
    const reports = await Promise.all(members.map((m) => this.report(m)));
    const leader = reports.find((r) => r.state === "leader" && r.broadcast && r.config);
    const any = leader ?? reports.find((r) => r.broadcast && r.config);
    if (!any?.config) return undefined;
    return [...any.config]
      .filter(([, t]) => t === "participant")
      .map(([id]) => id)
      .sort((a, b) => a - b);
  }
}

function serverState(value: unknown): ServerState {
  return value === "leader" || value === "follower" || value === "observer" ? value : "unknown";
}

function votingView(body: Record<string, unknown>): Map<number, "participant" | "observer"> {
  const out = new Map<number, "participant" | "observer">();
  const current = body.current_config;
  if (current && typeof current === "object") {
    for (const [id, server] of Object.entries(
      current as Record<string, { learner_type?: string }>,
    )) {
      out.set(Number(id), server?.learner_type === "observer" ? "observer" : "participant");
    }
  }
  return out;
}

function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The CLI's last meaningful lines (it logs a lot before the answer). */
function lastLines(output: string, exitCode: number): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at ") && !/^\d{4}-\d\d-\d\d /.test(l));
  return `exit ${exitCode}: ${lines.slice(-3).join(" | ")}`;
}
