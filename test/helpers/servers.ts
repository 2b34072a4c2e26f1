/**
 * Real servers for tests, each on a port the OS hands out (`listen(0)`), never a well-known one:
 * Node HTTP and TCP listeners in this process, listeners in child processes (to check PIDs),
 * a listener owned by another user, and real redis-server and PostgreSQL from Debian's
 * packages (see .ci/install-services.sh). Every start returns a `stop` that cleans up fully.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export interface Stoppable {
  stop(): Promise<void>;
}

/** Polls `condition` until it is true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `host` can be bound here (a container may have no IPv6 loopback). */
export async function canListenOn(host: string): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, host, () => server.close(() => resolve(true)));
  });
}

/** A port that was free a moment ago: for servers that must be told their port up front. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function listen(server: net.Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function trackSockets(server: net.Server): Set<net.Socket> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

export interface TestHttpServer extends Stoppable {
  port: number;
  host: string;
  /** The status every later request gets. */
  respondWith(status: number): void;
  requests: { path: string; headers: http.IncomingHttpHeaders }[];
}

export async function startHttpServer(host = '127.0.0.1', status = 200): Promise<TestHttpServer> {
  let current = status;
  const requests: TestHttpServer['requests'] = [];
  const server = http.createServer((req, res) => {
    requests.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(current, { 'content-type': 'text/plain' });
    res.end(`status ${current}\n`);
  });
  const sockets = trackSockets(server);
  const port = await listen(server, host);
  return { port, host, requests, respondWith: (next) => (current = next), stop: () => closeServer(server, sockets) };
}

export interface TestTcpServer extends Stoppable {
  port: number;
  host: string;
  /** Connections accepted so far. */
  accepted(): number;
}

/** Accepts connections and never says a word: the service that hangs. */
export async function startSilentTcpServer(host = '127.0.0.1'): Promise<TestTcpServer> {
  const server = net.createServer(() => undefined);
  let accepted = 0;
  server.on('connection', () => accepted++);
  const sockets = trackSockets(server);
  const port = await listen(server, host);
  return { port, host, accepted: () => accepted, stop: () => closeServer(server, sockets) };
}

export interface ChildListener extends Stoppable {
  port: number;
  pid: number;
  child: ChildProcess;
}

const LISTENER_SCRIPT = `
const server = require('node:net').createServer((s) => s.end());
server.listen(Number(process.argv[2] || 0), process.argv[1], () => process.stdout.write(JSON.stringify({ port: server.address().port, pid: process.pid }) + '\\n'));
process.on('SIGTERM', () => process.exit(0));
`;

/**
 * A TCP listener in a child Node process (on `port`, default one the OS picks), optionally run
 * as another user (root only: `runuser`).
 * `pid` is the listening process's own PID, as it reports it.
 */
export async function startChildListener(options: { host?: string; port?: number; user?: string; cwd?: string } = {}): Promise<ChildListener> {
  const host = options.host ?? '127.0.0.1';
  const node = process.execPath;
  const script = ['-e', LISTENER_SCRIPT, host, String(options.port ?? 0)];
  const [command, args] = options.user ? ['runuser', ['-u', options.user, '--', node, ...script]] : [node, script];
  const child = spawn(command, args, { cwd: options.cwd ?? os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const started = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out.split('\n')[0]!) as { port: number; pid: number });
    });
    child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`listener child exited with ${code}: ${err}`)));
  });
  return {
    ...started,
    child,
    stop: () => stopChild(child, started.pid),
  };
}

/**
 * Stops a child and waits for it. Through `runuser` the real process is a grandchild: signal it
 * (with `signal`) and let runuser exit when it does; signalling runuser instead would orphan it.
 */
async function stopChild(child: ChildProcess, pid?: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(pid ?? child.pid!, signal);
  } catch {
    child.kill(signal);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Absolute path of an executable on PATH (or the first existing candidate), else null. */
export function findExecutable(name: string, candidates: string[] = []): string | null {
  for (const candidate of candidates) if (fs.existsSync(candidate)) return candidate;
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const resolved = found.stdout.trim();
  return found.status === 0 && resolved.startsWith('/') ? resolved : null;
}

export interface RealServer extends Stoppable {
  port: number;
  /** PID of the process that listens (for PostgreSQL the postmaster). */
  pid: number;
}

/** redis-server on a free port with persistence off, in a temp dir; null when redis-server is not installed. */
export async function startRedis(options: { password?: string } = {}): Promise<RealServer | null> {
  const binary = findExecutable('redis-server', ['/usr/bin/redis-server']);
  if (!binary) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-redis-'));
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no'];
  if (options.password) args.push('--requirepass', options.password);
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const stop = async (): Promise<void> => {
    await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`redis-server on ${port} (log: ${log})`, () => child.exitCode === null && log.includes('Ready to accept connections'));
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid!, stop };
}

function postgresBinDir(): string | null {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return null;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'postgres')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : null;
}

/**
 * A throwaway PostgreSQL cluster (trust auth, socket in the temp dir, TCP on 127.0.0.1 only). As
 * root it runs as the `postgres` user, which owns the data dir: PostgreSQL refuses to run as root.
 * null when PostgreSQL is not installed.
 */
export async function startPostgres(): Promise<RealServer | null> {
  const bin = postgresBinDir();
  if (!bin) return null;
  const asUser = isRoot() ? ['runuser', '-u', 'postgres', '--'] : [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-pg-'));
  const data = path.join(dir, 'data');
  if (isRoot()) spawnSync('chown', ['-R', 'postgres:', dir]);
  const run = (args: string[]) => {
    const [command, ...rest] = [...asUser, ...args];
    return spawnSync(command!, rest, { cwd: dir, encoding: 'utf8' });
  };
  const init = run([path.join(bin, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  if (init.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  const port = await freePort();
  const [command, ...rest] = [...asUser, path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir, '-h', '127.0.0.1', '-c', 'fsync=off'];
  const child = spawn(command!, rest, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const pidFile = path.join(data, 'postmaster.pid');
  // postmaster.pid's last line says "ready" once the server accepts connections.
  const readPidFile = (): string[] => (fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').split('\n') : []);
  let postmasterPid = 0;
  const stop = async (): Promise<void> => {
    // SIGINT: PostgreSQL's fast shutdown (SIGTERM would wait for clients to leave).
    await stopChild(child, postmasterPid || undefined, 'SIGINT');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`postgres on ${port} (log: ${log})`, () => {
      if (child.exitCode !== null) throw new Error(`postgres exited: ${log}`);
      const lines = readPidFile();
      return lines.length > 7 && lines.some((line) => line.trim() === 'ready');
    }, 30000);
    postmasterPid = Number(readPidFile()[0]);
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: postmasterPid, stop };
}

/** Whether a test's precondition holds here, and if not why: decided when the test file loads. */
export type Availability = { ok: true } | { ok: false; reason: string };

const reasonsPrinted = new Set<string>();

/**
 * `test` when `availability` holds, else `test.skip` (reported as skipped, never as passed),
 * printing the reason once per file.
 */
export function testWhen(availability: Availability): jest.It {
  if (availability.ok) return test;
  if (!reasonsPrinted.has(availability.reason)) {
    reasonsPrinted.add(availability.reason);
    console.warn(`skipped: ${availability.reason}`);
  }
  return test.skip;
}

const when = (ok: boolean, reason: string): Availability => (ok ? { ok: true } : { ok: false, reason });

export const redisAvailability = (): Availability =>
  when(findExecutable('redis-server', ['/usr/bin/redis-server']) !== null, 'redis-server not found (run .ci/install-services.sh)');

export const postgresAvailability = (): Availability =>
  when(postgresBinDir() !== null, 'PostgreSQL not found in /usr/lib/postgresql/*/bin (run .ci/install-services.sh)');

/** Can a socket be bound on ::1? Asked of a child process, because the answer is needed before any test runs. */
export function ipv6LoopbackAvailability(): Availability {
  const script = "const s = require('net').createServer(); s.once('error', () => process.exit(1)); s.listen(0, '::1', () => s.close(() => process.exit(0)));";
  return when(spawnSync(process.execPath, ['-e', script]).status === 0, '::1 cannot be bound on this machine (no IPv6 loopback)');
}

export const rootAvailability = (what: string): Availability => when(isRoot(), `${what} needs root`);
