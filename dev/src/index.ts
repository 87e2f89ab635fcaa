/**
 * @ballast/dev — the local Kubernetes cluster that Ballast's tests and demos
 * run on: a real control plane built from Go modules, started on 127.0.0.1.
 */
export {
  type ClusterState,
  type ComponentName,
  type ControlPlane,
  type ControlPlaneOptions,
  type Ports,
  readState,
  startControlPlane,
  stopCluster,
} from "./controlplane.ts";
export { DevClusterError } from "./errors.ts";
export { cacheDir, repoRoot, workDir } from "./paths.ts";
export { isRunning } from "./process.ts";
export {
  aptInstallCommand,
  aptUpdateAndInstallCommand,
  checkSystemPackages,
  installCommand,
  missingSystemPackages,
  type PackageCheck,
  readSystemPackages,
  type SystemPackage,
  systemPackagesFile,
  updateAndInstallCommand,
} from "./system-packages.ts";
export {
  allBinaries,
  type BinaryName,
  binaryPath,
  clientBinaries,
  ensureBinaries,
  readVersions,
  requireTool,
  type ToolName,
  tools,
} from "./toolchain.ts";
