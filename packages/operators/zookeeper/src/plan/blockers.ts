/**
 * Why ZooKeeper's plans wait, as data: status and events turn them into
 * sentences with `describeBlocker`, tests compare the data.
 */
export type Blocker =
  | { kind: "NoQuorum" }
  | { kind: "VoterNotServing"; id: number }
  | { kind: "FollowersNotSynced"; synced: number; expected: number }
  | { kind: "NotBack"; id: number; why: "down" | "not-serving" | "not-a-voter" }
  | { kind: "JoinerNotSynced"; id: number }
  | { kind: "LastVoter"; id: number };

export function describeBlocker(b: Blocker): string {
  switch (b.kind) {
    case "NoQuorum":
      return "the ensemble has no quorum (no leader in broadcast)";
    case "VoterNotServing":
      return `member ${b.id} is a voter and is not serving`;
    case "FollowersNotSynced":
      return `the leader has ${b.synced} of ${b.expected} voting followers synced`;
    case "NotBack":
      return b.why === "down"
        ? `member ${b.id} was restarted and does not answer yet`
        : b.why === "not-serving"
          ? `member ${b.id} was restarted and is not yet synced with the leader`
          : `member ${b.id} was restarted and is not listed as a voter`;
    case "JoinerNotSynced":
      return `member ${b.id} is not yet synced with the leader (it must follow before it can be added as a voter)`;
    case "LastVoter":
      return `member ${b.id} is the last voter and cannot be removed`;
  }
}
