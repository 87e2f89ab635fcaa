/**
 * Test helpers (no test here): programs run as the `postgres` user, the
 * way admin.test.ts, backup/pgbackrest.test.ts and bench/postgres-backup.ts
 * run Debian's PostgreSQL 15 and pgBackRest, and a local S3 server over
 * TLS for pgBackRest. `setpriv` execs, so the child process IS the
 * program (a postmaster's signals reach it: SIGINT is a fast shutdown,
 * SIGQUIT an immediate one, SIGSTOP freezes it). Needs root.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { Agent } from "node:https";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";

/** Debian's PostgreSQL 15 programs. */
export const pgBin = "/usr/lib/postgresql/15/bin";

let ids: { uid: number; gid: number } | undefined;

/** The `postgres` user's uid and gid (Debian's postgresql-common makes it). */
export function postgresIds(): { uid: number; gid: number } {
  ids ??= {
    uid: Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim()),
    gid: Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim()),
  };
  return ids;
}

export interface AsPostgresOptions {
  cwd: string;
  /** Added to PATH, HOME (= cwd) and LC_ALL=C; nothing else of the test's environment is passed. */
  env?: Record<string, string>;
  /** stdout and stderr: piped, or a file descriptor (a server's log). @default "pipe" */
  stdio?: number | "pipe";
}

/** A program as the postgres user: from the PostgreSQL 15 bin when it is there, else by PATH. */
export function asPostgres(
  program: string,
  args: readonly string[],
  options: AsPostgresOptions,
): ChildProcess {
  const { uid, gid } = postgresIds();
  const path = program.includes("/")
    ? program
    : existsSync(join(pgBin, program))
      ? join(pgBin, program)
      : program;
  const stdio = options.stdio ?? "pipe";
  return spawn(
    "setpriv",
    ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--", path, ...args],
    {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: options.cwd, LC_ALL: "C", ...options.env },
      stdio: ["ignore", stdio, stdio],
    },
  );
}

export interface Finished {
  /** The exit code; null when a signal ended it. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr as they came. */
  output: string;
  ms: number;
}

/** Runs a program as the postgres user to its end, whatever its exit code. */
export function runAsPostgres(
  program: string,
  args: readonly string[],
  options: AsPostgresOptions,
): Promise<Finished> {
  const started = Date.now();
  const child = asPostgres(program, args, { ...options, stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  let output = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
    output += chunk;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, output, ms: Date.now() - started }),
    );
  });
}

/** Runs a program as the postgres user; throws with its output unless it exits 0. */
export async function mustRunAsPostgres(
  program: string,
  args: readonly string[],
  options: AsPostgresOptions,
): Promise<Finished> {
  const done = await runAsPostgres(program, args, options);
  if (done.code !== 0) {
    throw new Error(`${program} ${args.join(" ")} exited ${done.code}: ${done.output}`);
  }
  return done;
}

/** Stops a process started by asPostgres and waits for it; nothing if it already ended. */
export async function stopProcess(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals = "SIGINT",
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** A real S3 server on 127.0.0.1 over TLS, for pgBackRest (startLocalS3). */
export interface LocalS3 {
  /** `localhost`: the certificate's DNS name (pgBackRest 2.45 does not match IP names). */
  host: string;
  port: number;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The PEM CA file that signed the server's certificate (readable by everyone). */
  caFile: string;
  /** Path-style, trusting only the CA. */
  client: S3Client;
  stop(): Promise<void>;
}

/**
 * versitygw (the Go binary the local cluster's `versitygw` image runs,
 * built once per machine into ~/.cache/ballast) started on the host over
 * TLS, with a CA and certificate made for it by openssl (as
 * dev/src/object-store.ts makes them), its buckets plain files under
 * `dir/s3`, and `bucket` created.
 */
export async function startLocalS3(options: {
  dir: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  region?: string;
}): Promise<LocalS3> {
  const { dir, bucket, credentials } = options;
  const region = options.region ?? "us-east-1";
  const [{ ensureGoCommand }, { versitygwCommand }, sdk, { freePort, eventually }] =
    await Promise.all([
      import("../../../../../dev/src/node/images-go/go-command.ts"),
      import("../../../../../dev/src/node/images-go/versitygw.ts"),
      import("@aws-sdk/client-s3"),
      import("@ballast/dev/testkit"),
    ]);
  const binary = await ensureGoCommand(versitygwCommand(), {
    onBuild: (c) => console.log(`building ${c.pkg}@${c.version} (${c.coldBuild}, once)`),
  });
  const tls = (f: string) => join(dir, "tls", f);
  certificate(join(dir, "tls"));
  mkdirSync(join(dir, "s3"), { recursive: true });
  const port = await freePort();
  const log = openSync(join(dir, "versitygw.log"), "a");
  const server = spawn(
    binary,
    [
      ...["--port", `127.0.0.1:${port}`, "--region", region],
      ...["--cert", tls("tls.crt"), "--key", tls("tls.key"), "posix", join(dir, "s3")],
    ],
    {
      // Its root credentials from the environment, as the object-store pod has them.
      env: {
        PATH: process.env.PATH ?? "",
        ROOT_ACCESS_KEY_ID: credentials.accessKeyId,
        ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
      stdio: ["ignore", log, log],
    },
  );
  closeSync(log);
  process.on("exit", () => server.kill("SIGKILL"));
  const client = new sdk.S3Client({
    endpoint: `https://localhost:${port}`,
    region,
    forcePathStyle: true,
    credentials,
    requestHandler: { httpsAgent: new Agent({ ca: readFileSync(tls("ca.crt")) }) },
  });
  await eventually(`versitygw answering (log: ${join(dir, "versitygw.log")})`, async () => {
    if (server.exitCode !== null) throw new Error(`versitygw exited ${server.exitCode}`);
    try {
      await client.send(new sdk.CreateBucketCommand({ Bucket: bucket }));
      return true;
    } catch (error) {
      return (error as Error).name === "BucketAlreadyOwnedByYou" ? true : undefined;
    }
  });
  return {
    host: "localhost",
    port,
    region,
    bucket,
    credentials,
    caFile: tls("ca.crt"),
    client,
    async stop() {
      client.destroy();
      await stopProcess(server, "SIGTERM");
    },
  };
}

/** A CA and a server certificate it signs for localhost and 127.0.0.1, in `dir`. */
function certificate(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  writeFileSync(f("openssl.cnf"), "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n");
  const common = ["req", "-x509", "-config", f("openssl.cnf"), "-days", "2"];
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
  openssl([
    ...common,
    ...newKey,
    ...["-keyout", f("ca.key"), "-out", f("ca.crt"), "-subj", "/CN=ballast-test-s3-ca"],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"],
  ]);
  openssl([
    ...common,
    ...newKey,
    ...["-CA", f("ca.crt"), "-CAkey", f("ca.key")],
    ...["-keyout", f("tls.key"), "-out", f("tls.crt"), "-subj", "/CN=localhost"],
    ...["-addext", "basicConstraints=critical,CA:FALSE"],
    ...["-addext", "keyUsage=critical,digitalSignature,keyEncipherment"],
    ...["-addext", "extendedKeyUsage=serverAuth"],
    // 127.0.0.1 too: pgBackRest ignores IP names (pgbackrest.test.ts shows it), the SDK does not.
    ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
  ]);
  chmodSync(f("ca.crt"), 0o644);
}
