/**
 * The operator descriptor: everything the tools around an operator need to
 * know of it, in one value. `runOperator()` runs it, the `ballast` CLI
 * installs its CRDs, shows and rolls its objects, the chart generator writes
 * its CRDs and RBAC, the build bundles its entry point. A new operator is a
 * new descriptor; none of those tools name a data system.
 *
 * `build` is the only part that runs the operator: it returns the
 * controllers to add to a Manager and what to close after the Manager
 * stopped; it does not create the Manager, so several operators can share
 * one process (`ballast run`) as well as run alone (a Deployment each).
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject } from "../client/types.ts";
import type { ResourceDefinition } from "../crd/define.ts";
import type { EventRecorder, EventRecorderOptions } from "../events/recorder.ts";
import type { Runnable } from "../manager/manager.ts";
import type { MetricsRegistry } from "../metrics/registry.ts";
import type { Logger } from "../reconcile/reconciler.ts";
import type { DeclaredOperatorRules } from "./rbac.ts";
import type { Style } from "./text.ts";

/** What `build` gets from the process that runs the operator. */
export interface OperatorContext {
  /** Only watch these namespaces; empty: all of them. */
  readonly namespaces: readonly string[];
  /** The Manager's registry: register the operator's own metrics here. */
  readonly metrics: MetricsRegistry;
  readonly log: Logger;
  /** An event recorder that the Manager flushes and closes on shutdown. */
  eventRecorder(options: EventRecorderOptions): EventRecorder;
}

/** What `build` returns: what runs under the Manager, and what to close after it stopped. */
export interface OperatorParts {
  readonly controllers: readonly Runnable[];
  /** Runs once the Manager has stopped (e.g. closes connections to the data system). */
  cleanup?(): Promise<void>;
}

/** How `ballast roll` asks for a rolling restart: an annotation set to the current time. */
export interface RestartAnnotation {
  /** e.g. `kafka.ballast.dev/restart-requested`; a new value is a new request. */
  readonly annotation: string;
  /** The kinds that honour it (a subset of the operator's `crds`). */
  readonly kinds: readonly ResourceDefinition[];
}

/** How `ballast status` shows one object. */
export interface StatusViewOptions {
  readonly style: Style;
  readonly now: Date;
}

/**
 * Text for one object of the operator's kinds, or `undefined` for a kind it
 * has no view of (the CLI then shows a generic one: conditions, generation).
 */
export type StatusView = (object: KubeObject, options: StatusViewOptions) => string | undefined;

/** What `defineOperator()` takes; fields with defaults are optional. */
export interface OperatorSpec<Options extends object = object> {
  /**
   * Lower-case DNS label, e.g. `kafka`: names the bundle
   * (`kafka-operator.mjs`), the chart's `operators.kafka`, and
   * `ballast run --operator kafka`.
   */
  name: string;
  /** The custom resources it reconciles; their CRDs are installed with it. */
  crds: readonly ResourceDefinition[];
  /** Its permissions (the runtime adds the CRD installer's and the leader elector's). */
  rules: DeclaredOperatorRules;
  /**
   * The field manager of every write, one per operator, so managed fields
   * say which operator set a field. @default `ballast-<name>-operator`
   */
  fieldManager?: string;
  /**
   * The leader Lease's name when nothing else is given (the chart gives its
   * own, named after the release). @default `ballast-<name>-operator`
   */
  leaseName?: string;
  /** Absolute path of its entry point (a file calling `runOperator`), which the build bundles. */
  entry: string;
  /** The annotation `ballast roll` sets; without it, nothing of the operator can be rolled. */
  restart?: RestartAnnotation;
  /** Loads the `ballast status` view; loaded only by the command that shows one. */
  status?: () => Promise<StatusView>;
  /** Makes its controllers (not started) and what to close after they stopped. */
  build(client: KubeClient, context: OperatorContext, options?: Options): OperatorParts;
}

/** A defined operator: the spec with its defaults filled in. */
export interface OperatorDescriptor<Options extends object = object>
  extends Readonly<OperatorSpec<Options>> {
  readonly fieldManager: string;
  readonly leaseName: string;
}

/** Thrown by `defineOperator` for a descriptor that cannot work; names the bad value. */
export class OperatorDefinitionError extends Error {
  override name = "OperatorDefinitionError";
}

const dnsLabel = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Checks a descriptor and fills in its defaults. Throws OperatorDefinitionError. */
export function defineOperator<Options extends object = object>(
  spec: OperatorSpec<Options>,
): OperatorDescriptor<Options> {
  const { name } = spec;
  if (!dnsLabel.test(name) || name.length > 40) {
    throw new OperatorDefinitionError(
      `operator name ${JSON.stringify(name)} must be a lower-case DNS label of at most 40 characters`,
    );
  }
  const crdNames = spec.crds.map((c) => c.crdName);
  const twice = crdNames.find((n, i) => crdNames.indexOf(n) !== i);
  if (twice) throw new OperatorDefinitionError(`operator ${name}: CRD ${twice} is listed twice`);
  for (const kind of spec.restart?.kinds ?? []) {
    if (!spec.crds.includes(kind)) {
      throw new OperatorDefinitionError(
        `operator ${name}: restart kind ${kind.kind} is not one of its crds (${crdNames.join(", ")})`,
      );
    }
  }
  if (!spec.entry.startsWith("/") && !/^[A-Za-z]:[\\/]/.test(spec.entry)) {
    throw new OperatorDefinitionError(
      `operator ${name}: entry ${JSON.stringify(spec.entry)} must be an absolute path (e.g. fileURLToPath(new URL("./main.ts", import.meta.url)))`,
    );
  }
  return Object.freeze({
    ...spec,
    fieldManager: spec.fieldManager ?? `ballast-${name}-operator`,
    leaseName: spec.leaseName ?? `ballast-${name}-operator`,
  });
}

/**
 * The namespaces to run one set of controllers in: each given one, or a
 * single `undefined` (all namespaces). `suffix` tells same-kind controllers
 * apart in metrics and logs when there are several (`-<namespace>`).
 */
export function watchScopes(
  namespaces: readonly string[],
): { namespace: string | undefined; suffix: string }[] {
  if (namespaces.length === 0) return [{ namespace: undefined, suffix: "" }];
  return namespaces.map((namespace) => ({
    namespace,
    suffix: namespaces.length > 1 ? `-${namespace}` : "",
  }));
}
