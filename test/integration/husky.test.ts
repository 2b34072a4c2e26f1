/**
 * `ports install` in a project that uses husky 9 (issue 3): husky is installed from
 * npm into a temp repository (`npm install --prefer-offline`, using the machine's npm cache),
 * `husky init` sets core.hooksPath to `.husky/_`, and the ports block must land in
 * `.husky/post-checkout`, fire through husky's stub on `git worktree add`, and come out again
 * on `ports uninstall` without touching husky's own files or lines.
 *
 * The ports package itself is a copy of the built package in the project's node_modules, with
 * package.json listing it as a devDependency, not `npm install file:<this checkout>`: npm would make
 * node_modules/ports a symlink into the shared checkout (whose dist/ other engineers rebuild
 * while this runs) and install that folder's dependencies in place there. A copy is what a
 * registry install leaves behind (bin/, dist/, hooks/, package.json), isolated and instant.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanupTemps, copyPackage, expectAgreement, git, gitRun, makeRepo, ports, testEnv, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const ZERO = '0000000000000000000000000000000000000000';

let repo: Repo;
let localBin: string;
let huskyFile: string;

/** npm with the machine's cache and npmrc (HOME is a temp folder in every spawn). */
function npm(args: string[], cwd: string): void {
  const realHome = os.homedir();
  const userconfig = path.join(realHome, '.npmrc');
  const env = testEnv({
    npm_config_cache: process.env.npm_config_cache ?? path.join(realHome, '.npm'),
    ...(fs.existsSync(userconfig) ? { npm_config_userconfig: userconfig } : {}),
    npm_config_update_notifier: 'false',
  });
  const r = spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} exited ${r.status}:\n${r.stderr}`);
}

/** The project's own `ports`, as `npx ports` would run it. */
function localPorts(args: string[], cwd = repo.main, env: Record<string, string | undefined> = {}) {
  return ports(args, cwd, env, localBin);
}

function commitAll(message: string): void {
  git(['add', '-A'], repo.main);
  git(['commit', '-q', '-m', message], repo.main, { HUSKY: '0' }); // husky init's pre-commit runs `npm test`
}

beforeAll(() => {
  repo = makeRepo({ base: 24700, packageJson: { name: 'app', version: '1.0.0', private: true } });
  fs.writeFileSync(path.join(repo.main, '.gitignore'), 'node_modules/\n');
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-dev', 'husky@9'], repo.main);
  const pkgFile = path.join(repo.main, 'package.json');
  const vendored = copyPackage('ports-vendored-');
  fs.cpSync(vendored, path.join(repo.main, 'node_modules', 'worktree-ports'), { recursive: true });
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { devDependencies: Record<string, string> };
  pkg.devDependencies['worktree-ports'] = `file:${vendored}`;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 2) + '\n');
  const init = spawnSync(process.execPath, [path.join(repo.main, 'node_modules', 'husky', 'bin.js'), 'init'], { cwd: repo.main, env: testEnv(), encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`husky init failed: ${init.stderr}${init.stdout}`);
  commitAll('husky');
  localBin = path.join(repo.main, 'node_modules', 'worktree-ports', 'bin', 'ports.js');
  huskyFile = path.join(repo.main, '.husky', 'post-checkout');
}, 120000);

test('husky init set core.hooksPath to .husky/_ (the premise of the other tests)', () => {
  expect(git(['config', 'core.hooksPath'], repo.main).trim()).toBe('.husky/_');
  expect(fs.existsSync(path.join(repo.main, '.husky', '_', 'post-checkout'))).toBe(true);
  expect(fs.existsSync(huskyFile)).toBe(false);
});

test('ports install puts its block into .husky/post-checkout, not into husky\'s stubs or .git/hooks', () => {
  const stub = fs.readFileSync(path.join(repo.main, '.husky', '_', 'post-checkout'), 'utf8');
  const r = localPorts(['install', '--json']);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ hook: huskyFile, kind: 'husky', action: 'installed' });
  const text = fs.readFileSync(huskyFile, 'utf8');
  expect(text.startsWith('#!/usr/bin/env sh\n# >>> ports >>>')).toBe(true);
  // Committed and run in every clone: it names no folder of this machine.
  expect(text).not.toContain(repo.root);
  expect(text).not.toContain(path.dirname(localBin));
  expect(fs.readFileSync(path.join(repo.main, '.husky', '_', 'post-checkout'), 'utf8')).toBe(stub);
  expect(fs.existsSync(path.join(repo.main, '.git', 'hooks', 'post-checkout'))).toBe(false);
  expect(git(['config', 'core.hooksPath'], repo.main).trim()).toBe('.husky/_');
  const text2 = localPorts(['install']);
  expect(text2.stderr).toContain('already up to date');
  commitAll('ports hook');
});

test('git worktree add fires the block through husky: ports allocated, .env written', () => {
  const dir = repo.wt('through-husky');
  const r = gitRun(['worktree', 'add', '-b', 'through-husky', dir], repo.main);
  expect(r.status).toBe(0);
  expect(r.stderr).toMatch(/ports: through-husky: web \d+, api \d+, database \d+, cache \d+/);
  expectAgreement(repo, dir);
  expect(fs.existsSync(path.join(dir, 'node_modules'))).toBe(false);
  expect(git(['status', '--porcelain'], dir)).toBe('');
});

test('from a linked worktree the hook fires once husky has generated .husky/_ there (its `prepare`); until then `ports allocate` ensures', () => {
  const from = repo.wt('through-husky');
  expect(fs.existsSync(path.join(from, '.husky', 'post-checkout'))).toBe(true);
  expect(fs.existsSync(path.join(from, '.husky', '_'))).toBe(false); // husky's stubs are generated, not committed

  const silent = repo.wt('nested-no-stubs');
  expect(gitRun(['worktree', 'add', '-b', 'nested-no-stubs', silent], from).status).toBe(0);
  expect(repo.allocationsOf(silent)).toEqual([]);
  expect(localPorts(['allocate'], silent).status).toBe(0);
  expectAgreement(repo, silent);

  const husky = spawnSync(process.execPath, [path.join(repo.main, 'node_modules', 'husky', 'bin.js')], { cwd: from, env: testEnv(), encoding: 'utf8' });
  expect(husky.status).toBe(0);
  const nested = repo.wt('nested-with-stubs');
  expect(gitRun(['worktree', 'add', '-b', 'nested-with-stubs', nested], from).status).toBe(0);
  expectAgreement(repo, nested);
});

test('ports uninstall removes the file it created and leaves husky\'s own files and config', () => {
  const preCommit = fs.readFileSync(path.join(repo.main, '.husky', 'pre-commit'), 'utf8');
  const stubs = fs.readdirSync(path.join(repo.main, '.husky', '_')).sort();
  const r = localPorts(['uninstall', '--json']);
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ hook: huskyFile, kind: 'husky', action: 'removed' });
  expect(fs.existsSync(huskyFile)).toBe(false);
  expect(fs.readFileSync(path.join(repo.main, '.husky', 'pre-commit'), 'utf8')).toBe(preCommit);
  expect(fs.readdirSync(path.join(repo.main, '.husky', '_')).sort()).toEqual(stubs);
  expect(git(['config', 'core.hooksPath'], repo.main).trim()).toBe('.husky/_');
  commitAll('no ports hook');

  const dir = repo.wt('after-uninstall');
  expect(gitRun(['worktree', 'add', '-b', 'after-uninstall', dir], repo.main).status).toBe(0);
  expect(repo.allocationsOf(dir)).toEqual([]);
});

test('a husky post-checkout of the project keeps its lines and still runs; uninstall leaves exactly those lines', () => {
  const marker = path.join(repo.root, 'husky-marker');
  // husky 9 hooks are plain shell lines without a shebang, run by `sh -e`.
  const original = `# team hook\necho "team $1 $3" >> '${marker}'\n`;
  fs.writeFileSync(huskyFile, original, { mode: 0o644 });

  expect(localPorts(['install']).status).toBe(0);
  const text = fs.readFileSync(huskyFile, 'utf8');
  expect(text.startsWith('# >>> ports >>>')).toBe(true);
  expect(text.endsWith(`# <<< ports <<<\n\n${original}`)).toBe(true);

  const dir = repo.wt('with-team-hook');
  const r = gitRun(['worktree', 'add', '-b', 'with-team-hook', dir], repo.main);
  expect(r.status).toBe(0);
  expect(fs.readFileSync(marker, 'utf8')).toBe(`team ${ZERO} 1\n`);
  expectAgreement(repo, dir);

  expect(localPorts(['uninstall']).status).toBe(0);
  expect(fs.readFileSync(huskyFile, 'utf8')).toBe(original);
});
