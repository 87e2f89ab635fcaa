/**
 * What a system answers when asked to move data for a scale operation:
 * finished, or still moving (and how far along, for status).
 */
export type DataMoves =
  | { kind: "finished" }
  | { kind: "moving"; waitingFor: string; movesTotal?: number; movesRemaining?: number };

/** The progress fields of a scale operation after `moves`. */
export function movesProgress(moves: Extract<DataMoves, { kind: "moving" }>) {
  return {
    waitingFor: moves.waitingFor,
    ...(moves.movesTotal === undefined ? {} : { movesTotal: moves.movesTotal }),
    ...(moves.movesRemaining === undefined ? {} : { movesRemaining: moves.movesRemaining }),
  };
}
