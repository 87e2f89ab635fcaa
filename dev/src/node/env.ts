/** A container's environment, resolved as the kubelet does it. */
import { fieldValue, type PodRuntimeFacts, resourceValue } from "./fields.ts";
import type { ConfigMapLike, Container, Kube, Pod } from "./kube.ts";

export const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export class EnvError extends Error {
  override name = "EnvError";
}

/** `$(NAME)` becomes NAME's value when defined; `$$(` is a literal `$(`. */
export function expand(value: string, vars: Record<string, string>): string {
  return value.replace(
    /\$\$\(|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (match, name: string | undefined) => {
      if (match === "$$(") return "$(";
      return name !== undefined && name in vars ? (vars[name] as string) : match;
    },
  );
}

export async function containerEnv(
  kube: Kube,
  pod: Pod,
  container: Container,
  base: Record<string, string>,
  facts: PodRuntimeFacts,
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const cache = new Map<string, ConfigMapLike | undefined>();
  const fetch = async (kind: "configmaps" | "secrets", name: string) => {
    const key = `${kind}/${name}`;
    if (!cache.has(key))
      cache.set(key, await kube.get<ConfigMapLike>(`/api/v1/namespaces/${ns}/${kind}/${name}`));
    return cache.get(key);
  };
  const decode = (kind: "configmaps" | "secrets", v: string) =>
    kind === "secrets" ? Buffer.from(v, "base64").toString("utf8") : v;

  const env: Record<string, string> = { ...base };
  for (const source of container.envFrom ?? []) {
    const kind = source.configMapRef ? "configmaps" : "secrets";
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const object = await fetch(kind, ref.name);
    if (!object) {
      if (ref.optional) continue;
      throw new EnvError(
        `${kind === "configmaps" ? "configmap" : "secret"} "${ref.name}" not found`,
      );
    }
    for (const [k, v] of Object.entries(object.data ?? {}))
      env[`${source.prefix ?? ""}${k}`] = decode(kind, v);
  }
  for (const variable of container.env ?? []) {
    const from = variable.valueFrom;
    if (!from) {
      env[variable.name] = expand(variable.value ?? "", env);
    } else if (from.fieldRef) {
      env[variable.name] = fieldValue(pod, from.fieldRef.fieldPath, facts);
    } else if (from.resourceFieldRef) {
      env[variable.name] = resourceValue(
        pod,
        from.resourceFieldRef.containerName ?? container.name,
        from.resourceFieldRef.resource,
      );
    } else {
      const kind = from.configMapKeyRef ? "configmaps" : "secrets";
      const ref = from.configMapKeyRef ?? from.secretKeyRef;
      if (!ref) continue;
      const object = await fetch(kind, ref.name);
      const value = object?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        const what = kind === "configmaps" ? "configmap" : "secret";
        throw new EnvError(
          object
            ? `couldn't find key ${ref.key} in ${what} ${ns}/${ref.name}`
            : `${what} "${ref.name}" not found`,
        );
      }
      env[variable.name] = decode(kind, value);
    }
  }
  return env;
}
