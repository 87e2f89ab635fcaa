/**
 * The watcher: list-then-watch with bookmarks, relist on 410 Gone, stall
 * detection and jittered reconnect back-off (`time/`'s `Backoff`). Feeds the
 * cache.
 */
export {
  type ListReason,
  Watcher,
  type WatcherEvent,
  type WatcherOptions,
  type WatcherStatus,
} from "./watcher.ts";
