/**
 * Real-engine tests: is a Docker engine reachable here, with the test image that
 * .ci/docker-up.sh imports? Tests skip with the printed reason only when it is not.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanEnv } from './cli';

export const TEST_IMAGE = 'ports-test/busybox:local';
/** Every container a test starts carries this label, so .ci/docker-down.sh can remove leftovers. */
export const TEST_LABEL = 'ports-test';

export type DockerAvailability = { ok: true } | { ok: false; reason: string };

const STATE_DIR = process.env.PORTS_DOCKER_STATE_DIR ?? '/tmp/ports-ci-docker';

/** The environment for spawns in tests: test/helpers/cli.ts's (no GIT_* variable, a temp PORTS_STATE_DIR). */
export function testEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv(extra);
}

function upScriptVerdict(): string {
  try {
    const status = fs.readFileSync(path.join(STATE_DIR, 'status'), 'utf8').trim();
    return status === 'ok' ? '' : ` (.ci/docker-up.sh said: ${status})`;
  } catch {
    return ' (run `sh .ci/docker-up.sh` to start one)';
  }
}

function verdict(info: { status: number | null; error?: Error; stderr: string }, image: () => { status: number | null }): DockerAvailability {
  if (info.error) {
    const code = (info.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: `${code === 'ENOENT' ? 'no docker CLI on PATH' : `docker info failed: ${info.error.message}`}${upScriptVerdict()}` };
  }
  if (info.status !== 0) return { ok: false, reason: `no Docker engine answers: ${info.stderr.trim().split('\n')[0] ?? ''}${upScriptVerdict()}` };
  if (image().status !== 0) return { ok: false, reason: `the engine has no ${TEST_IMAGE} image${upScriptVerdict()}` };
  return { ok: true };
}

let cached: DockerAvailability | undefined;

/** Synchronous, for choosing `describe` or `describe.skip` when the test file loads. */
export function dockerAvailableSync(): DockerAvailability {
  if (!cached) {
    const run = (args: string[]) => spawnSync('docker', args, { env: testEnv(), encoding: 'utf8', timeout: 10000 });
    cached = verdict(run(['info', '--format', '{{.ServerVersion}}']), () => run(['image', 'inspect', TEST_IMAGE]));
  }
  return cached;
}

export async function dockerAvailable(): Promise<DockerAvailability> {
  if (cached) return cached;
  const run = (args: string[]) =>
    new Promise<{ status: number | null; error?: Error; stderr: string }>((resolve) => {
      execFile('docker', args, { env: testEnv(), encoding: 'utf8', timeout: 10000 }, (error, _stdout, stderr) => {
        const code = (error as NodeJS.ErrnoException | null)?.code;
        if (error && (code === 'ENOENT' || typeof code !== 'number')) return resolve({ status: null, error, stderr });
        resolve({ status: error ? (typeof code === 'number' ? code : 1) : 0, stderr });
      });
    });
  const info = await run(['info', '--format', '{{.ServerVersion}}']);
  const image = info.status === 0 ? await run(['image', 'inspect', TEST_IMAGE]) : { status: 1 };
  cached = verdict(info, () => image);
  return cached;
}

/** `describe` when an engine is here, else `describe.skip` after printing why. */
export function describeWithDocker(name: string, fn: () => void): void {
  const availability = dockerAvailableSync();
  if (availability.ok) {
    describe(name, fn);
  } else {
    console.warn(`Skipping "${name}": ${availability.reason}`);
    describe.skip(name, fn);
  }
}

export function docker(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync('docker', args, { cwd: options.cwd, env: options.env ?? testEnv(), encoding: 'utf8', timeout: 60000 });
  if (result.status !== 0) throw new Error(`docker ${args.join(' ')} failed (${result.status}): ${result.stderr || result.error?.message}`);
  return result.stdout.trim();
}

/** Removes containers by id or name, ignoring ones already gone. */
export function removeContainers(ids: readonly string[]): void {
  if (ids.length > 0) spawnSync('docker', ['rm', '-f', ...ids], { env: testEnv(), encoding: 'utf8', timeout: 60000 });
}

/** Polls `check` until it returns a value other than undefined, or throws after timeoutMs. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Body of an HTTP GET to 127.0.0.1:port (busybox httpd in the test image serves "ports-test"). */
export async function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  const response = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}/`, { signal: AbortSignal.timeout(3000) });
  return (await response.text()).trim();
}

/** A block of ports private to this test: starts at a port the OS just handed out. */
export async function privateRange(size: number): Promise<{ start: number; end: number }> {
  const net = await import('node:net');
  const start = await new Promise<number>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as import('node:net').AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const first = Math.min(start, 65535 - size + 1);
  return { start: first, end: first + size - 1 };
}

/**
 * A folder to put first on PATH whose `docker` answers `docker compose version` as Compose
 * `version` would (Compose v2 cannot be installed here) and runs the real docker for anything else.
 */
export function fakeComposeV2Bin(dir: string, version: string): string {
  const bin = path.join(dir, `compose-v${version}`);
  fs.mkdirSync(bin, { recursive: true });
  const real = spawnSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).stdout.trim();
  const script = `#!/bin/sh\nif [ "$1" = compose ] && [ "$2" = version ]; then echo "Docker Compose version v${version}"; exit 0; fi\n${real ? `exec ${real} "$@"` : 'exit 127'}\n`;
  fs.writeFileSync(path.join(bin, 'docker'), script, { mode: 0o755 });
  return bin;
}
