/**
 * What the plans read of an ensemble: each member's report (from the ZooKeeper
 * port) and the voters of the configuration the ensemble serves. Pure data,
 * so the plans are tested over generated states.
 */
import type { MemberReport } from "../admin/port.ts";

export interface EnsembleObservation {
  /** By member id; a member without a report did not answer (or has no pod IP yet). */
  reports: ReadonlyMap<number, MemberReport>;
  /** Participants of the newest configuration a serving member reports; undefined when none serves. */
  voters: readonly number[] | undefined;
  /** The member leading a quorum, if any. */
  leader: number | undefined;
}

/** Serving: in Zab's broadcast phase, as the leader or a follower synced with it. */
export function serving(report: MemberReport | undefined): boolean {
  return (
    report?.broadcast === true &&
    (report.state === "leader" || report.state === "follower" || report.state === "observer")
  );
}

/** Assembles the observation; the leader's view of the configuration wins (it is the newest). */
export function observe(reports: readonly MemberReport[]): EnsembleObservation {
  const byId = new Map(reports.map((r) => [r.id, r]));
  const leader = reports.find((r) => r.state === "leader" && serving(r));
  const source = leader ?? reports.find((r) => serving(r) && r.config);
  const voters = source?.config
    ? [...source.config]
        .filter(([, type]) => type === "participant")
        .map(([id]) => id)
        .sort((a, b) => a - b)
    : undefined;
  return { reports: byId, voters, leader: leader?.id };
}

/** The majority of `n` voters. */
export function majority(n: number): number {
  return Math.floor(n / 2) + 1;
}
