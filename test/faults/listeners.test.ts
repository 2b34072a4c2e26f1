/**
 * A port held by a listener on any address family or interface is busy: for
 * `checkPortAvailable`, for `ports allocate --port N` (exit 4) and for `ports next` (skipped).
 * Listeners live in another process, as a foreign service would; their ports come from the OS.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkPortAvailable, warmUpBindTest } from '../../src/io/port-probe';
import { cleanEnv, runPorts, summary, tempDir, writeJson } from '../helpers/faults';
import { testWhen } from '../helpers/servers';

let root: string;
const children: ChildProcess[] = [];
beforeAll(() => {
  root = tempDir('listeners');
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  fs.rmSync(root, { recursive: true, force: true });
});

/** A listener in a child process on `host` (port from the OS); resolves to its port, or null if `host` cannot be bound here. */
function listenElsewhere(host: string, ipv6Only = false): Promise<number | null> {
  const script = `
    const server = require('net').createServer((s) => s.end());
    server.once('error', (e) => { process.stdout.write(JSON.stringify({ error: e.code })); process.exit(0); });
    server.listen({ host: process.argv[1], port: 0, ipv6Only: process.argv[2] === '1' }, () => process.stdout.write(JSON.stringify({ port: server.address().port })));
  `;
  const child = spawn(process.execPath, ['-e', script, host, ipv6Only ? '1' : '0'], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.once('data', (data: Buffer) => {
      const message = JSON.parse(String(data)) as { port?: number; error?: string };
      resolve(message.port ?? null);
    });
  });
}

function interfaceAddress(family: 'IPv4' | 'IPv6'): string | null {
  for (const entries of Object.values(os.networkInterfaces())) {
    for (const entry of entries ?? []) {
      // Link-local IPv6 needs a scope id to bind; a global or ULA address does not.
      if (!entry.internal && entry.family === family && !entry.address.startsWith('fe80:')) return entry.address;
    }
  }
  return null;
}

/** Whether the test's own check (a plain connect or bind) agrees the port is held, so a pass means something. */
function bindFails(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(true));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

const v4 = interfaceAddress('IPv4');
const v6 = interfaceAddress('IPv6');
const targets: { label: string; host: string | null; ipv6Only?: boolean; why?: string }[] = [
  { label: '127.0.0.1', host: '127.0.0.1' },
  { label: '0.0.0.0', host: '0.0.0.0' },
  { label: '::1', host: '::1' },
  { label: ':: (ipv6Only)', host: '::', ipv6Only: true },
  { label: `interface IPv4 ${v4 ?? ''}`.trim(), host: v4, why: 'no non-loopback IPv4 address' },
  { label: `interface IPv6 ${v6 ?? ''}`.trim(), host: v6, why: 'no non-loopback, non-link-local IPv6 address' },
];

test('a listener on 127.0.0.1, 0.0.0.0, ::1, :: (IPv6-only) or an interface address makes its port busy everywhere', async () => {
  const detected: string[] = [];
  const skipped: string[] = [];
  const problems: string[] = [];
  for (const [index, target] of targets.entries()) {
    if (!target.host) {
      skipped.push(`${target.label} (${target.why})`);
      continue;
    }
    const port = await listenElsewhere(target.host, target.ipv6Only);
    if (port === null) {
      skipped.push(`${target.label} (cannot listen there in this environment)`);
      continue;
    }
    expect(await bindFails(port, target.host)).toBe(true);
    const free = await checkPortAvailable(port);
    if (free) problems.push(`${target.label}:${port}: checkPortAvailable says free`);

    const dir = path.join(root, `case-${index}`);
    fs.mkdirSync(dir);
    const registry = path.join(dir, 'ports.json');
    const config = path.join(dir, 'config.json');
    writeJson(config, { ranges: { svc: { start: port, end: Math.min(port + 20, 65535), description: 'listener test' } } });
    const common = ['--registry', registry, '--config', config];
    expect((await runPorts(['init', ...common], { cwd: dir })).code).toBe(0);
    const asked = await runPorts(['allocate', 'svc', '--port', String(port), '--worktree', 'asker', ...common], { cwd: dir });
    if (asked.code !== 4) problems.push(`${target.label}:${port}: allocate --port exit ${asked.code}: ${asked.stderr.trim()}`);
    else if (!asked.stderr.includes(String(port))) problems.push(`${target.label}:${port}: allocate --port does not name the port: ${asked.stderr.trim()}`);
    const next = await runPorts(['next', 'svc', '--json', ...common], { cwd: dir });
    const proposal = JSON.parse(next.stdout || '{}') as { port?: number | null; in_use?: number[] };
    if (next.code !== 0 && next.code !== 3) problems.push(`${target.label}:${port}: next exit ${next.code}: ${next.stderr.trim()}`);
    if (proposal.port === port) problems.push(`${target.label}:${port}: next proposes the busy port`);
    if (!proposal.in_use?.includes(port)) problems.push(`${target.label}:${port}: next does not list it as in use`);
    const got = await runPorts(['allocate', 'svc', '--worktree', 'taker', '--quiet', ...common], { cwd: dir });
    if (got.code === 0 && Number(got.stdout.trim()) === port) problems.push(`${target.label}:${port}: allocate handed it out`);
    if (!free && asked.code === 4 && proposal.port !== port) detected.push(`${target.label}:${port}`);
  }
  summary(`listeners: ${detected.length} of ${targets.length - skipped.length} detected busy by checkPortAvailable, allocate --port (exit 4) and next (skipped): ${detected.join(', ')}${skipped.length ? `; SKIPPED ${skipped.join(', ')}` : ''}`);
  expect(problems).toEqual([]);
  expect(detected.length).toBeGreaterThanOrEqual(4);
});

/**
 * Where `::` is IPv6-only by default (net.ipv6.bindv6only=1), a free dual-stack bind must still
 * mean free on IPv4 too. Checked in a network namespace of its own, so the setting does not
 * touch the rest of the machine; needs root and unshare (Linux).
 */
const inOwnNetworkNamespace = testWhen(
  process.platform === 'linux' && spawnSync('unshare', ['--net', 'true'], { stdio: 'ignore' }).status === 0
    ? { ok: true }
    : { ok: false, reason: 'the bindv6only test needs Linux, root and unshare for a network namespace' },
);

inOwnNetworkNamespace('with net.ipv6.bindv6only=1, listeners on 127.0.0.1, 0.0.0.0, ::1 and :: are still found busy', () => {
  const probe = path.resolve(__dirname, '../../dist/io/port-probe.js');
  const script = `
    const net = require('net');
    const { checkPortAvailable } = require(${JSON.stringify(probe)});
    const listen = (host, ipv6Only) => new Promise((resolve) => {
      const s = net.createServer();
      s.once('error', (e) => resolve({ host, error: e.code }));
      s.listen({ host, port: 0, ipv6Only }, () => resolve({ host, ipv6Only, port: s.address().port, server: s }));
    });
    (async () => {
      const results = [];
      for (const [host, ipv6Only] of [['127.0.0.1', false], ['0.0.0.0', false], ['::1', false], ['::', true]]) {
        const l = await listen(host, ipv6Only);
        if (l.error) { results.push({ host, error: l.error }); continue; }
        results.push({ host, ipv6Only, free: await checkPortAvailable(l.port) });
        l.server.close();
      }
      const idle = await listen('127.0.0.1', false);
      idle.server.close();
      await new Promise((r) => setTimeout(r, 50));
      results.push({ host: 'none', free: await checkPortAvailable(idle.port) });
      process.stdout.write(JSON.stringify({ bindv6only: require('fs').readFileSync('/proc/sys/net/ipv6/bindv6only', 'utf8').trim(), results }));
    })();
  `;
  const shell = `ip link set lo up && echo 1 > /proc/sys/net/ipv6/bindv6only && exec "${process.execPath}" -e "$0"`;
  const run = spawnSync('unshare', ['--net', 'sh', '-c', shell, script], { env: cleanEnv(), encoding: 'utf8' });
  expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
  const report = JSON.parse(run.stdout) as { bindv6only: string; results: { host: string; free?: boolean; error?: string }[] };
  expect(report.bindv6only).toBe('1');
  expect(report.results).toEqual([
    { host: '127.0.0.1', ipv6Only: false, free: false },
    { host: '0.0.0.0', ipv6Only: false, free: false },
    { host: '::1', ipv6Only: false, free: false },
    { host: '::', ipv6Only: true, free: false },
    { host: 'none', free: true },
  ]);
  summary(`listeners with bindv6only=1 (own network namespace): 4 of 4 busy, the idle port free`);
});

test('the warm-up bind test before a lock binds an ephemeral port and leaves no socket open', async () => {
  // The probe's server is unref()ed, so only its descriptor would show that it was left open.
  const sockets = () =>
    fs.readdirSync('/proc/self/fd').filter((fd) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
      } catch {
        return false; // the descriptor readdir itself used, gone by now
      }
    }).length;
  const before = sockets();
  await warmUpBindTest();
  expect(sockets()).toBe(before);
  // The probe is as good as before: a port this process listens on is busy, and free once closed.
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const port = (server.address() as net.AddressInfo).port;
  expect(await checkPortAvailable(port)).toBe(false);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  expect(await checkPortAvailable(port)).toBe(true);
});
