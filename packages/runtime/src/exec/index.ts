/**
 * exec: run a command in a pod's container through the API server (what
 * `kubectl exec` does), for the day-2 steps only a data system's own tool
 * can take. WebSocket (`v5.channel.k8s.io`) over the client's own transport.
 */
export {
  ExecOutputLimitError,
  ExecStreamError,
  type ExecTarget,
  ExecTimeoutError,
} from "./errors.ts";
export {
  type ExecOptions,
  type ExecResult,
  exec,
} from "./exec.ts";
