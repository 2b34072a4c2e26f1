/**
 * `ports compose --interpolate` checked by the real docker-compose v1 (the Compose Debian
 * ships): main checkout + two linked worktrees each with their .env publish only their own
 * ports, a checkout without .env the original ones; then, on a real engine, two worktrees'
 * stacks run at once on their own ports, and `ports remove` / `release` refuse to release
 * ports of a running stack unless told to stop it.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { parse as dotenvParse } from 'dotenv';
import { describeWithDocker, docker, httpGet, privateRange, testEnv, waitFor } from '../helpers/docker';
import { runPorts } from '../helpers/cli';
import { git, makeRepoWithFiles as makeRepo, type TestRepo } from '../helpers/repo';

const FIXTURE = fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'compose', 'busybox-stack.yml'), 'utf8');
const composeV1 = spawnSync('docker-compose', ['version'], { env: testEnv(), encoding: 'utf8' });
const hasComposeV1 = composeV1.status === 0;
if (!hasComposeV1) console.warn('Skipping the docker-compose v1 tests: docker-compose is not installed (.ci/docker-up.sh installs it)');
const describeWithComposeV1 = hasComposeV1 ? describe : describe.skip;

interface Checkout {
  name: string;
  dir: string;
  env: Record<string, string>;
}

let repo: TestRepo;
const checkouts: Checkout[] = [];
let withoutEnv: string;

function compose(dir: string, args: string[]) {
  return spawnSync('docker-compose', args, { cwd: dir, env: testEnv(), encoding: 'utf8', timeout: 120000 });
}

/** What `docker-compose config` makes of the checkout: published host ports and container names. */
function resolved(dir: string): { web: number[]; admin: number[]; containerName: string } {
  const config = compose(dir, ['config']);
  expect({ status: config.status, stderr: config.stderr }).toEqual({ status: 0, stderr: '' });
  const services = (YAML.parse(config.stdout) as { services: Record<string, { ports: Array<{ published: number }>; container_name: string }> }).services;
  return { web: services.web!.ports.map((p) => Number(p.published)), admin: services.admin!.ports.map((p) => Number(p.published)), containerName: services.admin!.container_name };
}

beforeAll(async () => {
  if (!hasComposeV1) return;
  const range = await privateRange(20);
  repo = makeRepo('stack', {
    'docker-compose.yml': FIXTURE,
    '.portsrc.json': JSON.stringify({
      ranges: { web: { start: range.start, end: range.start + 9 }, admin: { start: range.start + 10, end: range.end } },
      services: { web: { env: 'PORT_WEB' }, admin: { env: 'PORT_ADMIN' } },
    }),
    '.gitignore': 'design/\n',
  });
  const run = runPorts(['compose', '--interpolate'], { cwd: repo.main });
  expect(run.status).toBe(0);
  git(['commit', '-qam', 'compose: host ports read the worktree variables'], repo.main);
  for (const [name, dir] of [['stack', repo.main], ['feature-a', repo.addWorktree('feature-a')], ['feature-b', repo.addWorktree('feature-b')]] as const) {
    expect(runPorts(['allocate'], { cwd: dir }).status).toBe(0);
    checkouts.push({ name, dir, env: dotenvParse(fs.readFileSync(path.join(dir, '.env'))) });
  }
  withoutEnv = repo.addWorktree('no-tool');
});

afterAll(() => {
  for (const c of checkouts) compose(c.dir, ['down', '-t', '1']);
  repo?.cleanup();
});

describeWithComposeV1(`docker-compose v1 (${composeV1.stdout.split('\n')[0]}) on an interpolated file`, () => {
  it('publishes only each checkout\'s own ports, none shared, with a per-project container name', () => {
    const seen: number[] = [];
    for (const c of checkouts) {
      const config = resolved(c.dir);
      expect(config).toEqual({ web: [Number(c.env.PORT_WEB)], admin: [Number(c.env.PORT_ADMIN)], containerName: `${c.env.COMPOSE_PROJECT_NAME}-admin` });
      seen.push(...config.web, ...config.admin);
    }
    expect(new Set(seen).size).toBe(checkouts.length * 2);
  });

  it('gives a checkout without .env the original ports', () => {
    expect(fs.existsSync(path.join(withoutEnv, '.env'))).toBe(false);
    expect(resolved(withoutEnv)).toEqual({ web: [18080], admin: [18081], containerName: 'stack-admin' });
  });
});

(hasComposeV1 ? describeWithDocker : describe.skip)('two worktrees\' stacks on a real engine', () => {
  const a = () => checkouts[1]!;
  const b = () => checkouts[2]!;
  const running = (c: Checkout) => docker(['ps', '-q', '--filter', `label=com.docker.compose.project=${c.env.COMPOSE_PROJECT_NAME}`]);

  it('runs both at once, each answering HTTP on its own ports', async () => {
    const up = (c: Checkout) => new Promise<number | null>((resolve) => spawn('docker-compose', ['up', '-d'], { cwd: c.dir, env: testEnv(), stdio: 'ignore' }).on('exit', resolve));
    const ups = await Promise.all([up(a()), up(b())]);
    expect(ups).toEqual([0, 0]);
    for (const c of [a(), b()]) {
      for (const port of [c.env.PORT_WEB, c.env.PORT_ADMIN]) {
        await expect(waitFor(`${c.name} on ${port}`, async () => (await httpGet(Number(port))) || undefined)).resolves.toBe('ports-test');
      }
    }
  });

  it('refuses `ports remove` (exit 4) while the stack runs, naming the command that stops it; --stop-containers stops it and removes', async () => {
    const refused = runPorts(['remove', 'feature-a'], { cwd: repo.main });
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain(`docker-compose -p ${a().env.COMPOSE_PROJECT_NAME} down`);
    expect(refused.stderr).toContain('nothing was released');
    expect(running(a())).not.toBe('');
    expect(fs.existsSync(a().dir)).toBe(true);

    const removed = runPorts(['remove', 'feature-a', '--stop-containers'], { cwd: repo.main });
    expect({ status: removed.status, stderr: removed.stderr }).toEqual({ status: 0, stderr: expect.stringContaining('Removed worktree') });
    expect(running(a())).toBe('');
    await expect(httpGet(Number(a().env.PORT_WEB))).rejects.toThrow();
    await expect(httpGet(Number(b().env.PORT_WEB))).resolves.toBe('ports-test');
  });

  it('refuses `ports release` while the stack runs, and releases once it is down', () => {
    const refused = runPorts(['release'], { cwd: b().dir });
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain(`docker-compose -p ${b().env.COMPOSE_PROJECT_NAME} down`);
    expect(fs.existsSync(path.join(b().dir, '.env'))).toBe(true);
    expect(compose(b().dir, ['down', '-t', '1']).status).toBe(0);
    expect(runPorts(['release'], { cwd: b().dir }).status).toBe(0);
  });
});
