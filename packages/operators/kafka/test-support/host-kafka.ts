/**
 * A real KRaft cluster made of host processes, for tests of the admin client
 * and the workload checker. Every node has combined roles (broker +
 * controller), its own temp dir and free ports on 127.0.0.1, and runs the
 * Kafka jars the local image builder cached. Processes are started through
 * `setpriv --pdeathsig KILL`, so the kernel kills them if the test process
 * dies before `close()` runs.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { connect, createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Base } from "@platformatic/kafka";

const run = promisify(execFile);

export interface HostKafkaOptions {
  /** @default 3 */
  nodes?: number;
  /** Extra `server.properties` lines for every node. */
  properties?: Record<string, string>;
}

export interface HostKafkaNode {
  readonly id: number;
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly logFile: string;
}

export interface HostKafka {
  readonly nodes: readonly HostKafkaNode[];
  /** "127.0.0.1:port" of the nodes currently running. */
  bootstrap(): string[];
  /** Kills the node (SIGKILL when `hard`, otherwise SIGTERM for a clean shutdown). */
  stop(id: number, opts?: { hard?: boolean }): Promise<void>;
  /** Starts a stopped node and waits until Metadata lists it (registered and unfenced). */
  start(id: number): Promise<void>;
  /**
   * Deletes a stopped node's on-disk copy of every partition of `topic`: when
   * the node starts again it recreates them empty, as if its disk were lost.
   */
  wipeTopic(id: number, topic: string): void;
  running(id: number): boolean;
  close(): Promise<void>;
}

export class HostKafkaError extends Error {
  override name = "HostKafkaError";
}

/** Where the Kafka jars are: `$KAFKA_LIBS`, else the image builder's cache. */
export function kafkaLibs(): string {
  const fromEnv = process.env.KAFKA_LIBS;
  if (fromEnv) return fromEnv;
  const base = join(homedir(), ".cache/ballast/images/kafka-3.9.1");
  const jars = existsSync(base) ? readdirSync(base).find((d) => d.startsWith("jars-")) : undefined;
  if (!jars) throw new HostKafkaError(`no Kafka jars under ${base} (set KAFKA_LIBS)`);
  return join(base, jars, "libs");
}

/** Ports this process handed out already: two nodes never get the same one. */
const handedOut = new Set<number>();

/**
 * A port nothing listens on, chosen below the kernel's ephemeral range. A
 * port the kernel picks for listen(0) is one it also gives outgoing
 * connections, and on a busy machine one of those can hold it (in TIME-WAIT,
 * say) by the time the broker binds it, seconds later: the broker then dies
 * with "Address already in use".
 */
async function freePort(): Promise<number> {
  const low = 10_000;
  const high = ephemeralPortsFrom() - 1;
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (!handedOut.has(port) && (await bindable(port))) {
      handedOut.add(port);
      return port;
    }
  }
  throw new HostKafkaError(`no free port on 127.0.0.1 between ${low} and ${high}`);
}

/** The first port of the kernel's ephemeral range (Linux: net.ipv4.ip_local_port_range). */
function ephemeralPortsFrom(): number {
  try {
    const first = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").split(/\s+/)[0],
    );
    if (first > 11_000) return first;
  } catch {
    // Not Linux: IANA's dynamic range.
  }
  return 49_152;
}

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const LOG4J = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
`;

/** Starts the cluster; resolves once every node is registered and unfenced. */
export async function startHostKafka(options: HostKafkaOptions = {}): Promise<HostKafka> {
  const count = options.nodes ?? 3;
  const libs = kafkaLibs();
  const classpath = `${libs}/*`;
  const root = mkdtempSync(join(tmpdir(), "ballast-kafka-"));
  writeFileSync(join(root, "log4j.properties"), LOG4J);
  const nodes: HostKafkaNode[] = [];
  for (let id = 0; id < count; id++) {
    const dir = join(root, `node-${id}`);
    nodes.push({
      id,
      port: await freePort(),
      controllerPort: await freePort(),
      dir,
      dataDir: join(dir, "data"),
      logFile: join(dir, "server.log"),
    });
  }
  const voters = nodes.map((n) => `${n.id}@127.0.0.1:${n.controllerPort}`).join(",");
  const clusterId = (
    await run("java", ["-cp", classpath, "kafka.tools.StorageTool", "random-uuid"])
  ).stdout.trim();

  for (const node of nodes) {
    const props: Record<string, string> = {
      "process.roles": "broker,controller",
      "node.id": String(node.id),
      "controller.quorum.voters": voters,
      listeners: `PLAINTEXT://127.0.0.1:${node.port},CONTROLLER://127.0.0.1:${node.controllerPort}`,
      "advertised.listeners": `PLAINTEXT://127.0.0.1:${node.port}`,
      "controller.listener.names": "CONTROLLER",
      "inter.broker.listener.name": "PLAINTEXT",
      "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
      "log.dirs": node.dataDir,
      "num.partitions": "1",
      "offsets.topic.replication.factor": String(Math.min(3, count)),
      "offsets.topic.num.partitions": "3",
      "transaction.state.log.replication.factor": String(Math.min(3, count)),
      "transaction.state.log.min.isr": "1",
      "group.initial.rebalance.delay.ms": "0",
      "num.network.threads": "2",
      "num.io.threads": "2",
      "log.segment.bytes": "16777216",
      ...options.properties,
    };
    const text = Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n");
    mkdirSync(node.dir, { recursive: true });
    writeFileSync(join(node.dir, "server.properties"), `${text}\n`);
    await format(classpath, clusterId, node);
  }

  const children = new Map<number, ChildProcess>();
  const exits = new Map<number, Promise<void>>();

  function launch(node: HostKafkaNode): void {
    const log = openSync(node.logFile, "a");
    const child = spawn(
      "setpriv",
      [
        "--pdeathsig",
        "KILL",
        "--",
        "java",
        "-Xmx256m",
        "-Xms64m",
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        `-Dlog4j.configuration=file:${join(root, "log4j.properties")}`,
        "-cp",
        classpath,
        "kafka.Kafka",
        join(node.dir, "server.properties"),
      ],
      { stdio: ["ignore", log, log] },
    );
    closeSync(log);
    child.unref();
    children.set(node.id, child);
    exits.set(
      node.id,
      new Promise((resolve) => {
        child.once("exit", () => {
          children.delete(node.id);
          resolve();
        });
      }),
    );
  }

  async function waitUp(node: HostKafkaNode, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!children.has(node.id))
        throw new HostKafkaError(`kafka node ${node.id} exited; see ${node.logFile}`);
      if (await canConnect(node.port)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new HostKafkaError(
      `kafka node ${node.id} did not listen on ${node.port} within ${timeoutMs} ms`,
    );
  }

  /**
   * Listening is not serving: a broker takes a few more seconds to register
   * with the controller and be unfenced. Ask Metadata (through the client
   * library, not the code under test) until it lists every node in `ids`.
   */
  async function waitRegistered(ids: readonly number[], timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const client = new Base({
        clientId: "host-kafka",
        bootstrapBrokers: cluster.bootstrap(),
        retries: 0,
      });
      try {
        const metadata = await client.metadata({ topics: [], forceUpdate: true });
        if (ids.every((id) => metadata.brokers.has(id))) return;
      } catch {
        // Not answering yet.
      } finally {
        await client.close().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new HostKafkaError(
      `kafka nodes ${ids.join(", ")} were not all registered within ${timeoutMs} ms`,
    );
  }

  const nodeOf = (id: number): HostKafkaNode => {
    const node = nodes.find((n) => n.id === id);
    if (!node) throw new HostKafkaError(`no kafka node ${id}`);
    return node;
  };

  const cluster: HostKafka = {
    nodes,
    bootstrap: () => nodes.filter((n) => children.has(n.id)).map((n) => `127.0.0.1:${n.port}`),
    running: (id) => children.has(id),
    async stop(id, opts = {}) {
      const child = children.get(id);
      if (!child) return;
      const exited = exits.get(id);
      child.kill(opts.hard ? "SIGKILL" : "SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(timer);
    },
    async start(id) {
      const node = nodeOf(id);
      if (children.has(id)) return;
      launch(node);
      await waitUp(node);
      await waitRegistered([id]);
    },
    wipeTopic(id, topic) {
      const node = nodeOf(id);
      if (children.has(id))
        throw new HostKafkaError(`kafka node ${id} is running; stop it before wiping`);
      // A partition's directory is "<topic>-<n>"; requiring digits after the dash keeps topic "a" from
      // matching the partitions of a topic named "a-b".
      const isPartitionDir = (entry: string): boolean =>
        entry.startsWith(`${topic}-`) && /^\d+$/.test(entry.slice(topic.length + 1));
      for (const entry of readdirSync(node.dataDir)) {
        if (isPartitionDir(entry))
          rmSync(join(node.dataDir, entry), { recursive: true, force: true });
      }
    },
    async close() {
      await Promise.all([...children.keys()].map((id) => cluster.stop(id, { hard: true })));
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (const node of nodes) launch(node);
  try {
    await Promise.all(nodes.map((n) => waitUp(n)));
    await waitRegistered(nodes.map((n) => n.id));
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

async function format(classpath: string, clusterId: string, node: HostKafkaNode): Promise<void> {
  await run("java", [
    "-Xmx128m",
    "-cp",
    classpath,
    "kafka.tools.StorageTool",
    "format",
    "--ignore-formatted",
    "-t",
    clusterId,
    "-c",
    join(node.dir, "server.properties"),
  ]);
}
