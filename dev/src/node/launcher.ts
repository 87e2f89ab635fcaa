/**
 * Starts one container as real processes, isolated the way a pod needs:
 *
 *   node agent
 *   └─ setpriv --pdeathsig KILL          dies with the agent (a stopped node kills its pods)
 *      └─ ip netns exec <pod netns>      the pod's network, /etc/hosts and resolv.conf
 *         └─ unshare --mount --uts --pid --fork --kill-child
 *            └─ sh: private /tmp, bind-mount volumes, set hostname, cd, drop privileges
 *               └─ exec <the container's command>      PID 1 of its own PID namespace
 *
 * When the container's PID 1 exits, the kernel kills everything else in its
 * PID namespace, so a container never leaves stray children behind; killing
 * `unshare` kills PID 1 (--kill-child). Termination signals go to PID 1
 * directly, which — as in any container — only acts on signals it handles.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Readable } from "node:stream";

export interface MountSpec {
  /** Directory (or file, with subPath) on the node. */
  source: string;
  target: string;
  readOnly: boolean;
}

export interface LaunchSpec {
  netns: string;
  hostname: string;
  mounts: MountSpec[];
  workingDir: string | undefined;
  /** groups: supplementary groups (the pod's fsGroup and supplementalGroups), as a kubelet gives them. */
  user: { uid: number; gid: number; groups?: readonly number[] } | undefined;
  env: Record<string, string>;
  argv: string[];
}

export interface Launched {
  /** Host pid of `unshare` — our child. */
  pid: number;
  stdout: NodeJS.ReadableStream;
  stderr: NodeJS.ReadableStream;
  /** What setpriv, ip and unshare themselves print: for the node's log. */
  toolStderr: NodeJS.ReadableStream;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", "'\\''")}'`;
}

/** The script run as root inside the new namespaces, before exec'ing the container. */
/** `$0` of the launch script: tells "still setting up" from "running the command". */
export const launchArgv0 = "ballast-launch";

/** A tmpfs private to each container's mount namespace (see launchScript). */
export const stageDir = "/run/ballast-stage";

/** Where an image's i-th PATH directory appears inside the container. */
export const imagePathInContainer = (i: number) => `${stageDir}/image-${i}`;

export function launchScript(spec: LaunchSpec): string {
  // Containers share the host's filesystem (there are no image root
  // filesystems here), except their volumes and a private /tmp: without it,
  // two replicas writing /tmp/x would see each other's files. Volume sources
  // may themselves live under the host's /tmp, so each is first bound into a
  // staging tmpfs private to this mount namespace, then /tmp is replaced,
  // then each is bound at its mountPath.
  const stage = stageDir;
  const lines = [
    // fd 3 is the container's stderr. The launch tools keep fd 2, so their
    // own complaints (e.g. unshare's, when the container dies by SIGKILL)
    // go to the node's log rather than the container's.
    "exec 2>&3 3>&-",
    "set -e",
    `hostname ${shellQuote(spec.hostname)}`,
    `mkdir -p ${stage}`,
    `mount -t tmpfs -o size=1m tmpfs ${stage}`,
  ];
  spec.mounts.forEach((mount, i) => {
    const staged = `${stage}/${i}`;
    if (isFile(mount.source)) lines.push(`: > ${staged}`);
    else lines.push(`mkdir ${staged}`);
    lines.push(`mount --bind ${shellQuote(mount.source)} ${staged}`);
  });
  lines.push("mount -t tmpfs -o mode=1777,size=256m tmpfs /tmp");
  spec.mounts.forEach((mount, i) => {
    const staged = `${stage}/${i}`;
    const target = shellQuote(mount.target);
    if (isFile(mount.source)) {
      lines.push(`mkdir -p "$(dirname ${target})"`, `[ -e ${target} ] || : > ${target}`);
    } else {
      lines.push(`mkdir -p ${target}`);
    }
    lines.push(`mount --bind ${staged} ${target}`);
    if (mount.readOnly) lines.push(`mount -o remount,bind,ro ${target}`);
  });
  if (spec.workingDir) {
    lines.push(`mkdir -p ${shellQuote(spec.workingDir)}`, `cd ${shellQuote(spec.workingDir)}`);
  }
  const drop = spec.user
    ? `setpriv --reuid=${spec.user.uid} --regid=${spec.user.gid} ${spec.user.groups?.length ? `--groups=${spec.user.groups.join(",")}` : "--clear-groups"} -- `
    : "";
  const env = Object.entries(spec.env).map(([k, v]) => shellQuote(`${k}=${v}`));
  lines.push(`exec ${drop}env -i ${env.join(" ")} ${spec.argv.map(shellQuote).join(" ")}`);
  return lines.join("\n");
}

export function launch(spec: LaunchSpec): Launched {
  const child = spawn(
    "setpriv",
    [
      ...["--pdeathsig", "KILL", "--"],
      ...["ip", "netns", "exec", spec.netns],
      ...["unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child", "--mount-proc"],
      ...["--propagation", "private", "--", "/bin/sh", "-c", launchScript(spec), launchArgv0],
    ],
    { stdio: ["ignore", "pipe", "pipe", "pipe"] },
  );
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", () => resolve({ code: 128, signal: null }));
  });
  const [, stdout, toolStderr, containerStderr] = child.stdio as unknown as [
    null,
    Readable,
    Readable,
    Readable,
  ];
  return { pid: child.pid ?? -1, stdout, stderr: containerStderr, toolStderr, exited };
}

/**
 * Host pid of the container's PID 1: the one child of `unshare`. It appears a
 * moment after spawn, so callers retry.
 */
export function containerPid(unsharePid: number): number | undefined {
  try {
    const children = readFileSync(
      join("/proc", String(unsharePid), "task", String(unsharePid), "children"),
      "utf8",
    )
      .trim()
      .split(" ")
      .filter(Boolean);
    const pid = Number(children[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Command prefix that runs inside a running container's namespaces (for exec and probes). */
export function enterArgs(
  pid: number,
  workingDir: string | undefined,
  user: LaunchSpec["user"],
): string[] {
  return [
    "nsenter",
    `--target=${pid}`,
    "--net",
    "--mount",
    "--uts",
    "--pid",
    ...(workingDir ? [`--wd=${workingDir}`] : []),
    ...(user ? [`--setuid=${user.uid}`, `--setgid=${user.gid}`] : []),
    "--",
  ];
}

function isFile(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).isFile();
  } catch {
    return false;
  }
}
