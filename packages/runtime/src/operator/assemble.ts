/**
 * One Manager for one or several operators: each operator's controllers are
 * built with its own client (so every write carries its field manager) and
 * added to the one Manager (one set of HTTP endpoints, one Lease, one
 * shutdown). `runOperator()` and `ballast run` both assemble this way.
 */
import type { KubeClient } from "../client/client.ts";
import { Manager, type ManagerOptions } from "../manager/manager.ts";
import type { OperatorDescriptor, OperatorParts } from "./descriptor.ts";

/** One operator to assemble, with the client its writes go through. */
export interface OperatorInstance {
  descriptor: OperatorDescriptor;
  /** A client whose field manager is the descriptor's. */
  client: KubeClient;
  /** Passed to `build` as its third argument (e.g. test doubles for the data system). */
  options?: object;
}

export interface AssembleOptions extends Omit<ManagerOptions, "client"> {
  /** Only watch these namespaces. @default all */
  namespaces?: readonly string[];
}

export interface AssembledOperators {
  manager: Manager;
  /** Every operator's cleanup, last built first; call once the Manager has stopped. */
  cleanup(): Promise<void>;
}

/**
 * Builds every operator's controllers under one new Manager, whose own
 * client (leases, events, shared informers) is the first operator's.
 * If one `build` throws, what the earlier ones built is cleaned up.
 */
export function assembleOperators(
  operators: readonly OperatorInstance[],
  options: AssembleOptions = {},
): AssembledOperators {
  const [first] = operators;
  if (!first) throw new TypeError("assembleOperators needs at least one operator");
  const { namespaces = [], ...managerOptions } = options;
  const manager = new Manager({ client: first.client, ...managerOptions });
  const built: { name: string; parts: OperatorParts }[] = [];
  const cleanup = async () => {
    const failures: unknown[] = [];
    for (const { name, parts } of built.toReversed()) {
      try {
        await parts.cleanup?.();
      } catch (error) {
        manager.log.error("operator cleanup failed", { operator: name, error });
        failures.push(error);
      }
    }
    built.length = 0;
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, "operator cleanups failed");
  };
  try {
    for (const { descriptor, client, options: buildOptions } of operators) {
      const parts = descriptor.build(
        client,
        {
          namespaces: [...namespaces],
          metrics: manager.metrics,
          log: manager.log,
          eventRecorder: (o) => manager.eventRecorder(o),
        },
        buildOptions,
      );
      built.push({ name: descriptor.name, parts });
      for (const controller of parts.controllers) manager.add(controller);
    }
  } catch (error) {
    // Nothing was started: close what the operators built so far (connections, pools).
    void cleanup().catch(() => {});
    throw error;
  }
  return { manager, cleanup };
}
