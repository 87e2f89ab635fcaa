/**
 * Turns a request trace into the RBAC checks the API server made. An
 * operator started with `BALLAST_TRACE_REQUESTS=<file>` appends one line per
 * API request, `METHOD path status`; each becomes the (apiGroup,
 * resource[/subresource], verb, name) the authorizer derives from the URL
 * and method.
 */
import { readFileSync } from "node:fs";

export interface Access {
  group: string;
  resource: string;
  verb: string;
  /**
   * The object's name when the request names one: in the path, or for a
   * list or watch, a `metadata.name=` field selector (the authorizer reads
   * that too, so a rule with `resourceNames` can allow it).
   */
  name?: string;
  status: number;
  line: string;
}

/** Every traced request that RBAC rules are about; no file yet is no request. */
export function readTrace(file: string): Access[] {
  let text = "";
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map(parseTraceLine)
    .filter((a): a is Access => a !== undefined);
}

/** `/api/<version>/<rest>` (the core group) or `/apis/<group>/<version>/<rest>`. */
const resourcePath = /^\/(?:api\/[^/]+|apis\/([^/]+)\/[^/]+)\/(.+)$/;

/** `undefined` for non-resource URLs (discovery, /version): no RBAC rule is about them. */
export function parseTraceLine(line: string): Access | undefined {
  const [method = "", path = "", status = "0"] = line.split(" ");
  const url = new URL(path, "https://api");
  // Discovery (`/api/v1`, `/apis/<group>/<version>`) and `/version` do not match: no resource.
  const match = resourcePath.exec(url.pathname);
  if (!match?.[2]) return undefined;
  const group = match[1] ?? "";
  let rest = match[2].split("/").filter(Boolean).map(decodeURIComponent);
  if (inNamespace(rest)) rest = rest.slice(2);
  const [resource, pathName, sub] = rest;
  if (!resource) return undefined;
  const verb = verbOf(method, pathName !== undefined, url.searchParams);
  const name = pathName ?? (verb === "list" || verb === "watch" ? selectedName(url) : undefined);
  return {
    group,
    resource: sub ? `${resource}/${sub}` : resource,
    verb,
    ...(name !== undefined ? { name } : {}),
    status: Number(status),
    line,
  };
}

/**
 * `namespaces/x/pods…` is a request inside namespace x; `namespaces/x` and
 * `namespaces/x/status` (or `/finalize`) are about the Namespace object itself.
 */
function inNamespace(rest: string[]): boolean {
  if (rest[0] !== "namespaces" || rest.length < 3) return false;
  return rest.length > 3 || !namespaceSubresources.has(rest[2] ?? "");
}
const namespaceSubresources = new Set(["status", "finalize"]);

function verbOf(method: string, named: boolean, query: URLSearchParams): string {
  switch (method) {
    case "GET": {
      if (named) return "get";
      const watch = query.get("watch");
      return watch === "true" || watch === "1" ? "watch" : "list";
    }
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return named ? "delete" : "deletecollection";
    default:
      return method.toLowerCase();
  }
}

/** The name in a `fieldSelector=metadata.name=x` that selects exactly one object. */
function selectedName(url: URL): string | undefined {
  const selector = url.searchParams.get("fieldSelector");
  if (!selector || selector.includes(",")) return undefined;
  const match = /^metadata\.name==?(.+)$/.exec(selector);
  return match?.[1];
}
