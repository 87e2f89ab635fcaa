/**
 * The watcher: list-then-watch with bookmarks, relist on 410 Gone, stall
 * detection and jittered reconnect back-off. Feeds the cache.
 */
export { Backoff, type BackoffOptions } from "./backoff.ts";
export {
  type ListReason,
  realClock,
  type WatchClock,
  Watcher,
  type WatcherEvent,
  type WatcherOptions,
  type WatcherStatus,
} from "./watcher.ts";
