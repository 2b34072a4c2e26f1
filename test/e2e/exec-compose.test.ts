/**
 * The built CLI end to end: `ports exec` (environment, stdio, exit codes, signals, no shell)
 * and `ports compose` (print, write, refuse a hand-written override). No Docker needed.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { parse as dotenvParse } from 'dotenv';
import { OVERRIDE_HEADER } from '../../src/core/compose-override';
import { portsBin, runPorts, spawnPorts } from '../helpers/cli';
import { fakeComposeV2Bin, privateRange, testEnv } from '../helpers/docker';
import { makeRepoWithFiles as makeRepo, type TestRepo } from '../helpers/repo';

const OVERRIDE_TAG: YAML.CollectionTag = { tag: '!override', collection: 'seq', resolve: (seq) => seq as never };
const PRINT_ENV = ['node', '-e', 'const e = process.env; console.log(JSON.stringify({ web: e.PORT_WEB, db: e.PORT_DB, project: e.COMPOSE_PROJECT_NAME, git: Object.keys(e).filter((k) => k.startsWith("GIT_")) }))'];

let repo: TestRepo;
let wt: string;
let range: { start: number; end: number };
/** `ports compose --write` needs a Compose that reads `!override` (≥ 2.24). */
let v2: NodeJS.ProcessEnv;

beforeAll(async () => {
  range = await privateRange(20);
  repo = makeRepo('shop', {
    'compose.yaml': 'services:\n  web:\n    image: x\n    ports: ["127.0.0.1:8080:80", "9229"]\n  db:\n    image: y\n    ports: ["5432:5432"]\n',
    '.portsrc.json': JSON.stringify({
      ranges: { e2eweb: { start: range.start, end: range.start + 9 }, e2edb: { start: range.start + 10, end: range.end } },
      services: { e2eweb: { env: 'PORT_WEB', compose: { service: 'web' } }, e2edb: { env: 'PORT_DB', compose: { service: 'db', containerPort: 5432 } } },
    }),
    '.gitignore': 'design/\n.env\ndocker-compose.override.yml\n',
  });
  wt = repo.addWorktree('feature-x');
  v2 = testEnv({ NO_COLOR: '1', PATH: `${fakeComposeV2Bin(repo.dir, '2.27.0')}${path.delimiter}${process.env.PATH}` });
});
afterAll(() => repo?.cleanup());

function ports(args: string[], options: { cwd?: string; input?: string; env?: NodeJS.ProcessEnv } = {}) {
  const { status, stdout, stderr } = runPorts(args, { cwd: options.cwd ?? wt, input: options.input, env: options.env });
  return { status, stdout, stderr };
}

describe('ports exec', () => {
  it('allocates the declared services on first use and puts them and COMPOSE_PROJECT_NAME in CMD\'s environment, even with a hook\'s GIT_DIR exported', () => {
    const run = ports(['exec', '--', ...PRINT_ENV], { env: testEnv({ NO_COLOR: '1', GIT_DIR: '/nowhere', GIT_INDEX_FILE: '/nowhere/index' }) });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('ports: allocating e2eweb, e2edb for feature-x');
    const seen = JSON.parse(run.stdout) as { web: string; db: string; project: string };
    expect(Number(seen.web)).toBeGreaterThanOrEqual(range.start);
    expect(Number(seen.db)).toBeGreaterThanOrEqual(range.start + 10);
    expect(seen.project).toMatch(/^shop-feature-x/);
    expect(dotenvParse(fs.readFileSync(path.join(wt, '.env')))).toEqual({ PORT_WEB: seen.web, PORT_DB: seen.db, COMPOSE_PROJECT_NAME: seen.project });
  });

  it('works without a .env, and overrides a value inherited from the shell', () => {
    const before = JSON.parse(ports(['exec', '--', ...PRINT_ENV]).stdout) as { web: string };
    fs.rmSync(path.join(wt, '.env'));
    const run = ports(['exec', '--', ...PRINT_ENV], { env: testEnv({ PORT_WEB: '1' }) });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect((JSON.parse(run.stdout) as { web: string }).web).toBe(before.web);
    expect(fs.existsSync(path.join(wt, '.env'))).toBe(false);
    ports(['env']);
  });

  it('passes stdin through and stdout/stderr untouched', () => {
    const run = ports(['exec', '--', 'node', '-e', 'process.stdin.pipe(process.stdout); process.stderr.write("err")'], { input: 'line 1\nline 2\n' });
    expect(run).toEqual({ status: 0, stdout: 'line 1\nline 2\n', stderr: 'err' });
  });

  it.each([
    [0, ['node', '-e', 'process.exit(0)']],
    [7, ['node', '-e', 'process.exit(7)']],
    [127, ['no-such-command-for-ports']],
  ])('exits %i for %j', (code, command) => {
    expect(ports(['exec', '--', ...command]).status).toBe(code);
  });

  it.each(['SIGTERM', 'SIGKILL'])('dies of %s when CMD dies of it, as the shell would see CMD', (signal) => {
    const run = spawnSync(process.execPath, [portsBin(), 'exec', '--', 'node', '-e', `process.kill(process.pid, "${signal}")`], { cwd: wt, env: testEnv() });
    expect({ status: run.status, signal: run.signal }).toEqual({ status: null, signal });
  });

  it('never passes the command through a shell', () => {
    const marker = path.join(repo.dir, 'pwned');
    const run = ports(['exec', '--', 'node', '-e', 'console.log(process.argv[1])', `$(touch ${marker}); \`touch ${marker}\``]);
    expect(run.stdout.trim()).toBe(`$(touch ${marker}); \`touch ${marker}\``);
    expect(ports(['exec', '--', `touch ${marker}`]).status).toBe(127);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('refuses a command given without `--`, and a missing command (exit 1)', () => {
    const without = ports(['exec', 'echo', 'hi']);
    expect(without.status).toBe(1);
    expect(without.stderr).toContain('ports exec -- echo hi');
    expect(ports(['exec', '--']).status).toBe(1);
    expect(ports(['exec']).stderr).toContain('needs a command after `--`');
  });

  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)('forwards %s to CMD and exits with CMD\'s code', async (signal) => {
    const script = `process.on(${JSON.stringify(signal)}, () => { console.log("got ${signal}"); process.exit(42); }); console.log("ready"); setInterval(() => {}, 1000);`;
    const { child, result } = spawnPorts(['exec', '--', 'node', '-e', script], { cwd: wt, env: testEnv() });
    let seen = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: string) => {
        seen += chunk;
        if (seen.includes('ready')) resolve();
      });
    });
    child.kill(signal);
    const { status: code, stdout } = await result;
    expect({ code, stdout }).toEqual({ code: 42, stdout: `ready\ngot ${signal}\n` });
  });

  it('dies of SIGTERM when a forwarded SIGTERM kills CMD', async () => {
    const child = spawn(process.execPath, [portsBin(), 'exec', '--', 'node', '-e', 'console.log("ready"); setInterval(() => {}, 1000)'], { cwd: wt, env: testEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))).toEqual([null, 'SIGTERM']);
  });
});

describe('ports compose', () => {
  const overridePath = () => path.join(wt, 'docker-compose.override.yml');
  const allocated = () => JSON.parse(ports(['exec', '--', ...PRINT_ENV]).stdout) as { web: string; db: string };

  it('prints an override that replaces the base ports with the allocated ones, keeping the base host IP', () => {
    const { web, db } = allocated();
    const run = ports(['compose']);
    expect(run.status).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe(OVERRIDE_HEADER);
    const doc = YAML.parseDocument(run.stdout, { customTags: [OVERRIDE_TAG] });
    expect(doc.warnings).toEqual([]);
    expect(doc.toJS()).toEqual({ services: { web: { ports: [`127.0.0.1:${web}:80`, '9229'] }, db: { ports: [`${db}:5432`] } } });
    expect(doc.getIn(['services', 'web', 'ports'], true)).toMatchObject({ tag: '!override' });
    expect(fs.existsSync(overridePath())).toBe(false);
  });

  it('writes it with --write, rewrites only when it changed, and prints plain lists with --plain', () => {
    const first = ports(['compose', '--write'], { env: v2 });
    expect(first).toMatchObject({ status: 0, stdout: `${overridePath()}\n` });
    expect(first.stderr).toContain(`Wrote ${overridePath()}.`);
    expect(fs.readFileSync(overridePath(), 'utf8')).toBe(`${ports(['compose']).stdout}`);
    expect(ports(['compose', '--write'], { env: v2 }).stderr).toContain('is up to date');
    const plain = ports(['compose', '--plain']).stdout;
    expect(plain).not.toContain('!override');
    expect(YAML.parse(plain).services.web.ports).toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+:80$/)]);
  });

  it('finds the base file from a subfolder, as Compose does, and writes the override next to it', () => {
    const sub = path.join(wt, 'src', 'deep');
    fs.mkdirSync(sub, { recursive: true });
    fs.rmSync(overridePath(), { force: true });
    const run = ports(['compose', '--write'], { cwd: sub, env: v2 });
    expect(run).toMatchObject({ status: 0, stdout: `${overridePath()}\n` });
    expect(fs.existsSync(overridePath())).toBe(true);
  });

  it('refuses (exit 4) to replace an override it did not write, and leaves it as it is', () => {
    const mine = 'services:\n  web:\n    environment: [DEBUG=1]\n';
    const file = path.join(wt, 'compose.override.yaml');
    fs.writeFileSync(file, mine);
    const run = ports(['compose', '--write', '--output', 'compose.override.yaml'], { env: v2 });
    expect(run.status).toBe(4);
    expect(run.stderr).toContain(`${file} exists and was not written by ports`);
    expect(fs.readFileSync(file, 'utf8')).toBe(mine);
    fs.rmSync(file);
  });

  it('warns when Compose would load another override file instead of ours', () => {
    fs.writeFileSync(path.join(wt, 'compose.override.yml'), 'services: {}\n');
    const run = ports(['compose', '--write'], { env: v2 });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`Compose will load ${path.join(wt, 'compose.override.yml')}, not ${overridePath()}`);
    fs.rmSync(path.join(wt, 'compose.override.yml'));
  });

  it('reads the base files named with --file, and --json reports what it did', () => {
    fs.writeFileSync(path.join(wt, 'other.yaml'), 'services:\n  web:\n    ports: ["3000"]\n');
    const run = ports(['compose', '--file', 'other.yaml', '--json']);
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { baseFiles: string[]; services: unknown[]; skipped: Array<{ name: string }>; content: string };
    expect(report.baseFiles).toEqual([path.join(wt, 'other.yaml')]);
    expect(report.skipped.map((s) => s.name)).toEqual(['e2edb']);
    expect(run.stderr).toContain('e2edb is not in the override: no Compose service "db"');
    expect(YAML.parse(report.content, { customTags: [OVERRIDE_TAG] }).services.web.ports).toEqual([`${allocated().web}:3000`]);
  });

  it('exits 2 when there is no compose file', () => {
    const bare = repo.addWorktree('no-compose');
    fs.rmSync(path.join(bare, 'compose.yaml'));
    const run = ports(['compose'], { cwd: bare });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('No compose file found');
  });
});
