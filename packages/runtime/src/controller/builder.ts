/**
 * `controller()`: the builder. Sugar only: every verb fills one field of a
 * `ControllerSpec`, and `build()` is `new Controller(spec)`.
 *
 * ```ts
 * const greetings = controller(client, Greeting)
 *   .owns({ apiVersion: "v1", kind: "ConfigMap" })
 *   .withOptions({ maxConcurrentReconciles: 2 })
 *   .build(async (ref, ctx) => { ...; return Action.done(); });
 * ```
 */
import type { KubeClient } from "../client/client.ts";
import type { KubeObject, ResourceType } from "../client/types.ts";
import type { ResourceDefinition, ResourceOf } from "../crd/define.ts";
import type { ObjectRef } from "../reconcile/object-ref.ts";
import {
  Controller,
  type ControllerOptions,
  type ControllerReconciler,
  type ControllerSpec,
  type Source,
} from "./controller.ts";
import type { Predicate } from "./predicate.ts";

/** Where to watch a `watches()` kind. */
export interface WatchOptions {
  /** @default the controller's namespace */
  namespace?: string;
  labelSelector?: string;
}

export class ControllerBuilder<T extends KubeObject = KubeObject> {
  readonly #client: KubeClient;
  readonly #primary: ResourceType;
  readonly #owns: ResourceType[] = [];
  readonly #watches: Source[] = [];
  readonly #predicates: Predicate<T>[] = [];
  #options: ControllerOptions = {};

  constructor(client: KubeClient, primary: ResourceType) {
    this.#client = client;
    this.#primary = { apiVersion: primary.apiVersion, kind: primary.kind };
  }

  /**
   * Reconciles the controlling owner of every `type` object that changes.
   * Replaces `watches(type, object => [its controller owner])`.
   */
  owns(type: ResourceType): this {
    this.#owns.push({ apiVersion: type.apiVersion, kind: type.kind });
    return this;
  }

  /** Reconciles the primary objects `map` names whenever a `type` object changes. */
  watches<U extends KubeObject = KubeObject>(
    type: ResourceType,
    map: (object: U) => Iterable<ObjectRef>,
    options: WatchOptions = {},
  ): this {
    this.#watches.push({
      type: { apiVersion: type.apiVersion, kind: type.kind },
      map: map as (object: KubeObject) => Iterable<ObjectRef>,
      ...options,
    });
    return this;
  }

  /** Drops primary events the predicate rejects (e.g. `generationChanged`). */
  withEventFilter(predicate: Predicate<T>): this {
    this.#predicates.push(predicate);
    return this;
  }

  /** Merges `options` into those given before. */
  withOptions(options: ControllerOptions): this {
    this.#options = { ...this.#options, ...options };
    return this;
  }

  /** Shorthand for `withOptions({ name })`. */
  named(name: string): this {
    return this.withOptions({ name });
  }

  /** The spec the builder describes, for callers assembling a `Controller` by hand. */
  spec(reconcile: ControllerReconciler<T>): ControllerSpec<T> {
    return {
      client: this.#client,
      primary: this.#primary,
      owns: [...this.#owns],
      watches: [...this.#watches],
      predicates: [...this.#predicates],
      options: { ...this.#options },
      reconcile,
    };
  }

  build(reconcile: ControllerReconciler<T>): Controller<T> {
    return new Controller(this.spec(reconcile));
  }
}

/**
 * Starts a controller for `primary`: a `defineResource()` definition (the
 * object type is inferred) or any `{ apiVersion, kind }`.
 */
// biome-ignore lint/suspicious/noExplicitAny: matches a definition of any spec and status
export function controller<D extends ResourceDefinition<string, string, any, any>>(
  client: KubeClient,
  primary: D,
): ControllerBuilder<ResourceOf<D>>;
export function controller<T extends KubeObject = KubeObject>(
  client: KubeClient,
  primary: ResourceType,
): ControllerBuilder<T>;
// biome-ignore lint/suspicious/noExplicitAny: the overloads above give the type
export function controller(client: KubeClient, primary: ResourceType): ControllerBuilder<any> {
  return new ControllerBuilder(client, primary);
}
