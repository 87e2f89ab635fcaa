/**
 * Turns a request trace (`src/request-trace.ts`) into the RBAC checks the
 * API server made: (apiGroup, resource[/subresource], verb) per request, as
 * the authorizer derives them from the URL and method.
 */
import { readFileSync } from "node:fs";

export interface Access {
  group: string;
  resource: string;
  verb: string;
  status: number;
  line: string;
}

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
    .map(parseLine)
    .filter((a): a is Access => a !== undefined);
}

/** `undefined` for non-resource URLs (discovery, /version): no RBAC rule is about them. */
export function parseLine(line: string): Access | undefined {
  const [method = "", path = "", status = "0"] = line.split(" ");
  const url = new URL(path, "https://api");
  const parts = url.pathname.split("/").filter(Boolean);
  let rest: string[];
  let group: string;
  if (parts[0] === "api") {
    group = "";
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    group = parts[1] ?? "";
    rest = parts.slice(3);
  } else return undefined;
  if (rest[0] === "namespaces" && rest.length >= 3) rest = rest.slice(2);
  const [resource, name, sub] = rest;
  if (!resource) return undefined;
  const watch = url.searchParams.get("watch");
  const verb =
    method === "GET"
      ? name
        ? "get"
        : watch === "true" || watch === "1"
          ? "watch"
          : "list"
      : method === "POST"
        ? "create"
        : method === "PUT"
          ? "update"
          : method === "PATCH"
            ? "patch"
            : method === "DELETE"
              ? name
                ? "delete"
                : "deletecollection"
              : method.toLowerCase();
  return {
    group,
    resource: sub ? `${resource}/${sub}` : resource,
    verb,
    status: Number(status),
    line,
  };
}
