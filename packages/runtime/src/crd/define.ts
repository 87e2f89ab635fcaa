/**
 * `defineResource()`: one declaration per custom resource kind, the single
 * source of its TypeScript type, its CRD manifest (structural schema, CEL
 * rules, defaults, descriptions, names, subresources, printer columns) and a
 * client-side validator.
 *
 * Everything Kubernetes would reject is checked when the definition is made,
 * so a bad schema fails at import, with a path, not at install time.
 *
 * ```ts
 * export const Gadget = defineResource({
 *   group: "example.dev", version: "v1", kind: "Gadget", plural: "gadgets",
 *   scope: "Namespaced", description: "A gadget.",
 *   spec: Type.Object({ size: Type.Integer({ minimum: 1, default: 1 }) }),
 *   status: Type.Object({ phase: Type.Optional(Type.String()) }),
 * });
 * export type Gadget = ResourceOf<typeof Gadget>;
 * ```
 */
import Type, { type Static, type TSchema } from "typebox";
import type { ObjectMeta } from "../client/types.ts";
import { isPlainObject } from "./_json.ts";
import { CrdSchemaError, ResourceDefinitionError } from "./errors.ts";
import { toStructuralSchema } from "./structural.ts";
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
  JSONSchemaProps,
  PrinterColumn,
  Scope,
  ValidationRule,
} from "./types.ts";
import { type ValidationResult, validator } from "./validate.ts";

/** The scale subresource: lets `kubectl scale` and autoscalers drive the resource. */
export interface ScaleSubresource {
  /** e.g. `.spec.replicas` (an integer field of the spec). */
  specReplicasPath: string;
  /** e.g. `.status.replicas` (an integer field of the status). */
  statusReplicasPath: string;
  /** e.g. `.status.selector`: a string field holding a label selector, for autoscalers. */
  labelSelectorPath?: string;
}

export interface ResourceOptions<
  G extends string,
  V extends string,
  K extends string,
  Spec extends TSchema,
  Status extends TSchema | undefined,
> {
  /** API group, a domain with at least one dot, e.g. `ballast.dev`. */
  group: G;
  /** e.g. `v1alpha1`. */
  version: V;
  /** UpperCamelCase, e.g. `KafkaCluster`. */
  kind: K;
  /** Lower-case plural used in URLs, e.g. `kafkaclusters`. */
  plural: string;
  /** @default the kind, lower-cased */
  singular?: string;
  /** Abbreviations for kubectl, e.g. `["kc"]`. */
  shortNames?: string[];
  /** Groups of resources kubectl can list at once, e.g. `["ballast", "all"]`. */
  categories?: string[];
  scope: Scope;
  /** What one object of this kind is; shown by `kubectl explain`. */
  description: string;
  /** The desired state. Field descriptions become `kubectl explain` output. */
  spec: Spec;
  /** The observed state; giving it enables the status subresource. */
  status?: Status;
  /**
   * `kubectl get` columns. An `Age` column is appended unless one of them
   * already shows `.metadata.creationTimestamp`.
   */
  printerColumns?: PrinterColumn[];
  /** CEL rules on the whole object (`self.spec`, `self.metadata.name`, ...). */
  validations?: ValidationRule[];
  scale?: ScaleSubresource;
  /** Fields usable in field selectors (`--field-selector spec.role=leader`). At most 8. */
  selectableFields?: string[];
  /** @default true */
  served?: boolean;
  /** Marks the version deprecated; a string is the warning clients get. */
  deprecated?: boolean | string;
}

/** One custom resource object, as read from the API server. */
export type Resource<A extends string, K extends string, Spec, Status> = {
  apiVersion: A;
  kind: K;
  metadata: ObjectMeta;
  spec: Spec;
} & ([Status] extends [undefined] ? unknown : { status?: Status });

export interface ResourceDefinition<
  A extends string = string,
  K extends string = string,
  Spec = unknown,
  Status = unknown,
> {
  readonly group: string;
  readonly version: string;
  /** `group/version`, as objects carry it. */
  readonly apiVersion: A;
  readonly kind: K;
  readonly plural: string;
  readonly singular: string;
  readonly scope: Scope;
  /** `<plural>.<group>`: the CRD's name. */
  readonly crdName: string;
  /** The CRD's `openAPIV3Schema` for one object. */
  readonly openAPIV3Schema: JSONSchemaProps;
  /** The TypeBox schema of one object (what `validate` checks). */
  readonly schema: TSchema;
  /** The `apiextensions.k8s.io/v1` CustomResourceDefinition, a fresh copy each call. */
  crd(): CustomResourceDefinition;
  /** This version's entry of `spec.versions` (see `crdForVersions`). */
  crdVersion(options?: { storage?: boolean }): CustomResourceDefinitionVersion;
  /**
   * Applies defaults and checks the OpenAPI constraints and unknown fields,
   * as the API server would; CEL rules run only on the server.
   */
  validate(value: unknown): ValidationResult<Resource<A, K, Spec, Status>>;
}

/** The object type of a definition: `type Gadget = ResourceOf<typeof Gadget>`. */
export type ResourceOf<D> =
  D extends ResourceDefinition<infer A, infer K, infer Spec, infer Status>
    ? Resource<A, K, Spec, Status>
    : never;
export type SpecOf<D> = D extends ResourceDefinition<string, string, infer Spec> ? Spec : never;
export type StatusOf<D> =
  D extends ResourceDefinition<string, string, unknown, infer Status> ? Status : never;

const dns1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const dnsLabel = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const groupName = new RegExp(`^${dnsLabel}(\\.${dnsLabel})+$`);
const kindName = /^[A-Z][A-Za-z0-9]*$/;

function checkName(what: string, value: unknown, pattern: RegExp, rule: string, max = 63): void {
  if (typeof value !== "string" || !pattern.test(value) || value.length > max) {
    throw new ResourceDefinitionError(`${what} ${JSON.stringify(value)} is invalid: ${rule}`);
  }
}

function checkNames(
  options: ResourceOptions<string, string, string, TSchema, TSchema | undefined>,
) {
  const { group, version, kind, plural } = options;
  checkName("group", group, groupName, "a lower-case domain with at least one dot", 253);
  checkName(
    "version",
    version,
    dns1035,
    "a lower-case DNS label starting with a letter, e.g. v1beta1",
  );
  checkName("kind", kind, kindName, "UpperCamelCase letters and digits, e.g. KafkaCluster");
  const label = "lower-case letters, digits and '-', starting with a letter";
  checkName("plural", plural, dns1035, label);
  if (options.singular !== undefined) checkName("singular", options.singular, dns1035, label);
  for (const name of options.shortNames ?? []) checkName("short name", name, dns1035, label);
  for (const name of options.categories ?? []) checkName("category", name, dns1035, label);
  if (options.scope !== "Namespaced" && options.scope !== "Cluster") {
    throw new ResourceDefinitionError(
      `scope ${JSON.stringify(options.scope)} is invalid: "Namespaced" or "Cluster"`,
    );
  }
  if (`${plural}.${group}`.length > 253) {
    throw new ResourceDefinitionError(`CRD name ${plural}.${group} is longer than 253 characters`);
  }
  if (!options.description?.trim()) {
    throw new ResourceDefinitionError(`${kind} needs a description (kubectl explain shows it)`);
  }
}

/** The API server's view of a path: walks a simple `.a.b.c` JSONPath prefix. */
function fieldAt(root: JSONSchemaProps, jsonPath: string): JSONSchemaProps | "opaque" | undefined {
  if (!jsonPath.startsWith(".")) return undefined;
  const simple = jsonPath.split("[")[0] ?? "";
  let node = root;
  const segments = simple.slice(1).split(".");
  for (const [i, segment] of segments.entries()) {
    if (segment === "") return undefined;
    if (i === 0 && segment === "metadata") return "opaque";
    if (node["x-kubernetes-preserve-unknown-fields"]) return "opaque";
    const next = node.properties?.[segment] ?? node.additionalProperties;
    if (!next) return undefined;
    node = next;
  }
  return simple === jsonPath ? node : "opaque";
}

const columnTypes: Record<PrinterColumn["type"], readonly string[]> = {
  string: ["string"],
  integer: ["integer"],
  number: ["number", "integer"],
  boolean: ["boolean"],
  date: ["string"],
};

function checkColumns(columns: readonly PrinterColumn[], root: JSONSchemaProps): PrinterColumn[] {
  const out = columns.map((column) => {
    const where = `printer column ${JSON.stringify(column.name)}`;
    if (!column.name?.trim()) throw new ResourceDefinitionError("a printer column needs a name");
    if (!(column.type in columnTypes)) {
      throw new ResourceDefinitionError(
        `${where}: type ${JSON.stringify(column.type)} must be one of ${Object.keys(columnTypes).join(", ")}`,
      );
    }
    const field = fieldAt(root, column.jsonPath);
    if (!field) {
      throw new ResourceDefinitionError(
        `${where} shows ${column.jsonPath}, which the schema does not declare`,
      );
    }
    if (field !== "opaque" && field.type && !columnTypes[column.type].includes(field.type)) {
      throw new ResourceDefinitionError(
        `${where} has type ${column.type} but ${column.jsonPath} is ${field.type}`,
      );
    }
    return { ...column };
  });
  if (!out.some((c) => c.jsonPath === ".metadata.creationTimestamp")) {
    out.push({ name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" });
  }
  return out;
}

function checkTypedPath(
  what: string,
  root: JSONSchemaProps,
  jsonPath: string | undefined,
  under: readonly string[],
  types: readonly string[],
): void {
  const field = jsonPath === undefined ? undefined : fieldAt(root, jsonPath);
  const inside = under.some((prefix) => jsonPath?.startsWith(`${prefix}.`));
  if (!inside || !field || field === "opaque" || !types.includes(field.type ?? "")) {
    throw new ResourceDefinitionError(
      `${what} ${JSON.stringify(jsonPath)} must name a ${types.join(" or ")} field under ${under.join(" or ")}`,
    );
  }
}

/** The spec can default to `{}` when that (with its nested defaults) is valid. */
function specWithDefault(spec: TSchema): unknown {
  if (!isPlainObject(spec) || spec.type !== "object" || "default" in spec) return spec;
  const required = Array.isArray(spec.required) ? (spec.required as string[]) : [];
  const properties = isPlainObject(spec.properties) ? spec.properties : {};
  const allDefaulted = required.every(
    (name) => isPlainObject(properties[name]) && properties[name].default !== undefined,
  );
  return allDefaulted ? { ...spec, default: {} } : spec;
}

function rootSchema(
  options: ResourceOptions<string, string, string, TSchema, TSchema | undefined>,
): JSONSchemaProps {
  const kind = options.kind;
  const spec = specWithDefault(options.spec);
  const status = options.status;
  const withDescription = (schema: unknown, description: string) =>
    isPlainObject(schema) && schema.description === undefined ? { ...schema, description } : schema;
  const raw = {
    type: "object",
    description: options.description,
    required: ["spec"],
    properties: {
      apiVersion: {
        type: "string",
        description: `The versioned schema of this object: ${options.group}/${options.version}.`,
      },
      kind: { type: "string", description: `The type of this object: ${kind}.` },
      // The API server owns metadata's schema; a CRD may not restrict it.
      metadata: { type: "object" },
      spec: withDescription(spec, `The desired state of the ${kind}.`),
      ...(status === undefined
        ? {}
        : {
            status: withDescription(
              status,
              `The observed state of the ${kind}, written by its controller.`,
            ),
          }),
    },
    ...(options.validations ? { "x-kubernetes-validations": options.validations } : {}),
  };
  const root = toStructuralSchema(raw, "$");
  if (root.properties?.spec?.type !== "object") {
    throw new CrdSchemaError("$.spec", "must be an object schema (Type.Object)");
  }
  if (root.properties.status && root.properties.status.type !== "object") {
    throw new CrdSchemaError("$.status", "must be an object schema (Type.Object)");
  }
  return root;
}

const Metadata = Type.Object({
  name: Type.Optional(Type.String()),
  generateName: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  annotations: Type.Optional(Type.Record(Type.String(), Type.String())),
  finalizers: Type.Optional(Type.Array(Type.String())),
});

/** Declares a custom resource kind. Throws ResourceDefinitionError or CrdSchemaError. */
export function defineResource<
  const G extends string,
  const V extends string,
  const K extends string,
  Spec extends TSchema,
  Status extends TSchema | undefined = undefined,
>(
  options: ResourceOptions<G, V, K, Spec, Status>,
): ResourceDefinition<
  `${G}/${V}`,
  K,
  Static<Spec>,
  Status extends TSchema ? Static<Status> : undefined
> {
  checkNames(options);
  const { group, version, kind, plural, scope } = options;
  const apiVersion = `${group}/${version}` as `${G}/${V}`;
  const singular = options.singular ?? kind.toLowerCase();
  const root = rootSchema(options);
  const columns = options.printerColumns ? checkColumns(options.printerColumns, root) : undefined;
  if (options.scale) {
    if (!options.status) {
      throw new ResourceDefinitionError("the scale subresource needs a status schema");
    }
    const { specReplicasPath, statusReplicasPath, labelSelectorPath } = options.scale;
    checkTypedPath("scale specReplicasPath", root, specReplicasPath, [".spec"], ["integer"]);
    checkTypedPath("scale statusReplicasPath", root, statusReplicasPath, [".status"], ["integer"]);
    if (labelSelectorPath !== undefined) {
      checkTypedPath(
        "scale labelSelectorPath",
        root,
        labelSelectorPath,
        [".spec", ".status"],
        ["string"],
      );
    }
  }
  const selectable = options.selectableFields ?? [];
  if (selectable.length > 8) {
    throw new ResourceDefinitionError(`at most 8 selectable fields, got ${selectable.length}`);
  }
  for (const path of selectable) {
    checkTypedPath(
      "selectable field",
      root,
      path,
      [".spec", ".status"],
      ["string", "integer", "boolean"],
    );
  }

  const check = Type.Object({
    apiVersion: Type.Literal(apiVersion),
    kind: Type.Literal(kind),
    metadata: Metadata,
    spec: options.spec,
    ...(options.status ? { status: Type.Optional(options.status) } : {}),
  });

  const crdVersion = ({ storage = true } = {}): CustomResourceDefinitionVersion => {
    const entry: CustomResourceDefinitionVersion = {
      name: version,
      served: options.served ?? true,
      storage,
      schema: { openAPIV3Schema: structuredClone(root) },
    };
    if (options.deprecated) {
      entry.deprecated = true;
      if (typeof options.deprecated === "string") entry.deprecationWarning = options.deprecated;
    }
    if (options.status || options.scale) {
      entry.subresources = {};
      if (options.status) entry.subresources.status = {};
      if (options.scale) entry.subresources.scale = { ...options.scale };
    }
    if (columns) entry.additionalPrinterColumns = structuredClone(columns);
    if (selectable.length > 0)
      entry.selectableFields = selectable.map((jsonPath) => ({ jsonPath }));
    return entry;
  };

  const names = {
    plural,
    singular,
    kind,
    listKind: `${kind}List`,
    ...(options.shortNames ? { shortNames: [...options.shortNames] } : {}),
    ...(options.categories ? { categories: [...options.categories] } : {}),
  };

  return {
    group,
    version,
    apiVersion,
    kind,
    plural,
    singular,
    scope,
    crdName: `${plural}.${group}`,
    openAPIV3Schema: root,
    schema: check,
    crd: () => ({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${plural}.${group}` },
      spec: { group, scope, names: structuredClone(names), versions: [crdVersion()] },
    }),
    crdVersion,
    validate: validator(check, root),
  };
}

/**
 * One CRD serving several versions of a kind (`v1alpha1` and `v1`, say),
 * stored as `storage`. Names come from the storage version's definition.
 * The versions are converted by the API server with strategy `None` (only
 * apiVersion changes), so their schemas must describe the same data.
 */
export function crdForVersions(
  definitions: readonly ResourceDefinition[],
  options: { storage: string },
): CustomResourceDefinition {
  const stored = definitions.find((d) => d.version === options.storage);
  if (!stored) {
    throw new ResourceDefinitionError(
      `storage version ${JSON.stringify(options.storage)} is not among ${definitions.map((d) => d.version).join(", ")}`,
    );
  }
  const seen = new Set<string>();
  for (const d of definitions) {
    if (
      d.group !== stored.group ||
      d.kind !== stored.kind ||
      d.plural !== stored.plural ||
      d.scope !== stored.scope
    ) {
      throw new ResourceDefinitionError(
        `${d.apiVersion} ${d.kind} (${d.plural}, ${d.scope}) does not match ${stored.apiVersion} ${stored.kind} (${stored.plural}, ${stored.scope}): versions of one CRD share group, kind, plural and scope`,
      );
    }
    if (seen.has(d.version))
      throw new ResourceDefinitionError(`version ${d.version} is given twice`);
    seen.add(d.version);
  }
  const crd = stored.crd();
  crd.spec.versions = definitions.map((d) => d.crdVersion({ storage: d === stored }));
  return crd;
}
