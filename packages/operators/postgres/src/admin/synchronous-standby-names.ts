/**
 * `synchronous_standby_names` values, built from standby names (pure).
 *
 * The names in the list are identifiers of PostgreSQL's own little
 * grammar: unquoted, only letters, digits, `_` and `$` are allowed, so a
 * name like `pg-1` (a pod's cluster_name) is refused as an invalid value
 * unless it is double-quoted. Every name is quoted here, `"` doubled, and
 * unquoted case-folding does not apply (the match against
 * `application_name` is case-insensitive either way).
 */

export interface SynchronousStandbys {
  /**
   * `FIRST`: the first `count` connected standbys in list order are
   * synchronous (priority); `ANY`: any `count` of them (quorum).
   */
  method: "FIRST" | "ANY";
  /** How many standbys must confirm each commit. */
  count: number;
  /** Standby application names (their cluster_name). */
  names: readonly string[];
}

/** `"name"`, with `"` doubled: a standby name as the list's grammar reads it. */
export function quoteStandbyName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * The value for `synchronous_standby_names`: `FIRST 1 ("pg-1", "pg-2")`,
 * or `""` (asynchronous replication) when `count` is 0 or no name is
 * given. Throws on a count that is not a whole number, or larger than the
 * names (commits would wait forever).
 */
export function formatSynchronousStandbyNames(standbys: SynchronousStandbys): string {
  const { method, count, names } = standbys;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`synchronous standby count ${count} is not a whole number ≥ 0`);
  }
  if (count === 0 || names.length === 0) return "";
  if (count > names.length) {
    throw new RangeError(
      `synchronous standby count ${count} exceeds the ${names.length} standbys named: every commit would wait forever`,
    );
  }
  if (names.some((n) => n.length === 0)) throw new RangeError("a standby name is empty");
  return `${method} ${count} (${names.map(quoteStandbyName).join(", ")})`;
}
