/**
 * The informer cache: a watcher feeding an indexed store, with event
 * handlers. Controllers read from it instead of the API server.
 */
export { type EventHandlers, Informer, type InformerOptions } from "./informer.ts";
export { type IndexFunc, namespaceIndex, ownerIndex, Store, UnknownIndexError } from "./store.ts";
