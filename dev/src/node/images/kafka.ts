/**
 * `apache/kafka:<version>` (3.x and 4.x): the real Kafka broker and tools,
 * from the jars Maven Central publishes for that version, run by the host's
 * Java.
 *
 * Layout, as in the apache/kafka image: the distribution at /opt/kafka
 * (bin/, libs/, config/), and the default command /etc/kafka/docker/run,
 * which configures a broker from KAFKA_* variables. The bin/ scripts are our
 * own, honouring the variables the distribution's scripts do (KAFKA_HEAP_OPTS,
 * KAFKA_OPTS, KAFKA_LOG4J_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, JMX_PORT, LOG_DIR);
 * each tool's main class is read from the jars, because Kafka moves tools
 * between packages from one release to the next.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ImagePullError } from "../image-error.ts";
import type { ImageRuntime, ImageSpec } from "../images.ts";
import { dependency, executable, javaHome, type Layout, mavenImage } from "./maven.ts";
import { classesIn } from "./zip.ts";

const home = "/opt/kafka";

interface Tool {
  script: string;
  /** Main classes, newest location first; the first one in the jars wins. */
  classes: string[];
  /** The distribution's own default heap for this tool, when it sets one. */
  heap?: string;
  required?: boolean;
}

const tools: Tool[] = [
  {
    script: "kafka-storage.sh",
    classes: ["org.apache.kafka.tools.StorageTool", "kafka.tools.StorageTool"],
    required: true,
  },
  {
    script: "kafka-topics.sh",
    classes: ["org.apache.kafka.tools.TopicCommand", "kafka.admin.TopicCommand"],
    required: true,
  },
  {
    script: "kafka-configs.sh",
    classes: ["org.apache.kafka.tools.ConfigCommand", "kafka.admin.ConfigCommand"],
    required: true,
  },
  {
    script: "kafka-console-producer.sh",
    classes: ["org.apache.kafka.tools.ConsoleProducer", "kafka.tools.ConsoleProducer"],
    heap: "-Xmx512M",
    required: true,
  },
  {
    script: "kafka-console-consumer.sh",
    classes: ["org.apache.kafka.tools.consumer.ConsoleConsumer", "kafka.tools.ConsoleConsumer"],
    heap: "-Xmx512M",
    required: true,
  },
  { script: "kafka-groups.sh", classes: ["org.apache.kafka.tools.GroupsCommand"] },
  {
    script: "kafka-share-groups.sh",
    classes: ["org.apache.kafka.tools.consumer.group.ShareGroupCommand"],
  },
  {
    script: "kafka-console-share-consumer.sh",
    classes: ["org.apache.kafka.tools.consumer.ConsoleShareConsumer"],
    heap: "-Xmx512M",
  },
  {
    script: "kafka-streams-groups.sh",
    classes: ["org.apache.kafka.tools.streams.StreamsGroupCommand"],
  },
  { script: "kafka-metadata-quorum.sh", classes: ["org.apache.kafka.tools.MetadataQuorumCommand"] },
  {
    script: "kafka-consumer-groups.sh",
    classes: [
      "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
      "kafka.admin.ConsumerGroupCommand",
    ],
  },
  {
    script: "kafka-reassign-partitions.sh",
    classes: [
      "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
      "kafka.admin.ReassignPartitionsCommand",
    ],
  },
  {
    script: "kafka-features.sh",
    classes: ["org.apache.kafka.tools.FeatureCommand", "kafka.admin.FeatureCommand"],
  },
  {
    script: "kafka-cluster.sh",
    classes: ["org.apache.kafka.tools.ClusterTool", "kafka.tools.ClusterTool"],
  },
  {
    script: "kafka-acls.sh",
    classes: ["org.apache.kafka.tools.AclCommand", "kafka.admin.AclCommand"],
  },
  {
    script: "kafka-broker-api-versions.sh",
    classes: [
      "org.apache.kafka.tools.BrokerApiVersionsCommand",
      "kafka.admin.BrokerApiVersionsCommand",
    ],
  },
  {
    script: "kafka-leader-election.sh",
    classes: ["org.apache.kafka.tools.LeaderElectionCommand", "kafka.admin.LeaderElectionCommand"],
  },
  {
    script: "kafka-log-dirs.sh",
    classes: ["org.apache.kafka.tools.LogDirsCommand", "kafka.admin.LogDirsCommand"],
  },
  {
    script: "kafka-delete-records.sh",
    classes: ["org.apache.kafka.tools.DeleteRecordsCommand", "kafka.admin.DeleteRecordsCommand"],
  },
  { script: "kafka-transactions.sh", classes: ["org.apache.kafka.tools.TransactionsCommand"] },
  {
    script: "kafka-get-offsets.sh",
    classes: ["org.apache.kafka.tools.GetOffsetShell", "kafka.tools.GetOffsetShell"],
  },
  {
    script: "kafka-dump-log.sh",
    classes: ["org.apache.kafka.tools.DumpLogSegments", "kafka.tools.DumpLogSegments"],
  },
  {
    script: "kafka-delegation-tokens.sh",
    classes: [
      "org.apache.kafka.tools.DelegationTokenCommand",
      "kafka.admin.DelegationTokenCommand",
    ],
  },
  {
    script: "kafka-replica-verification.sh",
    classes: [
      "org.apache.kafka.tools.ReplicaVerificationTool",
      "kafka.tools.ReplicaVerificationTool",
    ],
  },
  { script: "kafka-client-metrics.sh", classes: ["org.apache.kafka.tools.ClientMetricsCommand"] },
  {
    script: "kafka-producer-perf-test.sh",
    classes: ["org.apache.kafka.tools.ProducerPerformance"],
    heap: "-Xmx512M",
  },
  {
    script: "kafka-consumer-perf-test.sh",
    classes: ["org.apache.kafka.tools.ConsumerPerformance", "kafka.tools.ConsumerPerformance"],
    heap: "-Xmx512M",
  },
  {
    script: "kafka-e2e-latency.sh",
    classes: ["org.apache.kafka.tools.EndToEndLatency", "kafka.tools.EndToEndLatency"],
  },
  { script: "kafka-jmx.sh", classes: ["org.apache.kafka.tools.JmxTool", "kafka.tools.JmxTool"] },
  {
    script: "kafka-verifiable-producer.sh",
    classes: ["org.apache.kafka.tools.VerifiableProducer"],
    heap: "-Xmx512M",
  },
  {
    script: "kafka-verifiable-consumer.sh",
    classes: ["org.apache.kafka.tools.VerifiableConsumer"],
    heap: "-Xmx512M",
  },
];

/**
 * How a major version logs: 3.x through reload4j (log4j 1), 4.x through
 * log4j2, each with the slf4j binding its distribution ships.
 */
interface Logging {
  dependencies: string[];
  /** Configuration files (under config/) and the JVM option naming each. */
  server: { file: string; text: string; option: string };
  tools: { file: string; text: string; option: string };
}

// A function, not a constant: this module is part of an import cycle with
// images.ts, so it calls nothing imported while it is being evaluated.
const logging = (): Record<"3" | "4", Logging> => ({
  "3": {
    dependencies: [
      dependency("org.slf4j", "slf4j-reload4j", "1.7.36"),
      dependency("ch.qos.reload4j", "reload4j", "1.2.25"),
    ],
    server: {
      file: "log4j.properties",
      text: serverLog4j(),
      option: `-Dlog4j.configuration=file:${home}/config/log4j.properties`,
    },
    tools: {
      file: "tools-log4j.properties",
      text: toolsLog4j(),
      option: `-Dlog4j.configuration=file:${home}/config/tools-log4j.properties`,
    },
  },
  "4": {
    dependencies: [
      dependency("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3"),
      dependency("org.apache.logging.log4j", "log4j-core", "2.24.3"),
    ],
    // Properties rather than the distribution's YAML, which needs jackson-dataformat-yaml.
    server: {
      file: "log4j2.properties",
      text: serverLog4j2(),
      option: `-Dlog4j2.configurationFile=${home}/config/log4j2.properties`,
    },
    tools: {
      file: "tools-log4j2.properties",
      text: toolsLog4j2(),
      option: `-Dlog4j2.configurationFile=${home}/config/tools-log4j2.properties`,
    },
  },
});

/** `3.9.1` → the version and its logging; other tags cannot name a Maven Central version. */
function parseTag(tag: string): { version: string; logs: Logging } {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(tag);
  if (!match) {
    throw new ImagePullError(
      `image "apache/kafka:${tag}": the tag must be a release version such as 3.9.1 (it names the Maven Central jars to run)`,
    );
  }
  const major = match[1];
  if (major !== "3" && major !== "4") {
    throw new ImagePullError(
      `image "apache/kafka:${tag}": only Kafka 3.x and 4.x releases are mapped`,
    );
  }
  return { version: tag, logs: logging()[major] };
}

export const kafka: ImageSpec = {
  names: ["apache/kafka"],
  describe:
    "Apache Kafka 3.x and 4.x from its Maven Central jars, run by the host's Java, at /opt/kafka",
  async prepare(tag: string): Promise<ImageRuntime> {
    const { version, logs } = parseTag(tag);
    const java = javaHome();
    const { libs, root } = await mavenImage({
      key: `kafka-${version}`,
      image: `apache/kafka:${tag}`,
      dependencies: [
        dependency("org.apache.kafka", "kafka_2.13", version),
        dependency("org.apache.kafka", "kafka-tools", version),
        dependency("org.apache.kafka", "kafka-clients", version),
        ...logs.dependencies,
      ].join("\n"),
      main: { groupId: "org.apache.kafka", artifactId: "kafka_2.13", version },
      layout: (jars) => layout(jars, version, logs),
    });
    return {
      entrypoint: ["/etc/kafka/docker/run"],
      cmd: [],
      path: [join(root, "bin")],
      env: { JAVA_HOME: java },
      files: [
        { source: join(root, "bin"), target: `${home}/bin` },
        { source: libs, target: `${home}/libs` },
        { source: join(root, "config"), target: `${home}/config` },
        { source: join(root, "docker"), target: "/etc/kafka/docker" },
      ],
      workingDir: home,
    };
  },
};

function layout(libs: string, version: string, logs: Logging): Layout {
  const jars = readdirSync(libs)
    .filter((f) => f.endsWith(".jar"))
    .map((f) => join(libs, f));
  const classes = classesIn(jars);
  if (!classes.has("kafka.Kafka")) {
    throw new ImagePullError(`Kafka ${version}'s jars hold no kafka.Kafka main class`);
  }
  const files: Layout = {
    "bin/kafka-run-class.sh": executable(runClass(logs.tools.option)),
    "bin/kafka-server-start.sh": executable(serverStart(logs.server.option)),
    "bin/kafka-server-stop.sh": executable(serverStop),
    [`config/${logs.server.file}`]: { text: logs.server.text },
    [`config/${logs.tools.file}`]: { text: logs.tools.text },
    "config/server.properties": { text: singleNode },
    "config/kraft/server.properties": { text: singleNode },
    "docker/server.properties": { text: singleNode },
    "docker/run": executable(dockerRun),
  };
  for (const tool of tools) {
    const main = tool.classes.find((c) => classes.has(c));
    if (!main) {
      if (tool.required) {
        throw new ImagePullError(
          `Kafka ${version}'s jars hold none of ${tool.classes.join(", ")} (for ${tool.script})`,
        );
      }
      continue;
    }
    const heap = tool.heap
      ? `if [ -z "$KAFKA_HEAP_OPTS" ]; then export KAFKA_HEAP_OPTS="${tool.heap}"; fi\n`
      : "";
    files[`bin/${tool.script}`] = executable(
      `#!/bin/sh\n${heap}exec "$(dirname "$0")/kafka-run-class.sh" ${main} "$@"\n`,
    );
  }
  return files;
}

const runClass = (toolsLogging: string) => `#!/bin/sh
# Runs a class of the Kafka distribution with the JVM options its own
# kafka-run-class.sh takes from the environment.
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] [-name servicename] [-loggc] classname [opts]" >&2
  exit 1
fi
base_dir=${home}
CLASSPATH="\${CLASSPATH:+$CLASSPATH:}$base_dir/libs/*"
# The distribution logs to $base_dir/logs; here /opt/kafka is read-only and
# shared, and /tmp is private to the container.
LOG_DIR=\${LOG_DIR:-/tmp/kafka-app-logs}
daemon_mode=false
daemon_name=""
gc_log=false
while [ $# -gt 0 ]; do
  case "$1" in
    -name) daemon_name=$2; shift 2 ;;
    -loggc) gc_log=true; shift ;;
    -daemon) daemon_mode=true; shift ;;
    *) break ;;
  esac
done
mkdir -p "$LOG_DIR"
KAFKA_JMX_OPTS=\${KAFKA_JMX_OPTS:--Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false}
if [ -n "$JMX_PORT" ]; then
  KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.port=$JMX_PORT"
  if ! echo "$KAFKA_JMX_OPTS" | grep -q rmi.port; then
    KAFKA_JMX_OPTS="$KAFKA_JMX_OPTS -Dcom.sun.management.jmxremote.rmi.port=$JMX_PORT"
  fi
fi
KAFKA_LOG4J_OPTS="-Dkafka.logs.dir=$LOG_DIR \${KAFKA_LOG4J_OPTS:-${toolsLogging}}"
KAFKA_HEAP_OPTS=\${KAFKA_HEAP_OPTS:--Xmx256M}
KAFKA_JVM_PERFORMANCE_OPTS=\${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}
if $gc_log; then
  # Smaller files than the distribution's 10 x 100M: /tmp is a 256M tmpfs.
  KAFKA_GC_LOG_OPTS="-Xlog:gc*:file=$LOG_DIR/\${daemon_name:-kafka}-gc.log:time,tags:filecount=4,filesize=10M"
fi
JAVA=\${JAVA_HOME:+$JAVA_HOME/bin/}java
if $daemon_mode; then
  nohup "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@" > "$LOG_DIR/\${daemon_name:-kafka}.out" 2>&1 < /dev/null &
else
  exec "$JAVA" $KAFKA_HEAP_OPTS $KAFKA_JVM_PERFORMANCE_OPTS $KAFKA_GC_LOG_OPTS $KAFKA_JMX_OPTS $KAFKA_LOG4J_OPTS -cp "$CLASSPATH" $KAFKA_OPTS "$@"
fi
`;

const serverStart = (serverLogging: string) => `#!/bin/sh
if [ $# -lt 1 ]; then
  echo "USAGE: $0 [-daemon] server.properties [--override property=value]*" >&2
  exit 1
fi
if [ -z "$KAFKA_LOG4J_OPTS" ]; then
  export KAFKA_LOG4J_OPTS="${serverLogging}"
fi
# The distribution's default is 1G; local nodes share two cores and run many brokers.
if [ -z "$KAFKA_HEAP_OPTS" ]; then
  export KAFKA_HEAP_OPTS="-Xmx512M -Xms256M"
fi
EXTRA_ARGS=\${EXTRA_ARGS--name kafkaServer}
if [ "$1" = "-daemon" ]; then
  EXTRA_ARGS="-daemon $EXTRA_ARGS"
  shift
fi
exec "$(dirname "$0")/kafka-run-class.sh" $EXTRA_ARGS kafka.Kafka "$@"
`;

const serverStop = `#!/bin/sh
# Signals the brokers running in this container (its PID namespace is private).
SIGNAL=\${SIGNAL:-TERM}
PIDS=$(ps ax | grep ' kafka\\.Kafka ' | grep java | grep -v grep | awk '{print $1}')
if [ -z "$PIDS" ]; then
  echo "No kafka server to stop"
  exit 1
fi
kill -s "$SIGNAL" $PIDS
`;

// Console only: kubectl logs is where a container's log belongs.
function serverLog4j(): string {
  return `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.controller=INFO
log4j.logger.kafka.log.LogCleaner=INFO
log4j.logger.state.change.logger=INFO
log4j.logger.kafka.authorizer.logger=INFO
`;
}

function toolsLog4j(): string {
  return `log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.appender.stderr.Target=System.err
`;
}

function serverLog4j2(): string {
  return `appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
logger.request.name=kafka.request.logger
logger.request.level=WARN
`;
}

function toolsLog4j2(): string {
  return `appender.stderr.type=Console
appender.stderr.name=STDERR
appender.stderr.target=SYSTEM_ERR
appender.stderr.layout.type=PatternLayout
appender.stderr.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.stderr.ref=STDERR
`;
}

/** A combined broker and controller, what the apache/kafka image starts with no configuration. */
const singleNode = `process.roles=broker,controller
node.id=1
controller.quorum.voters=1@localhost:9093
listeners=PLAINTEXT://:9092,CONTROLLER://:9093
inter.broker.listener.name=PLAINTEXT
advertised.listeners=PLAINTEXT://localhost:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
log.dirs=/tmp/kraft-combined-logs
`;

const dockerRun = `#!/bin/sh
# The image's default command. As in apache/kafka: with no KAFKA_* settings it
# runs the single-node defaults; otherwise every KAFKA_FOO_BAR=x becomes
# foo.bar=x (__ stands for _ and ___ for -). The properties go to /tmp because
# /opt/kafka is shared between containers here.
set -e
props=/tmp/server.properties
names=$(env | sed -n 's/^\\(KAFKA_[A-Za-z0-9_]*\\)=.*/\\1/p' | sort -u)
settings=""
for name in $names; do
  case "$name" in
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_LOG4J_OPTS|KAFKA_JMX_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_DEBUG|KAFKA_HOME|KAFKA_VERSION|KAFKA_LOG4J_ROOT_LOGLEVEL|KAFKA_LOG4J_LOGGERS|KAFKA_TOOLS_LOG4J_LOGLEVEL) continue ;;
  esac
  key=$(printf '%s' "\${name#KAFKA_}" | sed -e 's/___/-/g' -e 's/__/@/g' -e 's/_/./g' -e 's/@/_/g' | tr 'A-Z' 'a-z')
  settings="\${settings}\${key}=$(printenv "$name")
"
done
if [ -n "$settings" ]; then
  printf '%s' "$settings" > "$props"
else
  cp /etc/kafka/docker/server.properties "$props"
fi
${home}/bin/kafka-storage.sh format --cluster-id "\${CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}" --config "$props" --ignore-formatted
exec ${home}/bin/kafka-server-start.sh "$props"
`;
