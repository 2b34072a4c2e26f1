/**
 * The built CLI end to end: `ports compose --interpolate [--dry-run]` on real files in a real
 * repository, the refusals of `--write` / `--plain`, print-only runs that change nothing, and
 * a written override that stays out of git. No Docker engine needed (docker-compose v1 is used
 * where installed, a v2 stand-in otherwise).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';
import { parseComposeServices } from '../../src/core/compose-override';
import { fakeComposeV2Bin, privateRange, testEnv } from '../helpers/docker';
import { runPorts } from '../helpers/cli';
import { git, makeRepoWithFiles as makeRepo, type TestRepo } from '../helpers/repo';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'compose');
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), 'utf8');
const hasComposeV1 = spawnSync('docker-compose', ['version'], { env: testEnv(), encoding: 'utf8' }).status === 0;

let repo: TestRepo;
let range: { start: number; end: number };
const withPath = (bin: string) => testEnv({ NO_COLOR: '1', PATH: `${bin}${path.delimiter}${process.env.PATH}` });

beforeAll(async () => {
  range = await privateRange(30);
  const config = {
    ranges: { web: { start: range.start, end: range.start + 9 }, api: { start: range.start + 10, end: range.start + 19 }, database: { start: range.start + 20, end: range.end } },
    services: { web: { env: 'PORT_WEB' }, api: { env: 'PORT_API' }, database: { env: 'PORT_DATABASE', compose: { service: 'db' } } },
  };
  repo = makeRepo('shop', {
    'docker-compose.yml': fixture('shop-web-api-db.yml'),
    '.portsrc.json': JSON.stringify(config),
    '.gitignore': 'design/\n',
  });
});
afterAll(() => repo?.cleanup());

const registryFile = () => path.join(repo.main, 'design', 'worktrees', 'ports.json');

describe('ports compose --interpolate', () => {
  it('--dry-run prints the diff and writes nothing', () => {
    const before = fs.readFileSync(path.join(repo.main, 'docker-compose.yml'), 'utf8');
    const run = runPorts(['compose', '--interpolate', '--dry-run'], { cwd: repo.main });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('--- docker-compose.yml\n+++ docker-compose.yml\n');
    expect(run.stdout).toContain('-      - "8080:80"              # storefront\n+      - "${PORT_WEB:-8080}:80"              # storefront\n');
    expect(run.stdout).toContain("+      - '127.0.0.1:${PORT_DATABASE:-5432}:5432'  # only from this machine");
    expect(run.stderr).toContain('Dry run');
    expect(fs.readFileSync(path.join(repo.main, 'docker-compose.yml'), 'utf8')).toBe(before);
    expect(fs.existsSync(registryFile())).toBe(false);
  });

  it('rewrites the file in place keeping its mode, and a second run changes nothing', () => {
    const file = path.join(repo.main, 'docker-compose.yml');
    fs.chmodSync(file, 0o640);
    const run = runPorts(['compose', '--interpolate'], { cwd: repo.main });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`Wrote ${file}.`);
    const text = fs.readFileSync(file, 'utf8');
    expect(YAML.parse(text).services.web.ports).toEqual(['${PORT_WEB:-8080}:80']);
    expect(YAML.parse(text).services.api.ports).toEqual(['${PORT_API:-3000}:3000', '9229']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(repo.main).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    const again = runPorts(['compose', '--interpolate'], { cwd: repo.main });
    expect(again).toMatchObject({ status: 0, stdout: '' });
    expect(again.stderr).toContain('Nothing to change: 3 mappings already read their variable.');
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    git(['commit', '-qam', 'compose: host ports read the worktree variables'], repo.main);
  });

  it('leaves a file it cannot parse alone: exit 1 naming the file, line and reason', () => {
    const broken = path.join(repo.main, 'broken.yml');
    const text = 'services:\n  web:\n    ports:\n      - "8080:80\n  db: [\n';
    fs.writeFileSync(broken, text);
    const run = runPorts(['compose', '--interpolate', '--file', 'broken.yml'], { cwd: repo.main });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: not valid YAML \\(.+\\); the file is left as it is\\.`));
    expect(fs.readFileSync(broken, 'utf8')).toBe(text);
    fs.rmSync(broken);
  });

  it('rewrites every file named with repeated --file or COMPOSE_FILE, and makes container_name per-project', () => {
    const dir = path.join(repo.main, 'multi');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'base.yml'), fixture('two-files.base.yml'));
    fs.writeFileSync(path.join(dir, 'dev.yml'), `${fixture('two-files.dev.yml')}    container_name: api-dev\n`);
    fs.writeFileSync(path.join(dir, '.portsrc.json'), JSON.stringify({ ranges: { web: { start: range.start, end: range.end } }, services: { web: { env: 'PORT_WEB' }, api: { env: 'PORT_API' } } }));
    const dry = runPorts(['compose', '--interpolate', '--dry-run', '--file', 'base.yml', '--file', 'dev.yml'], { cwd: dir });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toContain('+      - "${PORT_WEB:-4200}:4200"    # dev server');

    const run = runPorts(['compose', '--interpolate'], { cwd: dir, env: testEnv({ NO_COLOR: '1', COMPOSE_FILE: `base.yml${path.delimiter}dev.yml` }) });
    expect(run.status).toBe(0);
    const dev = YAML.parse(fs.readFileSync(path.join(dir, 'dev.yml'), 'utf8'));
    expect(dev.services.api).toEqual({ ports: [{ target: 4000, published: '${PORT_API:-4000}' }], container_name: '${COMPOSE_PROJECT_NAME:-multi}-api-dev' });
    expect(run.stderr).toContain('api: container_name is now "${COMPOSE_PROJECT_NAME:-multi}-api-dev"');
    expect(fs.readFileSync(path.join(dir, 'base.yml'), 'utf8')).toBe(fixture('two-files.base.yml'));
  });
});

describe('ports compose without --interpolate', () => {
  it('prints with --config other.json without allocating or rewriting the override', () => {
    const wt = repo.addWorktree('print-only');
    const v2 = withPath(fakeComposeV2Bin(repo.dir, '2.27.0'));
    expect(runPorts(['compose', '--write'], { cwd: wt, env: v2 }).status).toBe(0);
    const override = path.join(wt, 'docker-compose.override.yml');
    const written = fs.readFileSync(override, 'utf8');
    const registry = fs.readFileSync(registryFile(), 'utf8');
    const other = { ranges: { web: { start: range.start, end: range.end } }, services: { web: { env: 'PORT_WEB' }, cache: { env: 'PORT_CACHE' } } };
    fs.writeFileSync(path.join(repo.dir, 'other.json'), JSON.stringify(other));

    const run = runPorts(['compose', '--config', path.join(repo.dir, 'other.json')], { cwd: wt, env: v2 });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('cache is not allocated for this worktree yet');
    expect(fs.readFileSync(registryFile(), 'utf8')).toBe(registry);
    expect(fs.readFileSync(override, 'utf8')).toBe(written);
  });

  it('writes an override whose !override ports, merged as Compose merges files, publish only the allocated ports; git stays clean and `ports remove` works', () => {
    const wt = repo.addWorktree('with-override');
    const run = runPorts(['compose', '--write', '--json'], { cwd: wt, env: withPath(fakeComposeV2Bin(repo.dir, '2.24.0')) });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as { file: string; content: string };
    const env = Object.fromEntries(fs.readFileSync(path.join(wt, '.env'), 'utf8').split('\n').filter((l) => /^PORT_/.test(l)).map((l) => l.split('=')));
    // Every mapped service's list carries the tag that makes Compose replace the base list.
    const doc = YAML.parseDocument(report.content, { customTags: [{ tag: '!override', collection: 'seq', resolve: (seq) => seq as never }] });
    expect(doc.errors).toEqual([]);
    for (const service of ['web', 'api', 'db']) expect(doc.getIn(['services', service, 'ports'], true)).toMatchObject({ tag: '!override' });
    // Compose merge rules: a later file's ports are appended, unless tagged !override (replace).
    const merged = parseComposeServices([
      { file: 'docker-compose.yml', text: fs.readFileSync(path.join(wt, 'docker-compose.yml'), 'utf8') },
      { file: report.file, text: report.content },
    ]);
    expect(merged.get('web')!.ports.map((p) => `${p.hostIp ?? ''}|${p.published}:${p.target}`)).toEqual([`|${env.PORT_WEB}:80`]);
    expect(merged.get('api')!.ports.map((p) => `${p.published}:${p.target}`)).toEqual([`${env.PORT_API}:3000`, 'null:9229']);
    expect(merged.get('db')!.ports.map((p) => `${p.hostIp}|${p.published}:${p.target}`)).toEqual([`127.0.0.1|${env.PORT_DATABASE}:5432`]);

    expect(git(['status', '--porcelain'], wt)).toBe('');
    const removed = runPorts(['remove', 'with-override'], { cwd: repo.main });
    expect(removed.stderr).toContain('Removed worktree');
    expect(removed.status).toBe(0);
    expect(fs.existsSync(wt)).toBe(false);
  });

  it('refuses --write (exit 1, naming --interpolate) for a Compose that cannot read !override, writing and allocating nothing', () => {
    const wt = repo.addWorktree('old-compose');
    const registry = fs.readFileSync(registryFile(), 'utf8');
    const clients: Array<[string, NodeJS.ProcessEnv, RegExp]> = [[fakeComposeV2Bin(repo.dir, '2.20.3'), withPath(fakeComposeV2Bin(repo.dir, '2.20.3')), /docker compose 2\.20\.3 cannot read the `!override` tag/]];
    if (hasComposeV1) clients.push(['docker-compose v1', testEnv({ NO_COLOR: '1' }), /docker-compose 1\.\d+\.\d+ cannot read the `!override` tag/]);
    else console.warn('docker-compose v1 is not installed: its refusal is not checked here');
    for (const [, env, message] of clients) {
      const run = runPorts(['compose', '--write'], { cwd: wt, env });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toContain('ports compose --interpolate');
      expect(fs.existsSync(path.join(wt, 'docker-compose.override.yml'))).toBe(false);
      expect(fs.readFileSync(registryFile(), 'utf8')).toBe(registry);
    }
  });

  it('refuses --plain (exit 4) while the base file publishes a fixed host port for a mapped service, and writes it once the base reads the variables', () => {
    const wt = repo.addWorktree('plain');
    const file = path.join(wt, 'docker-compose.yml');
    fs.writeFileSync(file, fixture('shop-web-api-db.yml'));
    const refused = runPorts(['compose', '--write', '--plain'], { cwd: wt });
    expect(refused.status).toBe(4);
    expect(refused.stderr).toContain('docker-compose.yml:10 (web: "8080:80"), ');
    expect(refused.stderr).toContain('ports compose --interpolate');
    expect(fs.existsSync(path.join(wt, 'docker-compose.override.yml'))).toBe(false);

    git(['checkout', '--', 'docker-compose.yml'], wt);
    const written = runPorts(['compose', '--write', '--plain'], { cwd: wt });
    expect(written.status).toBe(0);
    expect(fs.readFileSync(path.join(wt, 'docker-compose.override.yml'), 'utf8')).not.toContain('!override');
  });
});

describe('container_name in check and doctor', () => {
  it('reports a fixed container_name until --interpolate makes it per-project', () => {
    const dir = repo.addWorktree('monitoring');
    fs.writeFileSync(path.join(dir, 'docker-compose.yml'), fixture('monitoring-container-names.yml'));
    expect(runPorts(['allocate'], { cwd: dir }).status).toBe(0);
    const check = runPorts(['check', '--json', '--ignore', 'allocation_mismatch'], { cwd: dir });
    const conflicts = (JSON.parse(check.stdout) as { conflicts: Array<{ kind: string; message: string; resolution: string }> }).conflicts.filter((c) => c.kind === 'container_name');
    expect(check.status).toBe(4);
    expect(conflicts.map((c) => c.message)).toEqual([
      expect.stringContaining('docker-compose.yml:5: service grafana sets container_name "grafana"'),
      expect.stringContaining('docker-compose.yml:13: service prometheus sets container_name "prometheus"'),
      expect.stringContaining('docker-compose.yml:21: service node-exporter sets container_name "node-exporter"'),
    ]);
    expect(conflicts[0]!.resolution).toContain('ports compose --interpolate');
    const doctor = JSON.parse(runPorts(['doctor', '--json'], { cwd: dir }).stdout) as { findings: Array<{ kind: string }> };
    expect(doctor.findings.filter((f) => f.kind === 'container_name')).toHaveLength(3);

    expect(runPorts(['compose', '--interpolate'], { cwd: dir }).status).toBe(0);
    const after = JSON.parse(runPorts(['check', '--json', '--ignore', 'allocation_mismatch'], { cwd: dir }).stdout) as { conflicts: Array<{ kind: string }> };
    expect(after.conflicts.filter((c) => c.kind === 'container_name')).toEqual([]);
  });
});
