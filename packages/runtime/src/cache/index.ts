/**
 * The informer cache: a watcher feeding an indexed store, with event
 * handlers, and `SharedInformers` handing one informer per kind and scope
 * to every controller of a process. Controllers read from it instead of the
 * API server.
 */
export { type EventHandlers, Informer, type InformerOptions } from "./informer.ts";
export {
  type InformerScope,
  SharedInformers,
  type SharedInformersOptions,
  SharedInformersStoppedError,
} from "./shared-informers.ts";
export { type IndexFunc, namespaceIndex, ownerIndex, Store, UnknownIndexError } from "./store.ts";
