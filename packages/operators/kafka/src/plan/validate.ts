/**
 * Is every `spec.config` value one Kafka will accept? Pure: the types come
 * from the caller (what the running brokers report through DescribeConfigs,
 * or `knownTypes` when no broker answers yet), the rules that span fields
 * (a replication factor or min ISR larger than the brokers) from the spec.
 *
 * Kafka's own parser (`ConfigDef.parseType`) is what these checks mirror:
 * numbers are Java integers of the key's width (surrounding blanks
 * trimmed), booleans `true`/`false` in any case. Ranges (`atLeast(1)`) are
 * not reported by DescribeConfigs; a dynamic key's range is checked by
 * Kafka itself (IncrementalAlterConfigs validateOnly, see
 * cluster/validate.ts); a read-only key's range only shows when a broker
 * starts with it, which the roll's halt reports (plan/halt.ts).
 */

/** Kafka's `ConfigEntry.ConfigType`, by its wire id in DescribeConfigs v3+. */
export type ConfigType =
  | "unknown"
  | "boolean"
  | "string"
  | "int"
  | "short"
  | "long"
  | "double"
  | "list"
  | "class"
  | "password";

const TYPE_IDS: readonly ConfigType[] = [
  "unknown",
  "boolean",
  "string",
  "int",
  "short",
  "long",
  "double",
  "list",
  "class",
  "password",
];

/** The type DescribeConfigs' `config_type` id names. */
export function configTypeOf(id: number): ConfigType {
  return TYPE_IDS[id] ?? "unknown";
}

/**
 * Types of keys the operator checks before any broker answers (bring-up):
 * the ones the cross-field rules read and a few often mistyped, as Kafka
 * 3.9/4.x define them.
 */
export const knownTypes: ReadonlyMap<string, ConfigType> = new Map<string, ConfigType>([
  ["min.insync.replicas", "int"],
  ["default.replication.factor", "int"],
  ["offsets.topic.replication.factor", "short"],
  ["transaction.state.log.replication.factor", "short"],
  ["transaction.state.log.min.isr", "int"],
  ["num.partitions", "int"],
  ["log.retention.hours", "int"],
  ["log.retention.minutes", "int"],
  ["log.retention.ms", "long"],
  ["log.retention.bytes", "long"],
  ["log.segment.bytes", "int"],
  ["message.max.bytes", "int"],
  ["auto.create.topics.enable", "boolean"],
  ["unclean.leader.election.enable", "boolean"],
  ["delete.topic.enable", "boolean"],
  ["auto.leader.rebalance.enable", "boolean"],
  ["controlled.shutdown.enable", "boolean"],
]);

/** One value Kafka would not accept, and why. */
export interface ConfigProblem {
  readonly key: string;
  readonly value: string;
  /** Kafka's reason or the rule, as a clause: "is not an int", "exceeds the 3 brokers". */
  readonly reason: string;
}

export interface ConfigCheckContext {
  /** spec.brokers: what the cross-field rules compare against. */
  readonly brokers: number;
  /** Each key's type, as the brokers report it (or `knownTypes`); keys missing here are not type-checked. */
  readonly types: ReadonlyMap<string, ConfigType>;
}

const RANGES: Partial<Record<ConfigType, readonly [bigint, bigint]>> = {
  short: [-(2n ** 15n), 2n ** 15n - 1n],
  int: [-(2n ** 31n), 2n ** 31n - 1n],
  long: [-(2n ** 63n), 2n ** 63n - 1n],
};

/** Java's Double.parseDouble, decimal forms (a trailing d/f type suffix allowed). */
const doublePattern = /^[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[dDfF]?)$/;

/** Why `value` is not a `type` as Kafka parses it, or undefined when it is one. */
export function typeProblem(type: ConfigType, value: string): string | undefined {
  const trimmed = value.trim();
  switch (type) {
    case "boolean":
      return /^(true|false)$/i.test(trimmed) ? undefined : "is not a boolean (true or false)";
    case "short":
    case "int":
    case "long": {
      const range = RANGES[type];
      if (!range || !/^[+-]?\d+$/.test(trimmed)) return `is not a number of type ${type}`;
      const n = BigInt(trimmed);
      return n < range[0] || n > range[1]
        ? `is out of range for type ${type} (${range[0]} to ${range[1]})`
        : undefined;
    }
    case "double":
      return doublePattern.test(trimmed) ? undefined : "is not a number of type double";
    default:
      return undefined;
  }
}

/** Keys that must not exceed the brokers, and what breaks if they do. */
const AT_MOST_BROKERS: ReadonlyMap<string, string> = new Map([
  ["min.insync.replicas", "every acks=all write would be refused"],
  ["default.replication.factor", "topics created without a replication factor would fail"],
  ["offsets.topic.replication.factor", "consumer groups could not commit offsets"],
  ["transaction.state.log.replication.factor", "transactional producers could not start"],
  ["transaction.state.log.min.isr", "transactions could never commit"],
]);

/** Every problem with `config` (the user's spec.config, stringified), sorted by key; empty when Kafka would take it. */
export function configProblems(
  config: Readonly<Record<string, string>>,
  context: ConfigCheckContext,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(config).sort()) {
    const value = config[key] ?? "";
    const type = context.types.get(key);
    const wrongType = type ? typeProblem(type, value) : undefined;
    if (wrongType) {
      problems.push({ key, value, reason: wrongType });
      continue;
    }
    const consequence = AT_MOST_BROKERS.get(key);
    if (consequence !== undefined) {
      const n = Number(value.trim());
      if (n < 1) problems.push({ key, value, reason: "must be at least 1" });
      else if (n > context.brokers)
        problems.push({
          key,
          value,
          reason: `exceeds the ${context.brokers} broker(s) of spec.brokers: ${consequence}`,
        });
    }
  }
  return problems;
}

/** "spec.config min.insync.replicas=7 exceeds the 3 broker(s) …": what status says of one problem. */
export function describeConfigProblem(p: ConfigProblem): string {
  return `spec.config ${p.key}=${JSON.stringify(p.value)} ${p.reason}`;
}
