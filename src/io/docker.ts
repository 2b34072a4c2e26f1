/**
 * Ports published by running containers, from `docker ps`, to attribute a busy port to its
 * container (`which`, `check`, `status`). Docker is optional: no CLI, no engine, a slow engine
 * or output we cannot read all give null with a reason (for --verbose), never an error.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface PublishedPort {
  hostPort: number;
  hostIp: string;
  containerPort: number;
  protocol: string;
  containerId: string;
  containerName: string;
  image: string;
  composeProject: string | null;
  composeService: string | null;
}

export interface ListOptions {
  timeoutMs?: number;
  onSkip?: (reason: string) => void;
  /** The docker CLI to run (default `docker` on PATH). */
  dockerBin?: string;
  env?: NodeJS.ProcessEnv;
}

const DEFAULT_TIMEOUT_MS = 1500;
/** A published range is expanded port by port; beyond this it is cut (nobody publishes more by hand). */
const MAX_RANGE = 1024;

/**
 * One entry of the Ports column: `0.0.0.0:8080->80/tcp`, `:::8080->80/tcp`, `[::]:8080->80/tcp`,
 * `127.0.0.1:8000-8002->8000-8002/udp`. Entries without `->` are exposed, not published.
 */
export function parsePortsColumn(ports: string): Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: string }> {
  const result: Array<{ hostIp: string; hostPort: number; containerPort: number; protocol: string }> = [];
  for (const raw of ports.split(',')) {
    const entry = raw.trim();
    const m = /^(.*):(\d+)(?:-(\d+))?->(\d+)(?:-(\d+))?\/(\w+)$/.exec(entry);
    if (!m) continue;
    const hostIp = m[1]!.replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
    const hostStart = Number(m[2]);
    const hostEnd = m[3] ? Number(m[3]) : hostStart;
    const containerStart = Number(m[4]);
    const containerEnd = m[5] ? Number(m[5]) : containerStart;
    const count = Math.min(hostEnd - hostStart + 1, MAX_RANGE);
    for (let i = 0; i < count; i++) {
      const containerPort = containerEnd - containerStart === hostEnd - hostStart ? containerStart + i : containerStart;
      result.push({ hostIp, hostPort: hostStart + i, containerPort, protocol: m[6]!.toLowerCase() });
    }
  }
  return result;
}

/**
 * The Labels column: `k=v,k2=v2`. Values may themselves hold commas, so a piece that does not
 * start with `key=` continues the previous value.
 */
export function parseLabelsColumn(labels: string): Map<string, string> {
  const map = new Map<string, string>();
  let lastKey: string | null = null;
  for (const piece of labels === '' ? [] : labels.split(',')) {
    const m = /^([A-Za-z0-9][A-Za-z0-9._/-]*)=(.*)$/s.exec(piece);
    if (m) {
      lastKey = m[1]!;
      map.set(lastKey, m[2]!);
    } else if (lastKey !== null) {
      map.set(lastKey, `${map.get(lastKey)},${piece}`);
    }
  }
  return map;
}

/** `docker ps --format '{{json .}}'` output, one JSON object a line, to published ports. */
export function parseDockerPs(stdout: string): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let row: Record<string, unknown>;
    try {
      row = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const text = (key: string) => (typeof row[key] === 'string' ? (row[key] as string) : '');
    const labels = parseLabelsColumn(text('Labels'));
    for (const p of parsePortsColumn(text('Ports'))) {
      ports.push({
        ...p,
        containerId: text('ID'),
        containerName: text('Names').split(',')[0] ?? '',
        image: text('Image'),
        composeProject: labels.get('com.docker.compose.project') ?? null,
        composeService: labels.get('com.docker.compose.service') ?? null,
      });
    }
  }
  return ports;
}

/** Runs `docker ARGS`; stdout, or null (with the reason given to onSkip) when Docker cannot answer. */
function runDocker(args: readonly string[], opts: ListOptions): Promise<string | null> {
  const timeout = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const skip = (reason: string) => {
    opts.onSkip?.(reason);
    return null;
  };
  return new Promise((resolve) => {
    let child;
    try {
      child = execFile(
        opts.dockerBin ?? 'docker',
        args,
        { timeout, killSignal: 'SIGKILL', maxBuffer: 32 * 1024 * 1024, encoding: 'utf8', env: opts.env ?? process.env, windowsHide: true },
        (error, stdout, stderr) => {
          if (!error) return resolve(stdout);
          const e = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null };
          if (e.code === 'ENOENT') return resolve(skip('no docker CLI on PATH'));
          if (e.killed || e.signal === 'SIGKILL') return resolve(skip(`docker ${args[0]} did not answer within ${timeout} ms`));
          const detail = (stderr || e.message).trim().split('\n')[0] ?? '';
          return resolve(skip(`docker ${args[0]} failed (the engine is probably not running): ${detail}`));
        },
      );
    } catch (error) {
      return resolve(skip(`cannot run docker: ${(error as Error).message}`));
    }
    child.stdin?.end();
  });
}

/** Published ports of running containers, or null (with the reason given to onSkip) when Docker cannot answer. */
export async function listPublishedPorts(opts: ListOptions = {}): Promise<PublishedPort[] | null> {
  const stdout = await runDocker(['ps', '--no-trunc', '--format', '{{json .}}'], opts);
  return stdout === null ? null : parseDockerPs(stdout);
}

/** Names of the running containers of one Compose project (its `com.docker.compose.project` label), or null when Docker cannot answer. */
export async function runningProjectContainers(project: string, opts: ListOptions = {}): Promise<string[] | null> {
  const stdout = await runDocker(['ps', '--filter', `label=com.docker.compose.project=${project}`, '--format', '{{.Names}}'], opts);
  return stdout === null ? null : stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

export interface ComposeClient {
  /** How the user runs it. */
  command: 'docker compose' | 'docker-compose';
  version: [number, number, number];
}

/** `Docker Compose version v2.24.5`, `docker-compose version 1.29.2, build unknown`, `2.27.0` (--short). */
export function parseComposeVersion(stdout: string): [number, number, number] | null {
  const m = /(?:^|version\s+)v?(\d+)\.(\d+)\.(\d+)/m.exec(stdout.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** `!override` and `!reset` came with Compose 2.24.0; docker-compose v1 cannot parse them. */
export function readsOverrideTag(client: ComposeClient): boolean {
  const [major, minor] = client.version;
  return major > 2 || (major === 2 && minor >= 24);
}

/** The Compose client a user here would run: the `docker compose` plugin first, then docker-compose; null when neither answers. */
export function detectComposeClient(env: NodeJS.ProcessEnv = process.env): ComposeClient | null {
  const tries: Array<[ComposeClient['command'], string, string[]]> = [
    ['docker compose', 'docker', ['compose', 'version']],
    ['docker-compose', 'docker-compose', ['version']],
  ];
  for (const [command, bin, args] of tries) {
    const result = spawnSync(bin, args, { env, encoding: 'utf8', timeout: 10000, windowsHide: true });
    const version = result.status === 0 ? parseComposeVersion(result.stdout) : null;
    if (version) return { command, version };
  }
  return null;
}

/**
 * Stops and removes a Compose project's containers: `<client> -p NAME down` in the worktree
 * (its compose file and .env), else — no client, no folder, or down failed — `docker rm -f`
 * of the containers carrying the project's label. Returns what failed, or null.
 */
export function stopComposeProject(project: string, cwd: string, client: ComposeClient | null, env: NodeJS.ProcessEnv = process.env): string | null {
  const run = (bin: string, args: string[], where?: string) => spawnSync(bin, args, { cwd: where, env, encoding: 'utf8', timeout: 120000, windowsHide: true });
  if (client && existsSync(cwd)) {
    const [bin, ...pre] = client.command.split(' ') as [string, ...string[]];
    const down = run(bin, [...pre, '-p', project, 'down'], cwd);
    if (down.status === 0) return null;
  }
  const ids = run('docker', ['ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`]);
  if (ids.status !== 0) return (ids.stderr || ids.error?.message || 'docker ps failed').trim();
  const list = ids.stdout.split('\n').filter((id) => id.trim() !== '');
  if (list.length === 0) return null;
  const removed = run('docker', ['rm', '-f', ...list]);
  return removed.status === 0 ? null : (removed.stderr || removed.error?.message || 'docker rm failed').trim();
}
