/**
 * Every Ballast operator, by name: the one list that the `ballast` command,
 * the chart generator (scripts/generate-chart.ts) and the build
 * (scripts/build.ts) read. A new operator joins by adding its line here;
 * everything else loops over the descriptors.
 *
 * Loaded on use: an operator's package brings its data system's client with
 * it, so `ballast --help` and `ballast dev …` load none, and a command loads
 * the descriptors only once it needs them.
 */
import type { OperatorDescriptor } from "@ballast/runtime";

const registry = {
  kafka: async () => (await import("@ballast/kafka")).kafka,
  zookeeper: async () => (await import("@ballast/zookeeper")).zookeeper,
  redis: async () => (await import("@ballast/redis")).redis,
  postgres: async () => (await import("@ballast/postgres")).postgres,
} satisfies Record<string, () => Promise<OperatorDescriptor>>;

export type OperatorName = keyof typeof registry;

/** The names, in the order tools list them. */
export const operatorNames = Object.keys(registry) as OperatorName[];

/** Thrown for a name that is not an operator's; the message lists the ones there are. */
export class UnknownOperatorError extends Error {
  override name = "UnknownOperatorError";
  readonly operator: string;
  constructor(operator: string) {
    super(`unknown operator "${operator}": expected one of ${operatorNames.join(", ")}`);
    this.operator = operator;
  }
}

function isOperatorName(name: string): name is OperatorName {
  return Object.hasOwn(registry, name);
}

/** The descriptors of `names` (default: every operator), in registry order. */
export async function loadOperators(
  names: readonly string[] = operatorNames,
): Promise<OperatorDescriptor[]> {
  for (const name of names) if (!isOperatorName(name)) throw new UnknownOperatorError(name);
  const wanted = operatorNames.filter((n) => names.includes(n));
  return Promise.all(
    wanted.map(async (name) => {
      const descriptor = await registry[name]();
      if (descriptor.name !== name) {
        throw new Error(`the registry's ${name} loads the descriptor of ${descriptor.name}`);
      }
      return descriptor;
    }),
  );
}
