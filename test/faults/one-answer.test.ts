/**
 * One answer per question: `status` agrees with itself in every format, `check` and `doctor`
 * see a user line that overrides a port variable, the config refuses variable names the tool
 * or the system owns, and one bad service in the config does not cost the others their ports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, git, gitRun, makeInstalledRepo, ports, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

let repo: Repo;
beforeAll(() => {
  repo = makeInstalledRepo({ base: 27000 });
  // The main worktree holds ports; the worktrees below are asked about.
  expect(ports(['allocate'], repo.main).status).toBe(0);
});

describe('ports status', () => {
  test('in a worktree without ports: empty in text, -q and --json alike, exit 0, nothing of other worktrees', () => {
    const dir = repo.wt('no-ports');
    git(['worktree', 'add', '-q', '--detach', dir], repo.main, { PORTS: '0' });
    const mainPorts = repo.allocationsOf(repo.main).map((a) => String(a.port));
    const text = ports(['status'], dir);
    const quiet = ports(['status', '-q'], dir);
    const json = ports(['status', '--json'], dir);
    expect([text.status, quiet.status, json.status]).toEqual([0, 0, 0]);
    expect(quiet.stdout).toBe('');
    expect(JSON.parse(json.stdout)).toEqual([]);
    for (const port of mainPorts) expect(text.stdout).not.toContain(port);
    expect(text.stderr).toMatch(/holds no ports/);
  });

  test('-w with a name that holds no ports: exit 2 in text, -q and --json alike', () => {
    const runs = [[], ['-q'], ['--json']].map((flags) => ports(['status', '-w', 'no-such-worktree', ...flags], repo.main));
    expect(runs.map((r) => r.status)).toEqual([2, 2, 2]);
    for (const r of runs) expect(r.stderr).toMatch(/no-such-worktree.*holds no ports/);
  });
});

test('a user line after the block that sets a port variable again is reported by check and doctor', () => {
  const env = path.join(repo.main, '.env');
  fs.appendFileSync(env, 'PORT_WEB=1234\n');
  const line = fs.readFileSync(env, 'utf8').trimEnd().split('\n').length;
  try {
    const check = ports(['check', '--json'], repo.main);
    const conflicts = JSON.parse(check.stdout).conflicts as { kind: string; message: string }[];
    expect(conflicts.filter((c) => c.kind === 'overridden_variable').map((c) => c.message)).toEqual([expect.stringContaining(`.env:${line} sets PORT_WEB outside the ports block`)]);
    expect(check.status).toBe(4);
    const doctor = ports(['doctor'], repo.main);
    expect(doctor.stdout).toMatch(/A user line overrides a port variable of the block/);
    expect(doctor.status).toBe(4);
  } finally {
    fs.writeFileSync(env, fs.readFileSync(env, 'utf8').replace('PORT_WEB=1234\n', ''));
  }
});

test.each(['COMPOSE_PROJECT_NAME', 'PATH', 'NODE_OPTIONS', 'LD_PRELOAD', 'HOME', 'PORTS_STRICT'])('config "env": %j is refused as a name the tool or the system owns', (name) => {
  const dir = repo.wt(`env-${name.toLowerCase()}`);
  git(['worktree', 'add', '-q', '--detach', dir], repo.main, { PORTS: '0' });
  fs.writeFileSync(path.join(dir, '.portsrc.json'), JSON.stringify({ ranges: { web: { start: 27000, end: 27099 } }, services: { web: { env: name } } }));
  const r = ports(['env'], dir);
  expect(r.stderr).toMatch(/services\.web\.env: names a variable that ports, Compose, the shell or the system owns/);
  expect(r.status).toBe(1);
  expect(fs.existsSync(path.join(dir, '.env'))).toBe(false);
});

describe('one bad service in the config', () => {
  function withConfig(branch: string, config: object): void {
    git(['checkout', '-q', '-b', branch], repo.main);
    fs.writeFileSync(path.join(repo.main, '.portsrc.json'), JSON.stringify(config, null, 2));
    git(['commit', '-q', '-am', branch], repo.main);
    git(['checkout', '-q', 'main'], repo.main);
  }

  test('an unknown service: the hook allocates the other services and warns about it', () => {
    withConfig('unknown-service', { ranges: { web: { start: 27000, end: 27099 } }, services: { web: true, nosuch: true } });
    const dir = repo.wt('with-unknown');
    const add = gitRun(['worktree', 'add', '-q', dir, 'unknown-service'], repo.main);
    expect(add.status).toBe(0);
    expect(add.stderr).toMatch(/Unknown service "nosuch"/);
    expect(repo.allocationsOf(dir).map((a) => a.service)).toEqual(['web']);
    expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toMatch(/PORT_WEB=270\d\d/);
  });

  test('a full range: the hook allocates the other services and warns about it', () => {
    // solo has one port, and the first worktree on this branch takes it.
    withConfig('full-range', { ranges: { web: { start: 27000, end: 27099 }, solo: { start: 27400, end: 27400 } }, services: { web: true, solo: true } });
    const holder = repo.wt('api-holder');
    expect(gitRun(['worktree', 'add', '-q', holder, '-b', 'holder', 'full-range'], repo.main).status).toBe(0);
    expect(repo.allocationsOf(holder).map((a) => a.service).sort()).toEqual(['solo', 'web']);
    const dir = repo.wt('with-full');
    const add = gitRun(['worktree', 'add', '-q', '--detach', dir, 'full-range'], repo.main);
    expect(add.status).toBe(0);
    expect(add.stderr).toMatch(/No free port in the solo range 27400-27400/);
    expect(repo.allocationsOf(dir).map((a) => a.service)).toEqual(['web']);
  });
});
