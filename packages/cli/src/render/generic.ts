/**
 * What `ballast status` shows of an object whose operator has no view of
 * its own: readiness, generation and conditions, which every Ballast kind
 * reports the same way.
 */
import type { Condition, KubeObject, StatusViewOptions } from "@ballast/runtime";
import { conditionLines, fields, paintStatus } from "@ballast/runtime/text";

interface CommonStatus {
  conditions?: Condition[];
  observedGeneration?: number;
}

export function genericStatusView(object: KubeObject, options: StatusViewOptions): string {
  const { style } = options;
  const status = ((object as { status?: CommonStatus }).status ?? {}) as CommonStatus;
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const where = `${object.metadata.namespace ?? "default"}/${object.metadata.name ?? ""}`;
  const headline = ready
    ? paintStatus(style, ready.status === "True" ? "Ready" : "not Ready", ready.status === "True")
    : "no status yet";
  return [
    `${object.kind} ${where}: ${headline}`,
    ...fields([
      [
        "Generation",
        `${object.metadata.generation ?? "?"}${status.observedGeneration === undefined ? "" : ` (observed ${status.observedGeneration})`}`,
      ],
    ]),
    "",
    ...conditionLines(status.conditions, style),
  ].join("\n");
}
