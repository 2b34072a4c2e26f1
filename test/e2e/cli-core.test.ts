import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { cleanEnv, git, privateRanges, readRegistry, removeTempDirs, ROOT, runPorts, runPortsAsync, tempDir } from '../helpers/cli';
import { fakeComposeV2Bin } from '../helpers/docker';
import { makeConfigRepo as makeRepo } from '../helpers/repo';

afterAll(removeTempDirs);

const ranges = { ...privateRanges(21400), wide: { start: 21500, end: 21699, description: 'many' } };
const config = { ranges, services: { web: { description: 'Frontend' }, database: true } };

function listen(port: number, host: string, ipv6Only = false): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host, ipv6Only }, () => resolve(server));
  });
}

describe('ports CLI (built bin)', () => {
  it('prints the version of the package.json it is installed with', () => {
    const own = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(runPorts(['--version'], { cwd: ROOT, env: cleanEnv({ PORTS_STATE_DIR: tempDir() }) })).toMatchObject({ code: 0, stdout: `${own.version}\n` });
    // A copy of the package with another version says that one: nothing is hard-coded.
    const copy = tempDir();
    for (const dir of ['bin', 'dist']) fs.cpSync(path.join(ROOT, dir), path.join(copy, dir), { recursive: true });
    fs.writeFileSync(path.join(copy, 'package.json'), JSON.stringify({ ...own, version: '9.8.7-test' }));
    const run = spawnSync(process.execPath, [path.join(copy, 'bin', 'ports.js'), '--version'], { cwd: copy, env: cleanEnv({ PORTS_STATE_DIR: copy }), encoding: 'utf8' });
    expect({ status: run.status, stdout: run.stdout }).toEqual({ status: 0, stdout: '9.8.7-test\n' });
  });

  it('allocates the declared services, writes .env, and is idempotent', () => {
    const repo = makeRepo(config);
    const first = runPorts(['allocate'], { cwd: repo.root, env: repo.env });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/web\s+21400\s+allocated\s+Frontend/);
    expect(first.stdout).toMatch(/database\s+21420\s+allocated/);
    expect(first.stderr).toMatch(/wrote .*\.env/);
    const again = runPorts(['allocate', '--json'], { cwd: repo.root, env: repo.env });
    expect(JSON.parse(again.stdout).map((a: { port: number }) => a.port)).toEqual([21400, 21420]);
    expect(readRegistry(repo.root).metadata.total_allocations).toBe(2);
    expect(fs.readFileSync(path.join(repo.root, '.env'), 'utf8')).toMatch(/PORT_WEB=21400\nPORT_DATABASE=21420\nCOMPOSE_PROJECT_NAME=/);
  });

  it('prints only ports with --quiet and registry records with --json', () => {
    const repo = makeRepo(config);
    const quiet = runPorts(['allocate', 'web', 'api', '--worktree', 'review-GH-42', '--quiet'], { cwd: repo.root, env: repo.env });
    expect(quiet).toMatchObject({ code: 0, stdout: '21400\n21430\n', stderr: '' });
    const list = JSON.parse(runPorts(['status', '--all', '--json'], { cwd: repo.root, env: repo.env }).stdout);
    expect(list).toHaveLength(2);
    expect(Object.keys(list[0]).sort()).toEqual(['allocated_at', 'allocated_by', 'description', 'health_status', 'port', 'process_id', 'service', 'worktree'].sort());
    expect(JSON.parse(runPorts(['list', '--format', 'json', '--worktree', 'review-GH-42'], { cwd: repo.root, env: repo.env }).stdout)).toEqual(list);
  });

  it('shows both status views', () => {
    const repo = makeRepo(config);
    runPorts(['allocate'], { cwd: repo.root, env: repo.env });
    runPorts(['allocate', 'web', '--worktree', 'other'], { cwd: repo.root, env: repo.env });
    const all = runPorts(['status', '--all'], { cwd: repo.root, env: repo.env });
    expect(all.stdout).toMatch(/^web {2}21400-21419/m);
    expect(all.stdout).toMatch(/Available: 21402-21419 \(18 ports\)/);
    expect(all.stdout).toMatch(/other \(by name\)/);
    expect(all.stdout).toMatch(/Total: 3 ports allocated to 2 worktrees/);
    const mine = runPorts(['status'], { cwd: repo.root, env: repo.env });
    expect(mine.stdout).toMatch(/PORT\s+SERVICE\s+DESCRIPTION\s+STATUS\s+PID/);
    expect(mine.stdout).toMatch(/21400\s+web\s+Frontend\s+unknown\s+-/);
    expect(mine.stdout).not.toMatch(/other/);
  });

  it('status --check refreshes health first and shows the listener’s PID', async () => {
    const repo = makeRepo(config);
    runPorts(['allocate'], { cwd: repo.root, env: repo.env });
    const server = spawn(process.execPath, ['-e', 'require("http").createServer((q, s) => s.end("ok")).listen(21400, "127.0.0.1", () => console.log("up"))']);
    try {
      await new Promise((resolve) => server.stdout.once('data', resolve));
      const result = await runPortsAsync(['status', '--check'], { cwd: repo.root, env: repo.env });
      expect(result.stdout).toMatch(new RegExp(`21400\\s+web\\s+Frontend\\s+healthy\\s+${server.pid}`));
      expect(result.stdout).toMatch(/21420\s+database\s+not_running\s+-/);
      expect(readRegistry(repo.root).allocations.find((a) => a.port === 21400)).toMatchObject({ health_status: 'healthy', process_id: server.pid });
    } finally {
      server.kill();
    }
  });

  it('next shows the port allocate would give and changes nothing', () => {
    const repo = makeRepo(config);
    runPorts(['init'], { cwd: repo.root, env: repo.env });
    const before = fs.readFileSync(path.join(repo.root, 'design/worktrees/ports.json'));
    const next = runPorts(['next', 'web', '--json'], { cwd: repo.root, env: repo.env });
    expect(JSON.parse(next.stdout)).toMatchObject({ service: 'web', port: 21400, range: { start: 21400, end: 21419 }, allocated: [] });
    expect(fs.readFileSync(path.join(repo.root, 'design/worktrees/ports.json'))).toEqual(before);
  });

  it('skips ports held by listeners on each address family', async () => {
    const repo = makeRepo(config);
    const servers = [await listen(21400, '127.0.0.1'), await listen(21401, '::1'), await listen(21402, '0.0.0.0'), await listen(21403, '::', true)];
    try {
      const result = runPorts(['allocate', 'web', '--quiet'], { cwd: repo.root, env: repo.env });
      expect(result.stdout).toBe('21404\n');
      for (const port of [21400, 21401, 21402, 21403]) {
        const asked = runPorts(['allocate', 'web', '--worktree', `w${port}`, '--port', String(port)], { cwd: repo.root, env: repo.env });
        expect(asked.code).toBe(4);
        expect(asked.stderr).toMatch(new RegExp(`Port ${port} is in use by another process`));
      }
    } finally {
      servers.forEach((s) => s.close());
    }
  });

  it('releases by port, by worktree and by service, with exit 2 for unknown ones', () => {
    const repo = makeRepo(config);
    runPorts(['allocate'], { cwd: repo.root, env: repo.env });
    runPorts(['allocate', 'web', 'api', '--worktree', 'scripted'], { cwd: repo.root, env: repo.env });
    expect(runPorts(['release', '21401', '49999'], { cwd: repo.root, env: repo.env })).toMatchObject({ code: 2 });
    expect(readRegistry(repo.root).allocations).toHaveLength(4);
    expect(runPorts(['release', '--worktree', 'scripted', '--service', 'api', '--quiet'], { cwd: repo.root, env: repo.env }).stdout).toBe('21430\n');
    expect(runPorts(['release', '21401', '--quiet'], { cwd: repo.root, env: repo.env }).stdout).toBe('21401\n');
    expect(runPorts(['release', '--quiet'], { cwd: repo.root, env: repo.env }).stdout).toBe('21400\n21420\n');
    expect(fs.existsSync(path.join(repo.root, '.env'))).toBe(false);
    expect(runPorts(['release', '--worktree', 'nobody'], { cwd: repo.root, env: repo.env }).code).toBe(2);
    expect(readRegistry(repo.root).metadata.total_allocations).toBe(0);
  });

  it.each([
    [['allocate', 'gpu'], 1, /Unknown service "gpu"/],
    [['allocate', 'web', '--port', '80'], 1, /outside the web range/],
    [['allocate', 'web', '--port', 'abc'], 1, /--port must be a whole number/],
    [['allocate', 'web', 'api', '--port', '21405'], 1, /--port needs exactly one service/],
    [['allocate', '--bogus'], 1, /Unknown option --bogus/],
    [['frobnicate'], 1, /Unknown command "frobnicate"/],
    [['status', '--format', 'xml'], 1, /--format must be "text" or "json"/],
    [['next'], 1, /needs a SERVICE/],
  ])('ports %j exits %i with a message', (args, code, message) => {
    const repo = makeRepo(config);
    const result = runPorts(args as string[], { cwd: repo.root, env: repo.env });
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe('');
  });

  it('check does not report the .env of a locked worktree whose folder is missing', () => {
    const repo = makeRepo(config);
    const dir = repo.addWorktree('away');
    expect(runPorts(['allocate'], { cwd: dir, env: repo.env }).code).toBe(0);
    git(['worktree', 'lock', dir], repo.root, repo.env);
    fs.rmSync(dir, { recursive: true, force: true });
    const result = runPorts(['check', '--json', '--ignore', 'allocation_mismatch'], { cwd: repo.root, env: repo.env });
    expect(result.code).toBe(0);
    expect(readRegistry(repo.root).allocations).toHaveLength(2);
  });

  it('keeps a generated Compose override on the worktree’s ports when they change', () => {
    const repo = makeRepo({ ranges, services: { web: { compose: { containerPort: 80 } } } });
    fs.writeFileSync(path.join(repo.root, 'compose.yaml'), 'services:\n  web:\n    image: busybox\n    ports: ["8080:80"]\n');
    const override = path.join(repo.root, 'docker-compose.override.yml');
    expect(runPorts(['compose', '--write'], { cwd: repo.root, env: { ...repo.env, PATH: `${fakeComposeV2Bin(tempDir(), '2.27.0')}${path.delimiter}${repo.env.PATH}` } }).code).toBe(0);
    expect(fs.readFileSync(override, 'utf8')).toContain('"21400:80"');
    expect(runPorts(['release'], { cwd: repo.root, env: repo.env }).code).toBe(0);
    const moved = runPorts(['allocate', 'web', '--port', '21405'], { cwd: repo.root, env: repo.env });
    expect(moved.code).toBe(0);
    expect(moved.stderr).toContain(`updated ${override}`);
    expect(fs.readFileSync(override, 'utf8')).toContain('"21405:80"');
    // A hand-written override is never touched.
    fs.writeFileSync(override, 'services: {}\n');
    runPorts(['release'], { cwd: repo.root, env: repo.env });
    runPorts(['allocate', 'web'], { cwd: repo.root, env: repo.env });
    expect(fs.readFileSync(override, 'utf8')).toBe('services: {}\n');
  });

  it('init --force keeps an unreadable registry as a backup and starts a fresh one', () => {
    const repo = makeRepo(config);
    runPorts(['init'], { cwd: repo.root, env: repo.env });
    const file = path.join(repo.root, 'design/worktrees/ports.json');
    fs.writeFileSync(file, '{"ranges": ');
    expect(runPorts(['init'], { cwd: repo.root, env: repo.env }).code).toBe(5);
    const forced = runPorts(['init', '--force'], { cwd: repo.root, env: repo.env });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/could not be read; kept it as .*ports\.json\.corrupt-/);
    const backups = fs.readdirSync(path.dirname(file)).filter((n) => n.startsWith('ports.json.corrupt-'));
    expect(backups).toHaveLength(1);
    expect(fs.readFileSync(path.join(path.dirname(file), backups[0]!), 'utf8')).toBe('{"ranges": ');
    expect(readRegistry(repo.root).allocations).toEqual([]);
    expect(runPorts(['allocate', 'web', '--quiet'], { cwd: repo.root, env: repo.env }).stdout).toBe('21400\n');
  });

  it('exits 3 when the range is exhausted', () => {
    const repo = makeRepo({ ranges: { tiny: { start: 21700, end: 21701 } } });
    runPorts(['allocate', 'tiny', '--worktree', 'a'], { cwd: repo.root, env: repo.env });
    runPorts(['allocate', 'tiny', '--worktree', 'b'], { cwd: repo.root, env: repo.env });
    const result = runPorts(['allocate', 'tiny', '--worktree', 'c'], { cwd: repo.root, env: repo.env });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/No free port in the tiny range 21700-21701/);
    expect(result.stderr).toMatch(/Release ports you no longer need/);
  });

  it('exits 2 reading a missing registry, and 1 for an invalid config with its key path', () => {
    const repo = makeRepo({ services: { web: { env: 'not valid!' } } });
    const bad = runPorts(['allocate'], { cwd: repo.root, env: repo.env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/services\.web\.env: /);
    const fresh = makeRepo(config);
    const missing = runPorts(['status'], { cwd: fresh.root, env: fresh.env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/No port registry at .*ports\.json/);
    expect(missing.stderr).toMatch(/ports init/);
  });

  it.each([
    ['not JSON', '{"ranges": '],
    ['port as text', null],
    ['port 70000', null],
    ['unknown health status', null],
    ['reversed range', null],
    ['missing sections', '{"ranges": {}}'],
    ['newer schema_version', null],
  ])('refuses a registry with %s: exit 5, file and place named, bytes unchanged', (kind, raw) => {
    const repo = makeRepo(config);
    runPorts(['allocate', 'web', '--worktree', 'x'], { cwd: repo.root, env: repo.env });
    const file = path.join(repo.root, 'design/worktrees/ports.json');
    let text = raw;
    if (text === null) {
      const data = JSON.parse(fs.readFileSync(file, 'utf8'));
      if (kind === 'port as text') data.allocations[0].port = '21400';
      if (kind === 'port 70000') data.allocations[0].port = 70000;
      if (kind === 'unknown health status') data.allocations[0].health_status = 'fine';
      if (kind === 'reversed range') data.ranges.web.start = 21500;
      if (kind === 'newer schema_version') data.metadata.schema_version = 2;
      text = JSON.stringify(data, null, 2);
    }
    fs.writeFileSync(file, text);
    const mtime = fs.statSync(file).mtimeMs;
    for (const args of [['allocate', 'web', '--worktree', 'y'], ['status', '--all'], ['release', '21400'], ['init']]) {
      const result = runPorts(args, { cwd: repo.root, env: repo.env });
      expect(result.code).toBe(5);
      expect(result.stderr).toContain(file);
      expect(result.stderr).toMatch(kind === 'not JSON' ? /line 1, column 12/ : kind === 'missing sections' ? /allocations: / : /allocations\[0\]|ranges\.web|metadata\.schema_version/);
      expect(result.stderr).toMatch(/was not changed/);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('gives 40 concurrent processes 40 distinct ports and a consistent total', async () => {
    const repo = makeRepo(config);
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => runPortsAsync(['allocate', 'wide', '--worktree', `agent-${i}`, '--quiet'], { cwd: repo.root, env: repo.env })),
    );
    expect(results.map((r) => r.code)).toEqual(Array(40).fill(0));
    const ports = results.map((r) => Number(r.stdout.trim()));
    expect(new Set(ports).size).toBe(40);
    const registry = readRegistry(repo.root);
    expect(registry.allocations).toHaveLength(40);
    expect(registry.metadata.total_allocations).toBe(40);
    expect(registry.allocations.map((a) => a.port).sort()).toEqual([...ports].sort());
  });
});
