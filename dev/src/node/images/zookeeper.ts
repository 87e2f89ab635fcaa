/**
 * `zookeeper:<version>` (the Docker official image): the real ZooKeeper server
 * and CLI from the jars Maven Central publishes for that version, run by the
 * host's Java.
 *
 * Layout, as in the official image: the distribution at
 * /apache-zookeeper-<version>-bin (bin/ on PATH, lib/, conf/), the entrypoint
 * /docker-entrypoint.sh writing $ZOO_CONF_DIR/zoo.cfg from ZOO_* variables
 * when there is none, and the command `zkServer.sh start-foreground`. One
 * difference: /conf, /data, /datalog and /logs belong to the image's own root
 * filesystem in Docker, but here containers share the host's, so the
 * entrypoint moves each one that no volume covers into the container's
 * private /tmp (mount a volume there, as one does in Kubernetes, to keep it).
 */
import { join } from "node:path";
import { ImagePullError } from "../image-error.ts";
import type { ImageRuntime, ImageSpec } from "../images.ts";
import { dependency, executable, javaHome, type Layout, mavenImage } from "./maven.ts";

/** `3.9.3` or `3.9.3-jre-17` → `3.9.3`; 3.8 is the first release that logs through logback. */
function parseTag(tag: string): string {
  const match = /^(\d+)\.(\d+)\.(\d+)(?:-jre-\d+)?$/.exec(tag);
  if (!match) {
    throw new ImagePullError(
      `image "zookeeper:${tag}": the tag must be a release version such as 3.9.3 (it names the Maven Central jars to run)`,
    );
  }
  const [major, minor] = [Number(match[1]), Number(match[2])];
  if (major !== 3 || minor < 8) {
    throw new ImagePullError(
      `image "zookeeper:${tag}": only ZooKeeper 3.8 and later are mapped (earlier releases log through log4j 1)`,
    );
  }
  return `${match[1]}.${match[2]}.${match[3]}`;
}

/** Whether release `version` (x.y.z) manages jline 3 (org.jline) rather than jline 2. */
export function usesJline3(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(".").map(Number);
  return major > 3 || (major === 3 && (minor > 9 || (minor === 9 && patch >= 5)));
}

export const zookeeper: ImageSpec = {
  names: ["zookeeper"],
  describe: "Apache ZooKeeper 3.8+ from its Maven Central jars, run by the host's Java",
  async prepare(tag: string): Promise<ImageRuntime> {
    const version = parseTag(tag);
    const java = javaHome();
    const prefix = `/apache-zookeeper-${version}-bin`;
    const { libs, root } = await mavenImage({
      key: `zookeeper-${version}`,
      image: `zookeeper:${tag}`,
      // The parent pom manages the versions of what the distribution ships
      // but the server's pom marks provided: the admin server, CLI, metrics.
      managed: `    <dependency><groupId>org.apache.zookeeper</groupId><artifactId>parent</artifactId><version>${version}</version><type>pom</type><scope>import</scope></dependency>`,
      dependencies: [
        dependency("org.apache.zookeeper", "zookeeper", version),
        // zookeeper-prometheus-metrics is not served by the registry here; nothing enables it by default.
        dependency("ch.qos.logback", "logback-classic"),
        dependency("commons-cli", "commons-cli"),
        // The CLI's line editor, as the parent pom manages it: jline 2
        // (jline:jline 2.14.6) up to 3.9.4, jline 3 (org.jline:jline 3.25.1)
        // from 3.9.5 (read from the parent poms of 3.9.3, 3.9.4 and 3.9.5).
        usesJline3(version) ? dependency("org.jline", "jline") : dependency("jline", "jline"),
        dependency("io.dropwizard.metrics", "metrics-core"),
        dependency("org.xerial.snappy", "snappy-java"),
        dependency("org.eclipse.jetty", "jetty-server"),
        dependency("org.eclipse.jetty", "jetty-servlet"),
        dependency("com.fasterxml.jackson.core", "jackson-databind"),
      ].join("\n"),
      main: { groupId: "org.apache.zookeeper", artifactId: "parent", version },
      layout: () => layout(prefix),
    });
    return {
      entrypoint: ["/docker-entrypoint.sh"],
      cmd: ["zkServer.sh", "start-foreground"],
      path: [join(root, "bin")],
      env: {
        JAVA_HOME: java,
        ZOO_CONF_DIR: "/conf",
        ZOO_DATA_DIR: "/data",
        ZOO_DATA_LOG_DIR: "/datalog",
        ZOO_LOG_DIR: "/logs",
        ZOO_TICK_TIME: "2000",
        ZOO_INIT_LIMIT: "5",
        ZOO_SYNC_LIMIT: "2",
        ZOO_AUTOPURGE_PURGEINTERVAL: "0",
        ZOO_AUTOPURGE_SNAPRETAINCOUNT: "3",
        ZOO_MAX_CLIENT_CNXNS: "60",
        ZOO_STANDALONE_ENABLED: "true",
        ZOO_ADMINSERVER_ENABLED: "true",
        ZOOCFGDIR: "/conf",
      },
      files: [
        { source: join(root, "bin"), target: `${prefix}/bin` },
        { source: libs, target: `${prefix}/lib` },
        { source: join(root, "conf"), target: `${prefix}/conf` },
        { source: join(root, "docker-entrypoint.sh"), target: "/docker-entrypoint.sh" },
      ],
      workingDir: prefix,
    };
  },
};

function layout(prefix: string): Layout {
  return {
    "bin/zkEnv.sh": { text: zkEnv(prefix) },
    "bin/zkImageDirs.sh": { text: imageDirs },
    "bin/zkServer.sh": executable(zkServer),
    "bin/zkCli.sh": executable(zkCli),
    "conf/logback.xml": { text: logback },
    "conf/zoo_sample.cfg": { text: sample },
    "docker-entrypoint.sh": executable(entrypoint(prefix)),
  };
}

/** Shared by the bin scripts, as the distribution's zkEnv.sh is. */
const zkEnv = (prefix: string) => `# Sourced by zkServer.sh and zkCli.sh.
ZOOKEEPER_PREFIX=${prefix}
ZOOBINDIR=$ZOOKEEPER_PREFIX/bin
. "$ZOOBINDIR/zkImageDirs.sh"
# Where the entrypoint put them, so that \`kubectl exec … zkServer.sh status\` finds them too.
image_dir ZOOCFGDIR
image_dir ZOO_LOG_DIR
ZOOCFGDIR=\${ZOOCFGDIR:-$ZOOKEEPER_PREFIX/conf}
ZOOCFG=\${ZOOCFG:-zoo.cfg}
ZOO_LOG_DIR=\${ZOO_LOG_DIR:-/tmp/zookeeper-logs}
ZOO_LOG_FILE=\${ZOO_LOG_FILE:-zookeeper.log}
if [ -f "$ZOOCFGDIR/logback.xml" ]; then LOGBACK="$ZOOCFGDIR/logback.xml"; else LOGBACK="$ZOOKEEPER_PREFIX/conf/logback.xml"; fi
CLASSPATH="$ZOOCFGDIR:$ZOOKEEPER_PREFIX/lib/*\${CLASSPATH:+:$CLASSPATH}"
JAVA=\${JAVA_HOME:+$JAVA_HOME/bin/}java
# The distribution's server heap is 1000 MB; local nodes share two cores and little else.
ZK_SERVER_HEAP=\${ZK_SERVER_HEAP:-256}
ZK_CLIENT_HEAP=\${ZK_CLIENT_HEAP:-128}
`;

const zkServer = `#!/bin/sh
# zkServer.sh [--config <dir>] {start|start-foreground|stop|restart|status|print-cmd|version} [config file]
if [ "$1" = "--config" ]; then
  ZOOCFGDIR=$2
  shift 2
fi
. "$(dirname "$0")/zkEnv.sh"
if [ -n "$2" ]; then
  case "$2" in
    /*) ZOOCFG=$2 ;;
    *) ZOOCFG="$ZOOCFGDIR/$2" ;;
  esac
else
  ZOOCFG="$ZOOCFGDIR/$ZOOCFG"
fi
if [ ! -f "$ZOOCFG" ]; then
  echo "ZooKeeper configuration $ZOOCFG does not exist" >&2
  exit 1
fi
setting() { sed -n "s/^[[:space:]]*$1[[:space:]]*=[[:space:]]*//p" "$ZOOCFG" | tail -n 1; }
ZOO_DATADIR=$(setting dataDir)
ZOOPIDFILE=\${ZOOPIDFILE:-\${ZOO_DATADIR:-/tmp}/zookeeper_server.pid}
mkdir -p "$ZOO_LOG_DIR"
run() {
  "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=$ZOO_LOG_FILE" \\
    "-Dlogback.configurationFile=file:$LOGBACK" \\
    -XX:+HeapDumpOnOutOfMemoryError "-XX:OnOutOfMemoryError=kill -9 %p" \\
    -cp "$CLASSPATH" "-Xmx\${ZK_SERVER_HEAP}m" $JVMFLAGS $SERVER_JVMFLAGS \\
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFG"
}
client_port() {
  port=$(setting clientPort)
  if [ -z "$port" ]; then
    port=$(sed -n 's/^[[:space:]]*server\\.[0-9]*[[:space:]]*=.*;\\([^;:]*:\\)\\{0,1\\}\\([0-9]*\\)[[:space:]]*$/\\2/p' "$ZOOCFG" | head -n 1)
  fi
  echo "\${port:-2181}"
}
case "$1" in
  start-foreground)
    exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=$ZOO_LOG_FILE" \\
      "-Dlogback.configurationFile=file:$LOGBACK" \\
      -XX:+HeapDumpOnOutOfMemoryError "-XX:OnOutOfMemoryError=kill -9 %p" \\
      -cp "$CLASSPATH" "-Xmx\${ZK_SERVER_HEAP}m" $JVMFLAGS $SERVER_JVMFLAGS \\
      org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOOCFG"
    ;;
  start)
    run > "$ZOO_LOG_DIR/zookeeper.out" 2>&1 < /dev/null &
    echo $! > "$ZOOPIDFILE"
    echo STARTED
    ;;
  stop)
    if [ -f "$ZOOPIDFILE" ]; then
      kill "$(cat "$ZOOPIDFILE")" && rm -f "$ZOOPIDFILE"
      echo STOPPED
    else
      echo "no zookeeper to stop (could not find file $ZOOPIDFILE)"
    fi
    ;;
  restart)
    "$0" stop "$2"
    sleep 3
    "$0" start "$2"
    ;;
  status)
    out=$("$JAVA" -cp "$CLASSPATH" "-Xmx\${ZK_CLIENT_HEAP}m" -Dlogback.configurationFile=file:$LOGBACK \\
      org.apache.zookeeper.client.FourLetterWordMain localhost "$(client_port)" srvr 2> /dev/null)
    mode=$(echo "$out" | sed -n 's/^Mode: //p')
    if [ -z "$mode" ]; then
      echo "Error contacting service. It is probably not running." >&2
      exit 1
    fi
    echo "Client port found: $(client_port)."
    echo "Mode: $mode"
    ;;
  print-cmd)
    echo "\\"$JAVA\\" -Dzookeeper.log.dir=$ZOO_LOG_DIR -Dlogback.configurationFile=file:$LOGBACK -cp \\"$CLASSPATH\\" -Xmx\${ZK_SERVER_HEAP}m $JVMFLAGS $SERVER_JVMFLAGS org.apache.zookeeper.server.quorum.QuorumPeerMain \\"$ZOOCFG\\""
    ;;
  version)
    exec "$JAVA" -cp "$CLASSPATH" org.apache.zookeeper.version.VersionInfoMain
    ;;
  *)
    echo "Usage: $0 [--config <conf-dir>] {start|start-foreground|stop|restart|status|print-cmd|version}" >&2
    exit 1
    ;;
esac
`;

const zkCli = `#!/bin/sh
# zkCli.sh [-server host:port] [command args…]
. "$(dirname "$0")/zkEnv.sh"
exec "$JAVA" "-Dzookeeper.log.dir=$ZOO_LOG_DIR" "-Dzookeeper.log.file=zookeeper-cli.log" \\
  "-Dlogback.configurationFile=file:$LOGBACK" -Dzookeeper.root.logger=WARN \\
  -cp "$CLASSPATH" "-Xmx\${ZK_CLIENT_HEAP}m" $CLIENT_JVMFLAGS $JVMFLAGS \\
  org.apache.zookeeper.ZooKeeperMain "$@"
`;

const logback = `<!-- Console only: kubectl logs is where a container's log belongs. -->
<configuration>
  <property name="zookeeper.console.threshold" value="INFO" />
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern>
    </encoder>
    <filter class="ch.qos.logback.classic.filter.ThresholdFilter">
      <level>\${zookeeper.console.threshold}</level>
    </filter>
  </appender>
  <root level="\${zookeeper.root.logger:-INFO}">
    <appender-ref ref="CONSOLE" />
  </root>
</configuration>
`;

const sample = `tickTime=2000
initLimit=10
syncLimit=5
dataDir=/tmp/zookeeper
clientPort=2181
`;

/**
 * /conf, /data, /datalog and /logs are the image's own directories in Docker;
 * here the host's filesystem is shared, so those no volume covers live in the
 * container's private /tmp. Sourced by the entrypoint and by zkEnv.sh.
 */
const imageDirs = `on_volume() { awk -v p="$1" '$5 == p { found = 1 } END { exit !found }' /proc/self/mountinfo; }
# image_dir VAR: if $VAR is one of the image's directories and no volume is
# mounted there, point VAR at its private copy under /tmp.
image_dir() {
  eval "image_dir_path=\\\${$1}"
  case "$image_dir_path" in
    /conf|/data|/datalog|/logs)
      if ! on_volume "$image_dir_path"; then
        eval "$1=/tmp/zookeeper$image_dir_path"
        export "$1"
      fi
      ;;
  esac
}
`;

const entrypoint = (prefix: string) => `#!/bin/sh
# The image's entrypoint, after the official image's docker-entrypoint.sh.
set -e
. ${prefix}/bin/zkImageDirs.sh
for var in ZOO_CONF_DIR ZOO_DATA_DIR ZOO_DATA_LOG_DIR ZOO_LOG_DIR ZOOCFGDIR; do
  image_dir "$var"
done
mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR" "$ZOO_DATA_LOG_DIR" "$ZOO_LOG_DIR"

if [ ! -f "$ZOO_CONF_DIR/zoo.cfg" ]; then
  CONFIG="$ZOO_CONF_DIR/zoo.cfg"
  {
    echo "dataDir=$ZOO_DATA_DIR"
    echo "dataLogDir=$ZOO_DATA_LOG_DIR"
    echo "tickTime=$ZOO_TICK_TIME"
    echo "initLimit=$ZOO_INIT_LIMIT"
    echo "syncLimit=$ZOO_SYNC_LIMIT"
    echo "autopurge.snapRetainCount=$ZOO_AUTOPURGE_SNAPRETAINCOUNT"
    echo "autopurge.purgeInterval=$ZOO_AUTOPURGE_PURGEINTERVAL"
    echo "maxClientCnxns=$ZOO_MAX_CLIENT_CNXNS"
    echo "standaloneEnabled=$ZOO_STANDALONE_ENABLED"
    echo "admin.enableServer=$ZOO_ADMINSERVER_ENABLED"
    if [ -n "$ZOO_4LW_COMMANDS_WHITELIST" ]; then
      echo "4lw.commands.whitelist=$ZOO_4LW_COMMANDS_WHITELIST"
    fi
    for entry in $ZOO_CFG_EXTRA; do echo "$entry"; done
    for server in \${ZOO_SERVERS:-server.1=localhost:2888:3888;2181}; do echo "$server"; done
  } > "$CONFIG"
fi
if [ ! -f "$ZOO_DATA_DIR/myid" ]; then
  echo "\${ZOO_MY_ID:-1}" > "$ZOO_DATA_DIR/myid"
fi
exec "$@"
`;
