/**
 * A member set's name must leave room for the names derived from it: its
 * Services (`<name>-bootstrap`) and pod hostnames (`<name>-<id>`) are DNS
 * labels of at most 63 characters that start with a letter. A name that
 * cannot make them is refused at admission with the limit in the message —
 * otherwise the set would be accepted and never get a pod.
 */
import type { ValidationRule } from "@ballast/runtime";

const dnsLabelMax = 63;

/** The longest name for which every `<name><suffix>` is a DNS label. */
export function maxSetNameLength(suffixes: readonly string[]): number {
  return dnsLabelMax - Math.max(0, ...suffixes.map((s) => s.length));
}

/** A CEL rule on the whole object: `metadata.name` fits every derived name in `suffixes`. */
export function memberSetNameRule(suffixes: readonly string[]): ValidationRule {
  const max = maxSetNameLength(suffixes);
  const longest = [...suffixes].sort((a, b) => b.length - a.length)[0] ?? "";
  return {
    rule: `size(self.metadata.name) <= ${max} && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')`,
    message: `metadata.name must be at most ${max} lower-case letters, digits and '-', starting with a letter and ending with a letter or digit: the operator names Services and pods after it (e.g. <name>${longest}), and those are DNS labels of at most 63 characters`,
  };
}
