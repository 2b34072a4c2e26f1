/**
 * The library API: the functions of the seed's port system plus the pieces the CLI is made of.
 *
 *   import { allocatePort, releasePort, checkPortAvailable, listAllocatedPorts } from 'ports';
 */
export * from './api';
export * from './errors';
export { run } from './main';
export type { Registry, Allocation, PortRange, RegistryMetadata, HealthStatus } from './core/registry-schema';
export { DEFAULT_RANGES, emptyRegistry, validateRegistry, SCHEMA_VERSION } from './core/registry-schema';
export { pickPort, allocateInRegistry, removeAllocations, describePortSet, type Owner } from './core/allocation';
export { planReconcile, type ReconcilePlan } from './core/reconcile';
export { RegistryStore, parseRegistryText, DEFAULT_REGISTRY_PATH } from './io/registry-store';

export { resolveRepo, listWorktrees, cleanGitEnv, type RepoInfo, type LiveWorktree } from './io/git';
export { loadConfig, findConfigFile } from './config/load';
export type { PortsConfig, ServiceConfig } from './config/schema';
