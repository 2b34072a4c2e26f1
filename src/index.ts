/**
 * The package root: the documented library API (README, "Library API") and nothing else.
 *
 *   import { allocatePort, releasePort, checkPortAvailable, listAllocatedPorts } from 'worktree-ports';
 *
 * Everything else is internal and may change in any release.
 */
export { allocatePort, releasePort, listAllocatedPorts, checkPortAvailable, type ApiOptions } from './api';
export {
  ExitCode,
  type ExitCodeValue,
  PortsError,
  UsageError,
  ConfigError,
  UnknownServiceError,
  NotFoundError,
  RegistryMissingError,
  RangeExhaustedError,
  ConflictError,
  RegistryError,
  RegistryCorruptError,
  LockTimeoutError,
} from './errors';
export type { Registry, Allocation, PortRange, RegistryMetadata, HealthStatus } from './core/registry-schema';
export type { PortsConfig, ServiceConfig } from './config/schema';

// The pieces the CLI is built from, for tools that compose their own commands.
export { run, type RunDeps } from './main';
export { RegistryStore } from './io/registry-store';
export { pickPort, allocateInRegistry, type Owner } from './core/allocation';
export { planReconcile, type ReconcilePlan } from './core/reconcile';
export { resolveRepo, type RepoInfo } from './io/git';
export { loadConfig, type ConfigSearch } from './config/load';
