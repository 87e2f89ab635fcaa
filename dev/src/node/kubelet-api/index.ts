/**
 * The kubelet HTTPS API for Ballast's node agent: `kubectl logs`, `exec` and
 * `port-forward` through the real API server. See server.ts for the routes and
 * runtime.ts for what the agent provides.
 */
export { type Caller, defaultAllowedUsers } from "./auth.ts";
export { type LogFields, type Logger, silentLogger } from "./log.ts";
export {
  type ContainerRef,
  type ExecProcess,
  isNotFound,
  type LogOptions,
  NotFoundError,
  type PodRef,
  type PodRuntimeForApi,
} from "./runtime.ts";
export { type KubeletApi, type KubeletApiOptions, startKubeletApi } from "./server.ts";
