/**
 * node:http and node:https, taken as the CommonJS module objects.
 *
 * Why not `import { request } from "node:http"`: to give a built-in module
 * named ES exports, Node reads every property of it once, and node:http has
 * lazy getters (`WebSocket`, `CloseEvent`, `MessageEvent`) that load undici,
 * which brings http2, worker_threads and the web streams with it: about 90
 * modules that nothing here uses. Measured on Node 26 (bench/README.md, F2):
 * a process holding http and https this way has 52.6 MiB of RSS, 63.6 MiB
 * with the `import`. Types are still imported the usual way (`import type`
 * is erased, so it loads nothing).
 */
export const http = process.getBuiltinModule("node:http");
export const https = process.getBuiltinModule("node:https");
