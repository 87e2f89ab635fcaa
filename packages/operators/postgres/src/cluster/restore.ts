/**
 * Restore (spec.bootstrap.recovery): a new cluster born from a Backup,
 * replayed to a point in time. Runs only until the bootstrap is recorded
 * (status.systemIdentifier); docs/restore.md is the user's page. Steps,
 * each reconcile:
 *
 * 1. The plan (backup/restore-plan.ts `planRestore`): the Backup named
 *    must exist and be Completed (else Degraded, waiting, saying so), with
 *    its repository recorded; spec.backup must name the Backup's endpoint
 *    and bucket — the source is read through the restoring cluster's own
 *    object store and credentials, with the source's path and stanza from
 *    the Backup's status — and must not be the source's own repository.
 *    What cannot be restored is Degraded with the field and the fix, and
 *    nothing is made.
 * 2. The first instance's pod exists: the restore is under way; the
 *    pipeline goes on (objects, observe) to step 5.
 * 3. Otherwise what the check needs: `<name>-pgbackrest` rendered from
 *    spec.backup's credentials (cluster/backup.ts `syncBackup`, which
 *    says in BackupReady what is missing) and the ConfigMap (its
 *    pgbackrest.conf).
 * 4. The target: a short-lived pod `<name>-restore-check` (no claim, no
 *    Service selects it) runs nothing but sleep; `pgbackrest info` of the
 *    source's stanza is run in it by exec, the target is checked against
 *    it (`restoreTargetProblem`: after the Backup's end, before now and
 *    the last archived WAL), and the pod deleted. A target outside the
 *    window is Degraded `RestoreTargetUnreachable` (asked again at the
 *    idle requeue: the archive grows), with no instance, claim or data
 *    made; an `info` that fails is Degraded `RestoreCannotReadRepository`
 *    with pgBackRest's error, asked again the same way in a new pod. Passed, the rest of the
 *    pipeline makes the first instance's pod with the restore command
 *    (`restoreShellCommand`): its start script runs `pgbackrest restore`
 *    into `$PGDATA.restore`, renames it into place and starts the server,
 *    which replays to the target and promotes.
 * 5. After the observe step (`restoredPrimary`, before bootstrap.ts):
 *    once that server answers out of recovery (asked by psql in its
 *    container, over the socket, as the OS user: the operator's passwords
 *    are not the restored server's yet): the roles the operator logs in
 *    as get THIS cluster's passwords, read by psql from the mounted Secret
 *    files (`\set x \`cat file\``: no password on a command line, in the
 *    environment or in a log), and the source's synchronous_standby_names
 *    is reset (it names the source's pods: every commit would wait for
 *    them). Then the pipeline goes on: bootstrap.ts records the system
 *    identifier (the source's) and the new timeline, and the other
 *    instances clone it — their starts override what the restore left in
 *    postgresql.auto.conf (resources.ts, `recoveryOverrides`).
 *
 * The restored cluster archives into its own stanza and path
 * (cluster/backup.ts makes the stanza once the promoted primary serves).
 */
import { Action, exec, isNotFound } from "@ballast/runtime";
import type { PodLike, StepResult } from "@ballast/stateful";
import { Backup } from "../backup/api.ts";
import {
  classifyPgbackrestFailure,
  infoArgs,
  infoFailure,
  parseInfo,
  repoPathOf,
  stanzaOf,
} from "../backup/pgbackrest.ts";
import {
  planRestore,
  type RestorePlan,
  restoreShellCommand,
  restoreTargetProblem,
} from "../backup/restore-plan.ts";
import { configMap, names, paths, port, restoreCheckPod, users } from "../resources.ts";
import { syncBackup } from "./backup.ts";
import { observe } from "./observe.ts";
import type { PostgresScope } from "./scope.ts";

type Restoring = Extract<RestorePlan, { kind: "restore" }>;

const Pod = { apiVersion: "v1", kind: "Pod" } as const;

export async function restore(s: PostgresScope): Promise<StepResult> {
  const recovery = s.r.spec.bootstrap?.recovery;
  if (!recovery || s.pg.systemIdentifier) return "continue";
  // 1.
  const backup = await s.read<Backup>(Backup, recovery.backup.name);
  const plan = planRestore(
    {
      namespace: s.namespace,
      recovery,
      objectStore: s.r.spec.backup?.objectStore,
      own: { stanza: stanzaOf(s.r), repoPath: repoPathOf(s.r) },
    },
    backup,
  );
  const first = s.members()?.[0]?.id ?? 0;
  // Under way already: the pipeline goes on, whatever became of the Backup since.
  if (plan.kind !== "restore" && s.pod(first)) {
    s.restore = {
      command: "",
      summary: `instance ${first} is restoring (spec.bootstrap.recovery)`,
    };
    return "continue";
  }
  if (plan.kind !== "restore") {
    await s.writeStatus({ degraded: { reason: plan.reason, message: plan.message } });
    return Action.requeueAfter(plan.kind === "wait" ? s.busyMs : s.idleMs);
  }
  s.restore = {
    command: restoreShellCommand(stanzaOf(s.r), plan, paths.pgdata),
    summary: `instance ${first} is restoring backup ${plan.label}${targetText(plan)} (pgbackrest restore, then WAL replay; its pod's log says how far)`,
  };
  // 2.
  if (s.pod(first)) return "continue";
  // 3.
  await syncBackup(s);
  const wired = s.status.conditions?.find((c) => c.type === "BackupReady");
  if (wired && (wired.reason === "InvalidObjectStore" || wired.reason === "CredentialsMissing")) {
    await s.writeStatus({
      degraded: { reason: "RestoreCannotReadRepository", message: wired.message ?? "" },
    });
    return Action.requeueAfter(s.idleMs);
  }
  await s.ctx.client.apply(configMap(s.r), { force: true, signal: s.ctx.signal });
  // 4.
  const checked = await checkTarget(s, plan);
  if (checked.kind === "pending") {
    // Observed (no instance answers yet) so that status shows why it waits.
    s.observation = await observe(s, s.members()?.map((m) => m.id) ?? []);
    await s.writeStatus({ waiting: checked.message });
    return Action.requeueAfter(s.busyMs);
  }
  await removeCheckPod(s);
  if (checked.kind === "unreadable") {
    // Not a verdict on the target: asked again in a new check pod (its
    // mounts read afresh) at the idle requeue; the message has pgBackRest's error.
    await s.writeStatus({
      degraded: { reason: "RestoreCannotReadRepository", message: checked.message },
    });
    return Action.requeueAfter(s.idleMs);
  }
  if (checked.kind === "problem") {
    s.event("RestoreRefused", "Restore", checked.message, "Warning");
    await s.writeStatus({
      degraded: { reason: "RestoreTargetUnreachable", message: checked.message },
    });
    return Action.requeueAfter(s.idleMs);
  }
  s.event(
    "Restoring",
    "Restore",
    `restoring backup ${plan.label} of stanza ${plan.source.stanza} (${plan.source.repoPath})${targetText(plan)} into instance ${first}`,
  );
  return "continue";
}

function targetText(plan: Restoring): string {
  const t = plan.target;
  if (!t) return ", replaying all archived WAL";
  if ("time" in t) return ` to time ${t.time}`;
  if ("lsn" in t) return ` to LSN ${t.lsn}`;
  return ` to xid ${t.xid}`;
}

type Checked =
  | { kind: "pending"; message: string }
  /** `pgbackrest info` did not answer: the repository (or the pod's view of its configuration) is unreadable. */
  | { kind: "unreadable"; message: string }
  /** The target is outside what the repository reaches. */
  | { kind: "problem"; message: string }
  | { kind: "ok" };

/** Step 4: `pgbackrest info` of the source in the check pod, made first when missing. */
async function checkTarget(s: PostgresScope, plan: Restoring): Promise<Checked> {
  const name = names.restoreCheck(s.r);
  const pod = s.ctx.owned<PodLike>(Pod).find((p) => p.metadata.name === name);
  if (!pod) {
    try {
      await s.ctx.client.create(restoreCheckPod(s.r, s.deps.postgresUid), { signal: s.ctx.signal });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
    }
    return {
      kind: "pending",
      message: `checking ${targetText(plan).slice(2)} against the source's repository (pod ${name})`,
    };
  }
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  if (pod.metadata.deletionTimestamp || phase === "Succeeded" || phase === "Failed") {
    // Gone, ended or going: made again on the next reconcile.
    await removeCheckPod(s);
    return { kind: "pending", message: `the check pod ${name} ended (${phase}); making another` };
  }
  if (phase !== "Running")
    return { kind: "pending", message: `waiting for the check pod ${name} to run` };
  const args = infoArgs({
    stanza: plan.source.stanza,
    extra: [`--repo1-path=${plan.source.repoPath}`],
  });
  let result: { exitCode: number; stdout: string; stderr: string };
  try {
    result = await exec(s.ctx.client, { namespace: s.namespace, name }, args, {
      container: "check",
      timeoutMs: 120_000,
      signal: s.ctx.signal,
    });
  } catch (err) {
    return { kind: "pending", message: `pgbackrest info in ${name}: ${(err as Error).message}` };
  }
  if (result.exitCode !== 0) {
    return {
      kind: "unreadable",
      message: `spec.backup: reading the source repository: ${classifyPgbackrestFailure(result, { command: "info" }).message}`,
    };
  }
  const info = parseInfo(result.stdout, plan.source.stanza);
  const unread = infoFailure(info);
  if (unread)
    return {
      kind: "unreadable",
      message: `spec.backup: reading the source repository: ${unread.message}`,
    };
  const problem = restoreTargetProblem(info, plan, s.now());
  return problem ? { kind: "problem", message: problem } : { kind: "ok" };
}

async function removeCheckPod(s: PostgresScope): Promise<void> {
  try {
    await s.ctx.client.delete(
      Pod,
      { namespace: s.namespace, name: names.restoreCheck(s.r) },
      { signal: s.ctx.signal },
    );
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Step 5, in psql's own language: nothing is set while the server is in
 * recovery; the passwords come from the Secret files by psql's backquote
 * (never on argv); synchronous_commit local so these commits wait for no
 * standby of the source's.
 */
export function promotionScript(): string {
  const su = users.superuser;
  const rep = users.replication;
  return [
    "SELECT pg_is_in_recovery() AS recovering \\gset",
    "\\if :recovering",
    "\\echo recovering",
    "\\quit",
    "\\endif",
    "SET synchronous_commit = local;",
    "SET log_statement = 'none';",
    `\\set superuser_password \`cat ${paths.secrets}/superuser/password\``,
    `\\set replication_password \`cat ${paths.secrets}/replication/password\``,
    `ALTER ROLE ${su} WITH SUPERUSER LOGIN PASSWORD :'superuser_password';`,
    `SELECT NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${rep}') AS missing \\gset`,
    "\\if :missing",
    `CREATE ROLE ${rep} WITH REPLICATION LOGIN;`,
    "\\endif",
    `ALTER ROLE ${rep} WITH REPLICATION LOGIN PASSWORD :'replication_password';`,
    "ALTER SYSTEM RESET synchronous_standby_names;",
    "SELECT pg_reload_conf();",
    "\\echo promoted",
    "",
  ].join("\n");
}

/** Step 5: the restored server's promotion, and this cluster's passwords set in it. */
export async function restoredPrimary(s: PostgresScope): Promise<StepResult> {
  const restoring = s.restore;
  if (!restoring || s.pg.systemIdentifier) return "continue";
  const ids = s.members()?.map((m) => m.id) ?? [];
  const id = ids[0] ?? 0;
  const pod = s.pod(id);
  const wait = async (waiting: string) => {
    await s.writeStatus({ waiting });
    return Action.requeueAfter(s.busyMs);
  };
  if (!pod || pod.metadata.deletionTimestamp || !pod.status?.podIP) return wait(restoring.summary);
  let result: { exitCode: number; stdout: string; stderr: string };
  try {
    result = await exec(
      s.ctx.client,
      { namespace: s.namespace, name: pod.metadata.name ?? names.pod(s.r, id) },
      [
        "psql",
        "-X",
        "-q",
        "-At",
        "-v",
        "ON_ERROR_STOP=1",
        "-h",
        paths.run,
        "-p",
        String(port),
        "-U",
        users.superuser,
        "-d",
        "postgres",
        "-f",
        "-",
      ],
      { container: "postgres", stdin: promotionScript(), timeoutMs: 30_000, signal: s.ctx.signal },
    );
  } catch {
    return wait(restoring.summary);
  }
  const said = result.stdout.split("\n");
  if (result.exitCode !== 0 || !said.includes("promoted")) {
    return wait(
      said.includes("recovering")
        ? `${restoring.summary}: replaying WAL to the target`
        : restoring.summary,
    );
  }
  // Asked again with the passwords the server now has: bootstrap.ts reads it.
  s.observation = await observe(s, ids);
  return "continue";
}
