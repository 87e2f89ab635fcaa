/** Reading one series back from a prom-client registry, for tests of an operator's metrics. */
import type { Registry } from "prom-client";

/** The value of `name` for exactly these labels, or undefined when there is no such series. */
export async function sampleMetric(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => {
    const have = v.labels as Record<string, unknown>;
    return (
      Object.keys(have).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, l]) => have[k] === l)
    );
  });
  return value?.value;
}
