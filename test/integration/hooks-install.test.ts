/**
 * `ports install` / `ports uninstall` without husky (issue 3): the hook goes into the
 * common hooks folder (or core.hooksPath), an existing hook keeps running (a shell hook gets our
 * block at its top; any other hook is chained as post-checkout.ports-chained), uninstall puts
 * each back exactly, and the hook finds the tool from every worktree — or says clearly that it
 * is gone while git carries on. Real repositories, real `git worktree add`, the built CLI.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, copyPackage, expectAgreement, git, gitRun, makeRepo, ports, portsBin, portsOk, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const ZERO = '0000000000000000000000000000000000000000';

function hookFile(repo: Repo): string {
  return path.join(repo.main, '.git', 'hooks', 'post-checkout');
}

function writeHook(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content, { mode: 0o755 });
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

function add(repo: Repo, name: string, env: Record<string, string | undefined> = {}) {
  return gitRun(['worktree', 'add', '-b', name, repo.wt(name)], repo.main, env);
}

describe('without husky: the common hooks folder', () => {
  test('installs a new hook, is idempotent, and uninstall deletes the file it created', () => {
    const repo = makeRepo({ base: 24100 });
    const first = ports(['install', '--json'], repo.main);
    expect(first.status).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ hook: hookFile(repo), kind: 'common', action: 'installed' });
    const text = fs.readFileSync(hookFile(repo), 'utf8');
    expect(text.startsWith('#!/bin/sh\n# >>> ports >>>')).toBe(true);
    expect(mode(hookFile(repo)) & 0o111).toBe(0o111);

    const again = JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string };
    expect(again.action).toBe('unchanged');
    expect(fs.readFileSync(hookFile(repo), 'utf8')).toBe(text);

    // Installed from a linked worktree, it is the same shared file.
    expect(add(repo, 'wt').status).toBe(0);
    expect(JSON.parse(portsOk(['install', '--json'], repo.wt('wt'))) as { hook: string; action: string }).toMatchObject({ hook: hookFile(repo), action: 'unchanged' });

    const removed = JSON.parse(portsOk(['uninstall', '--json'], repo.main)) as { action: string };
    expect(removed.action).toBe('removed');
    expect(fs.existsSync(hookFile(repo))).toBe(false);
    expect((JSON.parse(portsOk(['uninstall', '--json'], repo.main)) as { action: string }).action).toBe('absent');
  });

  test('keeps an existing shell hook, which still runs (even ending in exit 0); uninstall restores it exactly', () => {
    const repo = makeRepo({ base: 24100 });
    const marker = path.join(repo.root, 'marker-shell');
    const original = `#!/bin/sh\n# the team's own hook\necho "shell $1 $3" >> '${marker}'\nexit 0\n`;
    writeHook(hookFile(repo), original);
    fs.chmodSync(hookFile(repo), 0o750);

    const r = ports(['install'], repo.main);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('the hook\'s own commands still run');
    const installed = fs.readFileSync(hookFile(repo), 'utf8');
    expect(installed).toContain(original.slice('#!/bin/sh\n'.length));
    expect(installed.indexOf('# >>> ports >>>')).toBeLessThan(installed.indexOf('exit 0'));
    expect(fs.existsSync(hookFile(repo) + '.ports-chained')).toBe(false);

    const added = add(repo, 'with-shell-hook');
    expect(added.status).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe(`shell ${ZERO} 1\n`);
    expectAgreement(repo, repo.wt('with-shell-hook'));

    expect(portsOk(['uninstall'], repo.main)).toBe(`${hookFile(repo)}\n`);
    expect(fs.readFileSync(hookFile(repo), 'utf8')).toBe(original);
    expect(mode(hookFile(repo))).toBe(0o750);
  });

  test('chains a non-shell hook as post-checkout.ports-chained, which still runs with git\'s arguments; uninstall restores it exactly', () => {
    const repo = makeRepo({ base: 24100 });
    const marker = path.join(repo.root, 'marker-node');
    const original = `#!/usr/bin/env node\nrequire('fs').appendFileSync(${JSON.stringify(marker)}, 'node ' + process.argv.slice(2).join(' ') + '\\n');\n`;
    writeHook(hookFile(repo), original);

    const installed = JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string };
    expect(installed.action).toBe('chained');
    const chained = hookFile(repo) + '.ports-chained';
    expect(fs.readFileSync(chained, 'utf8')).toBe(original);
    expect(mode(chained) & 0o111).toBe(0o111);
    const wrapper = fs.readFileSync(hookFile(repo), 'utf8');
    expect(wrapper.startsWith('#!/bin/sh\n# >>> ports >>>')).toBe(true);

    // Installing again neither chains the wrapper nor touches the chained hook.
    expect((JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string }).action).toBe('unchanged');
    expect(fs.readFileSync(chained, 'utf8')).toBe(original);

    const added = add(repo, 'with-node-hook');
    expect(added.status).toBe(0);
    const head = git(['rev-parse', 'HEAD'], repo.wt('with-node-hook')).trim();
    expect(fs.readFileSync(marker, 'utf8')).toBe(`node ${ZERO} ${head} 1\n`);
    expectAgreement(repo, repo.wt('with-node-hook'));

    const removed = JSON.parse(portsOk(['uninstall', '--json'], repo.main)) as { action: string };
    expect(removed.action).toBe('restored');
    expect(fs.readFileSync(hookFile(repo), 'utf8')).toBe(original);
    expect(mode(hookFile(repo))).toBe(0o755);
    expect(fs.existsSync(chained)).toBe(false);

    // Restored, the node hook runs alone again: no ports for the next worktree.
    expect(add(repo, 'after-uninstall').status).toBe(0);
    expect(repo.allocationsOf(repo.wt('after-uninstall'))).toEqual([]);
    expect(fs.readFileSync(marker, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  test('chains a symlinked hook instead of writing through the link into the tracked script; uninstall restores the link', () => {
    const repo = makeRepo({ base: 24100 });
    const marker = path.join(repo.root, 'marker-linked');
    const script = path.join(repo.main, 'scripts', 'post-checkout');
    const scriptText = `#!/bin/sh\necho "linked $3" >> '${marker}'\n`;
    writeHook(script, scriptText);
    git(['add', 'scripts/post-checkout'], repo.main);
    git(['commit', '-q', '-m', 'team hook'], repo.main);
    fs.symlinkSync('../../scripts/post-checkout', hookFile(repo));

    expect((JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string }).action).toBe('chained');
    expect(fs.readFileSync(script, 'utf8')).toBe(scriptText);
    expect(git(['status', '--porcelain'], repo.main)).toBe('');
    expect(fs.readlinkSync(hookFile(repo) + '.ports-chained')).toBe('../../scripts/post-checkout');

    expect(add(repo, 'with-linked-hook').status).toBe(0);
    expect(fs.readFileSync(marker, 'utf8')).toBe('linked 1\n');
    expectAgreement(repo, repo.wt('with-linked-hook'));

    expect((JSON.parse(portsOk(['uninstall', '--json'], repo.main)) as { action: string }).action).toBe('restored');
    expect(fs.lstatSync(hookFile(repo)).isSymbolicLink()).toBe(true);
    expect(fs.readlinkSync(hookFile(repo))).toBe('../../scripts/post-checkout');
    expect(fs.existsSync(hookFile(repo) + '.ports-chained')).toBe(false);
  });

  test('a non-shell hook that fails still fails the checkout after chaining (git reports its status)', () => {
    const repo = makeRepo({ base: 24100 });
    writeHook(hookFile(repo), '#!/usr/bin/env node\nprocess.stderr.write("team hook: refused\\n");\nprocess.exit(3);\n');
    portsOk(['install'], repo.main);
    const r = add(repo, 'refused');
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('team hook: refused');
    // Our block ran first: the worktree got its ports before the chained hook refused.
    expectAgreement(repo, repo.wt('refused'));
  });

  test('installs into a custom core.hooksPath folder, relative to the worktree', () => {
    const repo = makeRepo({ base: 24100 });
    git(['config', 'core.hooksPath', 'githooks'], repo.main);
    const result = JSON.parse(portsOk(['install', '--json'], repo.main)) as { hook: string; kind: string };
    expect(result).toMatchObject({ kind: 'hooks-path', hook: path.join(repo.main, 'githooks', 'post-checkout') });
    expect(fs.existsSync(hookFile(repo))).toBe(false);
    // A relative hooksPath is resolved in the worktree git runs in: commit the hook so new worktrees have it.
    git(['add', 'githooks/post-checkout'], repo.main);
    git(['commit', '-q', '-m', 'hook'], repo.main);
    expect(add(repo, 'via-hooks-path').status).toBe(0);
    expectAgreement(repo, repo.wt('via-hooks-path'));
  });
});

describe('the hook finds the tool from every worktree', () => {
  /** A PATH with git, sh and the POSIX tools the hook uses, but no node and no worktree-ports. */
  function bareBin(repo: Repo, withNode: boolean): string {
    const bin = path.join(repo.root, withNode ? 'bin-node' : 'bin-without-node');
    fs.mkdirSync(bin);
    for (const tool of ['git', 'sh', 'sed', ...(withNode ? ['node'] : [])]) {
      const found = tool === 'node' ? process.execPath : execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      fs.symlinkSync(found, path.join(bin, tool));
    }
    return bin;
  }

  test('the hook names no path of the machine: it runs the main worktree\'s node_modules copy, even when the installer is gone', () => {
    const repo = makeRepo({ base: 24500, packageJson: { name: 'app', private: true, devDependencies: { 'worktree-ports': '^0.1.0' } } });
    // What `npm install` leaves in the main worktree.
    fs.cpSync(copyPackage(), path.join(repo.main, 'node_modules', 'worktree-ports'), { recursive: true });
    fs.writeFileSync(path.join(repo.main, '.gitignore'), 'node_modules/\n');
    const installer = copyPackage('ports-installer-');
    const installerBin = path.join(installer, 'bin', 'ports.js');

    expect(ports(['install'], repo.main, {}, installerBin).status).toBe(0);
    const hook = fs.readFileSync(hookFile(repo), 'utf8');
    for (const machinePath of [repo.root, installer, process.execPath, path.dirname(process.execPath)]) expect(hook).not.toContain(machinePath);

    fs.rmSync(installer, { recursive: true, force: true });
    // Neither node_modules of the new worktree nor anything on PATH but node: the main worktree's copy ran.
    const added = add(repo, 'uses-node-modules', { PATH: bareBin(repo, true) });
    expect(added.status).toBe(0);
    expect(added.stderr).not.toContain('warning');
    expect(fs.existsSync(path.join(repo.wt('uses-node-modules'), 'node_modules'))).toBe(false);
    expectAgreement(repo, repo.wt('uses-node-modules'));
  });

  test('a project without the package in node_modules uses worktree-ports from PATH (a global install)', () => {
    const repo = makeRepo({ base: 24500, packageJson: { name: 'app', private: true, devDependencies: { other: '1.0.0' } } });
    portsOk(['install'], repo.main);
    // testEnv puts a `worktree-ports` link first on PATH.
    expect(add(repo, 'uses-path').status).toBe(0);
    expectAgreement(repo, repo.wt('uses-path'));
  });

  test('ports install in a clone whose committed hook is already right rewrites nothing', () => {
    const repo = makeRepo({ base: 24500 });
    git(['config', 'core.hooksPath', 'githooks'], repo.main);
    portsOk(['install'], repo.main);
    git(['add', 'githooks/post-checkout'], repo.main);
    git(['commit', '-q', '-m', 'hook'], repo.main);
    const clone = path.join(repo.root, 'clone');
    git(['clone', '-q', repo.main, clone], repo.root);
    git(['config', 'core.hooksPath', 'githooks'], clone);
    const file = path.join(clone, 'githooks', 'post-checkout');
    const before = fs.statSync(file);
    const text = fs.readFileSync(file, 'utf8');
    expect((JSON.parse(portsOk(['install', '--json'], clone)) as { action: string }).action).toBe('unchanged');
    expect(fs.readFileSync(file, 'utf8')).toBe(text);
    expect(fs.statSync(file).ino).toBe(before.ino);
    expect(git(['status', '--porcelain'], clone)).toBe('');
  });

  test('without node on PATH, git worktree add still succeeds and stderr says node is missing', () => {
    const repo = makeRepo({ base: 24500 });
    portsOk(['install'], repo.main);
    const bin = bareBin(repo, false);
    fs.symlinkSync(portsBin(), path.join(bin, 'worktree-ports'));
    const r = add(repo, 'no-node-on-path', { PATH: bin });
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^ports: warning: node is not on PATH/m);
    expect(repo.allocationsOf(repo.wt('no-node-on-path'))).toEqual([]);
  });

  test('when the tool is nowhere, git worktree add still succeeds and one line says what to install', () => {
    const repo = makeRepo({ base: 24500 });
    portsOk(['install'], repo.main);
    const bin = bareBin(repo, true);

    const added = add(repo, 'tool-gone', { PATH: bin });
    expect(added.status).toBe(0);
    const lines = added.stderr.split('\n').filter((l) => l.startsWith('ports'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ports: warning: worktree-ports is not installed/);
    expect(lines[0]).toContain('npm install --save-dev worktree-ports');
    expect(repo.listed()).toContain(repo.wt('tool-gone'));
    expect(repo.allocationsOf(repo.wt('tool-gone'))).toEqual([]);
    expect(fs.existsSync(path.join(repo.wt('tool-gone'), '.env'))).toBe(false);

    const strict = add(repo, 'tool-gone-strict', { PATH: bin, PORTS_STRICT: '1' });
    expect(strict.status).toBe(1);
    expect(strict.stderr).toMatch(/^ports: warning: worktree-ports is not installed/m);
    expect(repo.listed()).toContain(repo.wt('tool-gone-strict'));

    const silenced = add(repo, 'tool-gone-silenced', { PATH: bin, PORTS: '0' });
    expect(silenced.status).toBe(0);
    expect(silenced.stderr).not.toMatch(/^ports/m);
  });
});
