/**
 * events: an events.k8s.io/v1 event recorder that never blocks or throws
 * into a reconciler, and folds repeats into one Event's `series`.
 */
export {
  type EventClient,
  type EventInfo,
  type EventObjectReference,
  EventRecorder,
  EventRecorderConfigError,
  type EventRecorderOptions,
  maxNoteBytes,
} from "./recorder.ts";
