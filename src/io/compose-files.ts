/**
 * Which compose files a worktree's stack is made of, found as Compose finds them, and their
 * services read. Order: the config's `compose.files`; else `COMPOSE_FILE` (split on
 * `COMPOSE_PATH_SEPARATOR`, default the platform's path separator, relative to the directory);
 * else the first of compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml in the
 * directory or, like Compose, the nearest parent that has one. Override files
 * (`*.override.yml`) are never base files: ours is generated from these.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../errors';
import { parseComposeServices, type ComposeServiceInfo } from '../core/compose-override';

/** compose-go's order (docker-compose.yml before .yaml). */
export const DEFAULT_COMPOSE_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yml', 'docker-compose.yaml'] as const;
/** Loaded automatically next to a default base file (first found wins), never with -f or COMPOSE_FILE. */
export const DEFAULT_OVERRIDE_FILES = ['compose.override.yml', 'compose.override.yaml', 'docker-compose.override.yml', 'docker-compose.override.yaml'] as const;

export interface ComposeFileLookup {
  /** Absolute paths, in merge order; empty when nothing was found. */
  files: string[];
  source: 'config' | 'COMPOSE_FILE' | 'default' | 'none';
}

export function findComposeFiles(dir: string, env: NodeJS.ProcessEnv = process.env, configured?: readonly string[]): ComposeFileLookup {
  if (configured && configured.length > 0) return { files: configured.map((f) => path.resolve(dir, f)), source: 'config' };
  const fromEnv = env.COMPOSE_FILE;
  if (fromEnv) {
    const separator = env.COMPOSE_PATH_SEPARATOR || path.delimiter;
    const files = fromEnv.split(separator).filter((f) => f !== '');
    if (files.length > 0) return { files: files.map((f) => path.resolve(dir, f)), source: 'COMPOSE_FILE' };
  }
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    for (const name of DEFAULT_COMPOSE_FILES) {
      const candidate = path.join(current, name);
      if (isFile(candidate)) return { files: [candidate], source: 'default' };
    }
    if (path.dirname(current) === current) return { files: [], source: 'none' };
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Reads and merges the files' services. Throws ConfigError naming a file that is missing or not YAML. */
export function readComposeServices(files: readonly string[]): Map<string, ComposeServiceInfo> {
  const texts = files.map((file) => {
    try {
      return { file, text: fs.readFileSync(file, 'utf8') };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConfigError(code === 'ENOENT' ? `Compose file ${file} does not exist.` : `Cannot read compose file ${file}: ${(error as Error).message}`, {
        file,
        hint: 'Check `compose.files` in your ports config and COMPOSE_FILE.',
        cause: error,
      });
    }
  });
  return parseComposeServices(texts);
}

/** The override file Compose would load by itself next to `baseFile` (the first that exists), or null. */
export function autoLoadedOverride(baseFile: string): string | null {
  const dir = path.dirname(baseFile);
  for (const name of DEFAULT_OVERRIDE_FILES) {
    const candidate = path.join(dir, name);
    if (isFile(candidate)) return candidate;
  }
  return null;
}
