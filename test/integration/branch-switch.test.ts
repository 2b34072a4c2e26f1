/**
 * A branch switch costs no Node start (issue 16): in a worktree that holds all its declared
 * ports, `git switch` runs the hook's shell part only, decided from the stamp the tool left in
 * the worktree's git dir. Every case that needs work still starts Node: a new worktree, a
 * `--no-checkout` worktree's first checkout, a changed config, released ports, a deleted .env.
 * A `node` first on PATH records each call (the hook runs the node it finds on PATH).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PACKAGE_ROOT, cleanupTemps, expectAgreement, git, gitRun, makeInstalledRepo, portsOk, tempDir, testEnv, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

let shimDir: string;
let calls: string;

beforeAll(() => {
  shimDir = tempDir('ports-node-shim-');
  calls = path.join(shimDir, 'calls');
  fs.writeFileSync(path.join(shimDir, 'node'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
});

/** Runs git with the recording node first on PATH; returns the node calls it caused. */
function gitCountingNode(args: string[], cwd: string): string[] {
  fs.rmSync(calls, { force: true });
  const r = gitRun(args, cwd, { PATH: `${shimDir}${path.delimiter}${testEnv().PATH}` });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n') : [];
}

function setUpWorktree(name: string): { repo: Repo; dir: string } {
  const repo = makeInstalledRepo({ base: 26100 });
  const dir = repo.wt(name);
  expect(gitCountingNode(['worktree', 'add', '-b', name, dir], repo.main)).toHaveLength(1); // a new worktree gets everything
  expectAgreement(repo, dir);
  git(['branch', 'other'], dir);
  return { repo, dir };
}

test('a branch switch in a worktree that holds its ports starts no node, both ways and again', () => {
  const { repo, dir } = setUpWorktree('feature');
  const before = repo.registryText();
  expect(gitCountingNode(['switch', 'other'], dir)).toEqual([]);
  expect(gitCountingNode(['switch', 'feature'], dir)).toEqual([]);
  expect(gitCountingNode(['checkout', '-q', '-b', 'third'], dir)).toEqual([]);
  expect(repo.registryText()).toBe(before);
  expectAgreement(repo, dir);
});

test('a branch switch in the main worktree starts node once, then never while the config stays', () => {
  const repo = makeInstalledRepo({ base: 26100 });
  git(['branch', 'other'], repo.main);
  expect(gitCountingNode(['switch', 'other'], repo.main)).toHaveLength(1);
  expect(gitCountingNode(['switch', 'main'], repo.main)).toEqual([]);
});

test('a --no-checkout worktree gets its ports on its first checkout', () => {
  const repo = makeInstalledRepo({ base: 26100 });
  const dir = repo.wt('later');
  expect(gitCountingNode(['worktree', 'add', '--no-checkout', '-b', 'later', dir], repo.main)).toEqual([]);
  expect(gitCountingNode(['checkout', '-q', 'later'], dir)).toHaveLength(1);
  expectAgreement(repo, dir);
});

test('a changed config starts node on the next switch, and the new service gets its port', () => {
  const { repo, dir } = setUpWorktree('feature');
  const configFile = path.join(dir, '.portsrc.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { ranges: Record<string, object>; services: Record<string, unknown> };
  config.ranges.extra = { start: 26900, end: 26909, description: 'test extra' };
  config.services.extra = true;
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2) + '\n');
  git(['commit', '-q', '-am', 'one more service'], dir);
  expect(gitCountingNode(['switch', '-c', 'with-extra'], dir)).toHaveLength(1);
  expect(repo.allocationsOf(dir).map((a) => a.service)).toContain('extra');
  expect(gitCountingNode(['switch', 'feature'], dir)).toEqual([]);
});

test('released ports start node on the next switch, which allocates them again', () => {
  const { repo, dir } = setUpWorktree('feature');
  portsOk(['release'], dir);
  expect(repo.allocationsOf(dir)).toEqual([]);
  expect(gitCountingNode(['switch', 'other'], dir)).toHaveLength(1);
  expectAgreement(repo, dir);
});

test('a deleted env file starts node on the next switch, which writes it again', () => {
  const { repo, dir } = setUpWorktree('feature');
  fs.rmSync(path.join(dir, '.env'));
  expect(gitCountingNode(['switch', 'other'], dir)).toHaveLength(1);
  expectAgreement(repo, dir);
});

test('a file checkout (flag 0) starts no node', () => {
  const { dir } = setUpWorktree('feature');
  fs.appendFileSync(path.join(dir, 'README.md'), 'changed\n');
  expect(gitCountingNode(['checkout', '--', 'README.md'], dir)).toEqual([]);
});

test('in the main worktree, a deleted registry and env file start node on the next switch, which gives the ports back', () => {
  const repo = makeInstalledRepo({ base: 26100 });
  git(['branch', 'other'], repo.main);
  expect(gitCountingNode(['switch', 'other'], repo.main)).toHaveLength(1);
  const before = repo.allocationsOf(repo.main).map((a) => a.port);
  expect(before.length).toBeGreaterThan(0);
  // What `git clean -fdx` does to the main worktree: the ignored registry and .env are gone.
  fs.rmSync(path.dirname(path.dirname(repo.registryFile)), { recursive: true, force: true });
  fs.rmSync(path.join(repo.main, '.env'), { force: true });
  expect(gitCountingNode(['switch', 'main'], repo.main)).toHaveLength(1);
  expectAgreement(repo, repo.main);
});

test("the hook runs the tool from the main worktree's node_modules in every layout it reads without git, and asks git in the others", () => {
  const repo = makeInstalledRepo({ base: 26100 });
  const installed = path.join(repo.main, 'node_modules', 'worktree-ports');
  fs.mkdirSync(path.dirname(installed), { recursive: true });
  fs.symlinkSync(PACKAGE_ROOT, installed);
  const tool = path.join(installed, 'bin', 'ports.js');
  const toolOf = (nodeCalls: string[]) => nodeCalls.map((call) => call.split(' ')[0]);
  // A new linked worktree: the hook runs there, GIT_DIR unset, `.git` a file naming its git dir.
  const dir = repo.wt('feature');
  expect(toolOf(gitCountingNode(['worktree', 'add', '-b', 'feature', dir], repo.main))).toEqual([tool]);
  // A switch inside it (git sets GIT_DIR to the worktree's git dir), made to need the tool.
  fs.rmSync(path.join(dir, '.env'));
  expect(toolOf(gitCountingNode(['switch', '-c', 'feature-2'], dir))).toEqual([tool]);
  // The main worktree: `.git` is the common dir itself.
  expect(toolOf(gitCountingNode(['switch', '-c', 'main-2'], repo.main))).toEqual([tool]);
  // A linked worktree of a worktree folder moved by hand (`git worktree repair` fixed it): still read from the files.
  const moved = repo.wt('moved');
  git(['worktree', 'add', '-q', '-b', 'moved', moved], repo.main);
  fs.renameSync(moved, `${moved}-2`);
  git(['worktree', 'repair', `${moved}-2`], repo.main);
  fs.rmSync(path.join(`${moved}-2`, '.env'));
  expect(toolOf(gitCountingNode(['switch', '-c', 'moved-2'], `${moved}-2`))).toEqual([tool]);
});

test('a repository whose git dir lives elsewhere (--separate-git-dir) asks git, which cannot name its main worktree: the tool on PATH runs, and the worktree gets its ports', () => {
  const repo = makeInstalledRepo({ base: 26100 });
  const elsewhere = path.join(tempDir('ports-gitdir-'), 'repo.git');
  git(['init', '-q', `--separate-git-dir=${elsewhere}`], repo.main);
  const installed = path.join(repo.main, 'node_modules', 'worktree-ports');
  fs.mkdirSync(path.dirname(installed), { recursive: true });
  fs.symlinkSync(PACKAGE_ROOT, installed);
  const dir = repo.wt('feature');
  const calls = gitCountingNode(['worktree', 'add', '-b', 'feature', dir], repo.main);
  // From a linked worktree, `git worktree list` names the git dir itself as the main worktree.
  expect(calls.map((call) => call.split(' ')[0])).toEqual([path.join(testEnv().PATH!.split(path.delimiter)[0]!, 'worktree-ports')]);
  // Its registry is where git says the main worktree is: in the git dir.
  expect(fs.readFileSync(path.join(dir, '.env'), 'utf8')).toMatch(/^API_PORT=\d+$/m);
});
