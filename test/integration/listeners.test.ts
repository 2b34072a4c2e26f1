import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';
import {
  describeProcess,
  findListeners,
  formatIpv6,
  parseLsof,
  parseNetstat,
  parseProcNetTcp,
  parseTasklistCsv,
  type Listener,
} from '../../src/io/listeners';
import { processStartTime } from '../../src/io/process-info';
import { ipv6LoopbackAvailability, rootAvailability, startChildListener, startSilentTcpServer, testWhen, type Stoppable } from '../helpers/servers';

const onLinux = process.platform === 'linux';
const started: Stoppable[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function track<T extends Stoppable>(server: Promise<T>): Promise<T> {
  const value = await server;
  started.push(value);
  return value;
}

function only(listeners: Listener[], port: number): Listener {
  const matching = listeners.filter((l) => l.port === port);
  expect(matching).toHaveLength(1);
  return matching[0]!;
}

const withIpv6 = testWhen(ipv6LoopbackAvailability());
const asRoot = testWhen(rootAvailability('looking at a listener of another user (runuser)'));
const asRootOnLinux = testWhen(onLinux ? rootAvailability('the hidden-owner test (looking from an unprivileged user)') : { ok: false, reason: 'the hidden-owner test needs Linux' });

describe('findListeners on real sockets', () => {
  test('finds an IPv4-only listener on 127.0.0.1 with this process as owner', async () => {
    const server = await track(startSilentTcpServer('127.0.0.1'));
    const listener = only(await findListeners([server.port]), server.port);
    expect(listener).toEqual({
      port: server.port,
      address: '127.0.0.1',
      family: 4,
      pid: process.pid,
      command: expect.stringContaining('node'),
      cwd: process.cwd(),
      startTime: processStartTime(process.pid),
    });
  });

  withIpv6('finds an IPv6-only listener on ::1 as family 6', async () => {
    const server = await track(startSilentTcpServer('::1'));
    const listener = only(await findListeners([server.port]), server.port);
    expect(listener).toMatchObject({ address: '::1', family: 6, pid: process.pid });
  });

  test('reports an IPv4 wildcard listener with its family', async () => {
    const v4 = await track(startSilentTcpServer('0.0.0.0'));
    expect(only(await findListeners([v4.port]), v4.port)).toMatchObject({ address: '0.0.0.0', family: 4, pid: process.pid });
  });

  withIpv6('reports an IPv6 wildcard listener with its family', async () => {
    const v6 = await track(startSilentTcpServer('::'));
    expect(only(await findListeners([v6.port]), v6.port)).toMatchObject({ address: '::', family: 6, pid: process.pid });
  });

  test('reports the PID, command and cwd of a listener in a child process', async () => {
    const cwd = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ports-listener-cwd-')));
    try {
      const child = await track(startChildListener({ cwd }));
      expect(child.pid).toBe(child.child.pid);
      const listener = only(await findListeners([child.port]), child.port);
      expect(listener.pid).toBe(child.child.pid);
      expect(listener.cwd).toBe(cwd);
      expect(listener.command).toContain('-e');
      expect(listener.startTime).toBe(processStartTime(child.pid));
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  test('returns only the ports asked for, and nothing for a port nobody holds', async () => {
    const a = await track(startSilentTcpServer());
    const b = await track(startSilentTcpServer());
    const found = await findListeners([a.port]);
    expect(found.map((l) => l.port)).toEqual([a.port]);
    await b.stop();
    expect(await findListeners([b.port])).toEqual([]);
    expect(await findListeners([])).toEqual([]);
  });

  test('without a port filter, lists every listener including ours', async () => {
    const server = await track(startSilentTcpServer());
    const all = await findListeners();
    expect(all.some((l) => l.port === server.port && l.pid === process.pid)).toBe(true);
    expect(all.length).toBeGreaterThanOrEqual(1);
  });

  asRoot('a listener of another user is reported with its PID when we may see it (root)', async () => {
    const foreign = await track(startChildListener({ user: 'nobody' }));
    const listener = only(await findListeners([foreign.port]), foreign.port);
    expect(listener.pid).toBe(foreign.pid);
    expect(listener.command).toContain('node');
  });

  asRootOnLinux('a listener whose owner is hidden from us is still reported, with pid null', async () => {
    // Our own (root-owned) listener, looked up by an unprivileged process that may not read our /proc/PID/fd.
    const server = await track(startSilentTcpServer('127.0.0.1'));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-unprivileged-'));
    try {
      // The modules listeners.ts loads, in the same folder layout as src/.
      for (const name of ['io/listeners', 'io/process-info', 'io/child-process', 'core/compare']) {
        const source = fs.readFileSync(path.join(__dirname, '../../src', `${name}.ts`), 'utf8');
        const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true, mode: 0o755 });
        fs.writeFileSync(path.join(dir, `${name}.js`), js.outputText);
      }
      fs.chmodSync(dir, 0o755);
      const script = `require(${JSON.stringify(path.join(dir, 'io', 'listeners.js'))}).findListeners([${server.port}]).then((l) => console.log(JSON.stringify(l)))`;
      const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { encoding: 'utf8', cwd: '/' });
      expect(run.stderr).toBe('');
      const seen = JSON.parse(run.stdout) as Listener[];
      expect(seen).toEqual([{ port: server.port, address: '127.0.0.1', family: 4, pid: null, command: null, cwd: null, startTime: null }]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('describeProcess', () => {
  test('gives the command line (NULs as spaces) and cwd of a live process', () => {
    const described = describeProcess(process.pid);
    expect(described.command).toContain(process.argv[1] ?? 'node');
    expect(described.command).not.toContain('\0');
    expect(described.cwd).toBe(process.cwd());
  });

  test('gives nulls for a process that does not exist', () => {
    expect(describeProcess(2 ** 22 + 17)).toEqual({ command: null, cwd: null });
  });
});

describe('listener table parsers', () => {
  const procTcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 0000000000000000 100 0 0 10 0',
    '   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000000000000 100 0 0 10 0',
    '   2: 0100007F:C350 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 99 1 0000000000000000 20 4 30 10 -1',
  ].join('\n');

  test('reads LISTEN rows of /proc/net/tcp (little-endian words) and ignores others', () => {
    expect(parseProcNetTcp(procTcp, 4, 'LE')).toEqual([
      { port: 8080, address: '127.0.0.1', family: 4, pid: null, inode: '4242' },
      { port: 22, address: '0.0.0.0', family: 4, pid: null, inode: '77' },
    ]);
  });

  test('reads big-endian hosts word by word', () => {
    expect(parseProcNetTcp(procTcp.replace('0100007F:1F90 00000000', '7F000001:1F90 00000000'), 4, 'BE')[0]?.address).toBe('127.0.0.1');
  });

  test('reads /proc/net/tcp6 addresses: loopback, wildcard, IPv4-mapped', () => {
    const rows = [
      'header',
      '   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 11 1 0',
      '   1: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12 1 0',
      '   2: 0000000000000000FFFF00000100007F:0051 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 13 1 0',
      '   3: 000080FE00000000FF005452C3D4A5B6:0052 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 14 1 0',
    ].join('\n');
    expect(parseProcNetTcp(rows, 6, 'LE').map((l) => [l.address, l.port, l.family])).toEqual([
      ['::1', 8080, 6],
      ['::', 80, 6],
      ['::ffff:127.0.0.1', 81, 6],
      ['fe80::5254:ff:b6a5:d4c3', 82, 6],
    ]);
  });

  test.each([
    [[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1], '2001:db8:0:1::1'],
    [[0x20, 1, 0x0d, 0xb8, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:1:1:1:1:1:1'],
    [[0x20, 1, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:0:1:1:1:1:1'],
  ])('formats IPv6 %j as %s', (bytes, text) => {
    expect(formatIpv6(bytes)).toBe(text);
  });

  test('parses lsof -F pcnt output, one entry per socket, with families', () => {
    const out = ['p501', 'cnode', 'f23', 'tIPv6', 'n[::1]:3000', 'f24', 'tIPv4', 'n127.0.0.1:3000', 'p88', 'credis-server', 'f6', 'tIPv4', 'n*:6379', 'f7', 'tIPv6', 'n*:6379', 'p89', 'credis-server', 'f6', 'tIPv4', 'n*:6379', ''].join('\n');
    expect(parseLsof(out)).toEqual([
      { port: 3000, address: '::1', family: 6, pid: 501, command: 'node' },
      { port: 3000, address: '127.0.0.1', family: 4, pid: 501, command: 'node' },
      { port: 6379, address: '0.0.0.0', family: 4, pid: 88, command: 'redis-server' },
      { port: 6379, address: '::', family: 6, pid: 88, command: 'redis-server' },
    ]);
  });

  test('parses netstat -ano listeners by their *:0 remote end, whatever the state word', () => {
    const out = [
      'Active Connections',
      '',
      '  Proto  Local Address          Foreign Address        State           PID',
      '  TCP    0.0.0.0:135            0.0.0.0:0              LISTENING       1044',
      '  TCP    127.0.0.1:5432         0.0.0.0:0              ABHÖREN         6120',
      '  TCP    127.0.0.1:50512        127.0.0.1:5432         ESTABLISHED     7000',
      '  TCP    [::1]:8080             [::]:0                 LISTENING       0',
      '  TCP    [fe80::1%4]:9000       [::]:0                 LISTENING       4',
    ].join('\r\n');
    expect(parseNetstat(out)).toEqual([
      { port: 135, address: '0.0.0.0', family: 4, pid: 1044 },
      { port: 5432, address: '127.0.0.1', family: 4, pid: 6120 },
      { port: 8080, address: '::1', family: 6, pid: null },
      { port: 9000, address: 'fe80::1', family: 6, pid: 4 },
    ]);
  });

  test('parses tasklist CSV into PID → image name', () => {
    const names = parseTasklistCsv('"System Idle Process","0","Services","0","8 K"\r\n"node.exe","6120","Console","1","45,000 K"\r\n');
    expect(names.get(6120)).toBe('node.exe');
    expect(names.get(0)).toBe('System Idle Process');
  });
});
