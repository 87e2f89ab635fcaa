/**
 * How the CLI's human output is styled; the building blocks (tables,
 * progress bars, the conditions table) are the runtime's
 * (`@ballast/runtime/text`), so every operator's status view can use them.
 */
import type { Style } from "@ballast/runtime/text";

/** Whether stdout gets colour: a terminal, and no NO_COLOR (https://no-color.org). */
export function styleForStdout(): Style {
  return { color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR };
}
