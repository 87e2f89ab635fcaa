/**
 * Keeps an in-memory copy of one resource collection (list, then watch,
 * relist on any error) and reports it after every change. Small on purpose:
 * the dev addons need only this; operators use @ballast/runtime's informer.
 */
import { apiWatch } from "../api.ts";
import type { Kube } from "../node/kube.ts";

interface Named {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
}

export async function listWatch<T extends Named>(
  kube: Kube,
  path: string,
  onChange: (items: T[]) => void,
  signal: AbortSignal,
  log: (message: string, fields?: Record<string, unknown>) => void,
): Promise<void> {
  const key = (o: Named) => `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
  const separator = path.includes("?") ? "&" : "?";
  while (!signal.aborted) {
    try {
      const list = await kube.must<{ metadata: { resourceVersion: string }; items: T[] }>(path, {});
      const items = new Map(list.items.map((o) => [key(o), o]));
      onChange([...items.values()]);
      await apiWatch(
        kube.auth,
        `${path}${separator}watch=1&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion=${list.metadata.resourceVersion}`,
        (event) => {
          if (event.type === "BOOKMARK") return;
          if (event.type === "ERROR") throw new Error(JSON.stringify(event.object));
          const object = event.object as unknown as T;
          if (event.type === "DELETED") items.delete(key(object));
          else items.set(key(object), object);
          onChange([...items.values()]);
        },
        signal,
      );
    } catch (error) {
      if (signal.aborted) return;
      log("watch failed; relisting", { path, error: (error as Error).message });
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
