/**
 * The real install path, end to end (issue 15): `npm pack`; a fresh project installs the tarball
 * and husky from npm; `npx ports install`; the hook is committed; a second clone elsewhere runs
 * `npm ci` and `git worktree add` and gets its ports. The same with a global install. The
 * tarball names no folder of the packing machine, and installing it asks nothing of the user.
 * Serial by nature (each step needs the previous one); npm uses the machine's cache.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupTemps, git, makeRepo, PACKAGE_ROOT, tempDir, testEnv } from '../helpers/repo';

afterAll(() => cleanupTemps());
jest.setTimeout(180000);

let work: string;
let tarball: string;
let stateDir: string;

/** The machine's PATH (not the test helpers' tool link): only what npm installed may be found. */
function env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const realHome = os.homedir();
  const userconfig = path.join(realHome, '.npmrc');
  return testEnv({
    PATH: process.env.PATH,
    PORTS_STATE_DIR: stateDir,
    npm_config_cache: process.env.npm_config_cache ?? path.join(realHome, '.npm'),
    ...(fs.existsSync(userconfig) ? { npm_config_userconfig: userconfig } : {}),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    ...extra,
  });
}

function run(command: string, args: string[], cwd: string, extra: Record<string, string | undefined> = {}) {
  const r = spawnSync(command, args, { cwd, env: env(extra), encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

function portsInEnvFile(dir: string): string[] {
  const file = path.join(dir, '.env');
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').match(/^PORT_WEB=\d+$/gm) ?? [] : [];
}

function writeConfig(dir: string): void {
  fs.writeFileSync(
    path.join(dir, '.portsrc.json'),
    JSON.stringify({ ranges: { web: { start: 27600, end: 27699, description: 'e2e web' } }, services: { web: true } }, null, 2) + '\n',
  );
}

beforeAll(() => {
  work = tempDir('ports-e2e-install-');
  stateDir = path.join(work, 'state');
  const pack = path.join(work, 'pack');
  fs.mkdirSync(pack);
  // dist/ is built by `npm test` before jest runs; prepack would rebuild it under the other tests.
  const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', pack, PACKAGE_ROOT], work);
  tarball = path.join(pack, packed.stdout.trim().split('\n').pop()!);
});

test('the tarball is worktree-ports with both commands, and names no folder of the packing machine', () => {
  expect(path.basename(tarball)).toMatch(/^worktree-ports-\d+\.\d+\.\d+\.tgz$/);
  const extracted = path.join(work, 'extracted');
  fs.mkdirSync(extracted);
  run('tar', ['xzf', tarball, '-C', extracted], work);
  const pkg = JSON.parse(fs.readFileSync(path.join(extracted, 'package', 'package.json'), 'utf8')) as { name: string; bin: Record<string, string>; scripts?: Record<string, string> };
  expect(pkg.name).toBe('worktree-ports');
  expect(Object.keys(pkg.bin).sort()).toEqual(['ports', 'worktree-ports']);
  expect(pkg.scripts?.prepare).toBeUndefined();
  const grep = spawnSync('grep', ['-rlF', PACKAGE_ROOT, extracted], { encoding: 'utf8' });
  expect(grep.stdout).toBe('');
  expect(grep.status).toBe(1); // 1: no match (2 would be an error)
});

test('a project installs it with husky, commits the hook, and a second clone elsewhere gets ports after npm ci', () => {
  const project = path.join(work, 'project');
  fs.mkdirSync(project);
  git(['init', '-q', '-b', 'main'], project);
  git(['config', 'user.name', 'Ports Test'], project);
  git(['config', 'user.email', 'ports-test@example.invalid'], project);
  fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }, null, 2) + '\n');
  fs.writeFileSync(path.join(project, '.gitignore'), 'node_modules/\n');
  writeConfig(project);
  const install = run('npm', ['install', '--save-dev', '--prefer-offline', tarball, 'husky@9'], project);
  // Nothing the user must act on (npm's notices about funding and audits are switched off above).
  expect(`${install.stdout}${install.stderr}`).not.toMatch(/npm warn|allowScripts|install script/i);

  run('npx', ['--no', 'husky', 'init'], project);
  run('npx', ['--no', 'ports', 'install'], project);
  const hook = fs.readFileSync(path.join(project, '.husky', 'post-checkout'), 'utf8');
  expect(hook).not.toContain(work);
  git(['add', '-A'], project);
  git(['commit', '-q', '-m', 'husky and ports'], project, { HUSKY: '0' });

  // Elsewhere: the tarball sits at the same relative place, as a registry version would be anywhere.
  const elsewhere = path.join(work, 'elsewhere');
  fs.mkdirSync(path.join(elsewhere, 'pack'), { recursive: true });
  fs.copyFileSync(tarball, path.join(elsewhere, 'pack', path.basename(tarball)));
  const clone = path.join(elsewhere, 'project');
  git(['clone', '-q', project, clone], work);
  run('npm', ['ci', '--prefer-offline'], clone);
  const again = run('npx', ['--no', 'ports', 'install', '--json'], clone);
  expect((JSON.parse(again.stdout) as { action: string }).action).toBe('unchanged');
  expect(git(['status', '--porcelain'], clone)).toBe('');

  const wt = path.join(elsewhere, 'feature');
  const added = spawnSync('git', ['worktree', 'add', '-b', 'feature', wt], { cwd: clone, env: env(), encoding: 'utf8' });
  expect(added.stderr).not.toContain('warning');
  expect(added.status).toBe(0);
  expect(portsInEnvFile(wt)).toHaveLength(1);
});

test('a global install (npm install -g --prefix) gives ports to a repository without a package.json', () => {
  const prefix = path.join(work, 'global');
  run('npm', ['install', '-g', '--prefer-offline', '--prefix', prefix, tarball], work);
  const globalPath = `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH}`;
  const repo = makeRepo({ base: 27700 });
  writeConfig(repo.main);
  git(['commit', '-q', '-am', 'web only'], repo.main);
  run('ports', ['install'], repo.main, { PATH: globalPath });
  const added = spawnSync('git', ['worktree', 'add', '-b', 'feature', repo.wt('feature')], { cwd: repo.main, env: env({ PATH: globalPath }), encoding: 'utf8' });
  expect(added.stderr).not.toContain('warning');
  expect(added.status).toBe(0);
  expect(portsInEnvFile(repo.wt('feature'))).toHaveLength(1);
});
