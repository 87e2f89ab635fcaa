/**
 * A fake API server for act-layer tests of a member-set pipeline: objects
 * kept by kind and name, every write recorded in order, a kubelet that
 * starts pods when told, and a `ControllerContext` whose `owned()` reads
 * from the store. The pipeline under test is the real one; only its ports
 * are fake, so a test drives it reconcile by reconcile and kills the
 * operator before any write (`killBefore`) to see that it resumes from
 * status.
 *
 * A system's fake data port logs its own calls (a reassignment, a
 * reconfig) into the same ordered list through `record`, so a test asserts
 * the order of Kubernetes writes and data-system calls together. Only what
 * the shared acts call is implemented; any other client method fails the
 * test.
 */
import assert from "node:assert/strict";
import {
  type ControllerContext,
  createLogger,
  KubeApiError,
  type KubeClient,
  type KubeObject,
} from "@ballast/runtime";
import type { MemberId } from "../members/ids.ts";
import type { Operation } from "../operation/operation.ts";
import type { PodLike } from "../pods/pods.ts";

export type Stored = KubeObject & Record<string, unknown>;

/** One write the pipeline made to the API server. */
export type KubeWrite =
  | { verb: "create" | "apply" | "delete"; kind: string; name: string }
  | { verb: "applyStatus"; kind: string; name: string; operation: Operation | undefined };

/** Thrown by the write a test chose to kill the operator before. */
export class OperatorKilled extends Error {
  override name = "OperatorKilled";
}

export interface FakeKubernetesOptions {
  /** The owner's kind, as `controllerContext()` reads it: `KafkaCluster`, `ZooKeeperEnsemble`. */
  ownerKind: string;
  /** The pod label that carries the member id, read by `startPods()`. */
  memberLabel: string;
}

/** What the API server stores: a Secret's `stringData` merged into `data`, base64. */
function asStored(object: Stored): Stored {
  const stored = structuredClone(object) as Stored & {
    data?: Record<string, string>;
    stringData?: Record<string, string>;
  };
  if (stored.kind === "Secret" && stored.stringData) {
    const encoded = Object.entries(stored.stringData).map(
      ([k, v]) => [k, Buffer.from(v).toString("base64")] as const,
    );
    stored.data = { ...stored.data, ...Object.fromEntries(encoded) };
    delete stored.stringData;
  }
  return stored;
}

function refusal(code: number, reason: string, kind: string, name: string): KubeApiError {
  return new KubeApiError({ code, reason, message: `${kind} ${name}: ${reason}` }, code, {
    kind,
    name,
  });
}

/**
 * The API server; `X` is the extra calls a system's fake data port records
 * (`{ verb: "reconfig"; … }`), in the same list as the writes.
 */
export class FakeKubernetes<X extends { verb: string } = never> {
  readonly ownerKind: string;
  readonly memberLabel: string;
  readonly objects = new Map<string, Stored>();
  /** Every write (and every call `record`ed by a data port), in order. */
  readonly calls: (KubeWrite | X)[] = [];
  /** The operator dies right before the next call this matches; then it is cleared. */
  killBefore: ((call: KubeWrite | X) => boolean) | undefined;
  /** The API server refuses a create or apply this answers for (a 422, a quota's 403), until cleared. */
  refuse:
    | ((verb: "create" | "apply", kind: string, name: string) => KubeApiError | undefined)
    | undefined;
  #uids = 0;

  constructor(options: FakeKubernetesOptions) {
    this.ownerKind = options.ownerKind;
    this.memberLabel = options.memberLabel;
  }

  /** Records `call`, unless the operator is to die right before it (then throws `OperatorKilled`). */
  record(call: KubeWrite | X): void {
    if (this.killBefore?.(call)) {
      this.killBefore = undefined;
      throw new OperatorKilled(`killed before ${JSON.stringify(call).slice(0, 120)}`);
    }
    this.calls.push(call);
  }

  get(kind: string, name: string): Stored | undefined {
    return this.objects.get(`${kind}/${name}`);
  }

  list(kind: string): Stored[] {
    return [...this.objects.values()].filter((o) => o.kind === kind);
  }

  /** Stores `object` as is, without recording a write (the test's own hand). */
  put(object: Stored): void {
    this.objects.set(`${object.kind ?? ""}/${object.metadata.name ?? ""}`, object);
  }

  /** Removes an object without recording a write (a node that went away). */
  remove(kind: string, name: string): void {
    this.objects.delete(`${kind}/${name}`);
  }

  /** Deletions in order, as `Pod/k-1`, of `kind` or of every kind. */
  deleted(kind?: string): string[] {
    return this.calls.flatMap((c) =>
      c.verb === "delete" && "kind" in c && (!kind || c.kind === kind)
        ? [`${c.kind}/${c.name}`]
        : [],
    );
  }

  /** The subset of `KubeClient` the shared acts use. */
  client(): KubeClient {
    const api = this;
    const held = (kind: string, name: string): Stored => {
      const found = api.get(kind, name);
      if (!found) throw refusal(404, "NotFound", kind, name);
      return found;
    };
    const fake = {
      async get(type: { kind: string }, ref: { name: string }) {
        return structuredClone(held(type.kind, ref.name));
      },
      async create(object: Stored) {
        const kind = object.kind ?? "";
        const name = object.metadata.name ?? "";
        if (api.get(kind, name)) throw refusal(409, "AlreadyExists", kind, name);
        const refused = api.refuse?.("create", kind, name);
        if (refused) throw refused;
        api.record({ verb: "create", kind, name });
        const stored = asStored(object);
        stored.metadata.uid = `uid-${++api.#uids}`;
        api.put(stored);
        return stored;
      },
      async apply(object: Stored) {
        const refused = api.refuse?.("apply", object.kind ?? "", object.metadata.name ?? "");
        if (refused) throw refused;
        api.record({ verb: "apply", kind: object.kind ?? "", name: object.metadata.name ?? "" });
        api.put(asStored(object));
        return object;
      },
      async applyStatus(object: Stored & { status: { operation?: Operation } }) {
        const kind = object.kind ?? "";
        const name = object.metadata.name ?? "";
        const operation = structuredClone(object.status.operation);
        api.record({ verb: "applyStatus", kind, name, operation });
        const owner = api.get(kind, name);
        if (owner) owner.status = structuredClone(object.status);
        return object;
      },
      async delete(
        type: { kind: string },
        ref: { name: string },
        options: { preconditions?: { uid?: string } } = {},
      ) {
        const found = held(type.kind, ref.name);
        const uid = options.preconditions?.uid;
        if (uid && found.metadata.uid !== uid) throw refusal(409, "Conflict", type.kind, ref.name);
        api.record({ verb: "delete", kind: type.kind, name: ref.name });
        api.remove(type.kind, ref.name);
        return {};
      },
      async patch(
        type: { kind: string },
        ref: { name: string },
        body: { metadata?: { annotations?: Record<string, string> } },
      ) {
        const found = held(type.kind, ref.name);
        found.metadata.annotations = {
          ...found.metadata.annotations,
          ...body.metadata?.annotations,
        };
        return found;
      },
      async patchStatus(
        type: { kind: string },
        ref: { name: string },
        body: { status: { conditions: { type: string; status: string }[] } },
      ) {
        const pod = held(type.kind, ref.name) as PodLike;
        const kept = (pod.status?.conditions ?? []).filter(
          (c) => !body.status.conditions.some((n) => n.type === c.type),
        );
        pod.status = { ...pod.status, conditions: [...kept, ...body.status.conditions] };
        return pod;
      },
    };
    return fake as unknown as KubeClient;
  }

  /** The kubelet's part: every pod not yet started (but those of `except`) gets an IP and turns Ready. */
  startPods(except: readonly MemberId[] = []): void {
    for (const pod of this.list("Pod") as PodLike[]) {
      const id = Number(pod.metadata.labels?.[this.memberLabel]);
      if (except.includes(id) || pod.status?.podIP) continue;
      pod.status = {
        podIP: `10.0.0.${id}`,
        conditions: [
          { type: "ContainersReady", status: "True" },
          { type: "Ready", status: "True" },
        ],
      };
    }
  }

  /**
   * Drives a pipeline as a controller and a kubelet would: `reconcile`, then
   * `startPods()`, then `between()`, until `done()` holds; a reconcile that
   * `killBefore` killed counts as one. Returns how many reconciles it took;
   * fails the test after `max`, with `describe()` in the message.
   */
  async reconcileUntil(
    done: () => boolean,
    reconcile: () => Promise<unknown>,
    options: { max: number; between?: () => void; describe: () => string },
  ): Promise<number> {
    for (let i = 0; i < options.max; i++) {
      if (done()) return i;
      try {
        await reconcile();
      } catch (err) {
        if (!(err instanceof OperatorKilled)) throw err;
      }
      this.startPods();
      options.between?.();
    }
    assert.fail(`not done after ${options.max} reconciles; ${options.describe()}`);
  }

  /**
   * What a controller hands the reconcile of owner `name`: the owner as
   * stored, this fake's client, and `owned(type)` as copies of every object
   * of that kind in the store (one owner per fake, so everything is its).
   */
  controllerContext<O extends KubeObject>(name: string): ControllerContext<O> {
    const object = this.get(this.ownerKind, name) as O | undefined;
    if (!object) throw new Error(`no ${this.ownerKind} ${name}`);
    return {
      object,
      client: this.client(),
      signal: new AbortController().signal,
      log: createLogger({ level: "error" }),
      owned: <U extends KubeObject>(type: { kind: string }) =>
        structuredClone(this.list(type.kind)) as unknown as U[],
    };
  }
}
