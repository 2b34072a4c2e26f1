/**
 * Hooks never break git (issue 13, class 3): a folder name is data, never shell code; a hook the
 * user disabled stays disabled; a chained hook that is not executable is skipped with a message;
 * a folder ports may not write gives a clear error (exit 1), not a crash. Real repositories,
 * real `git worktree add`, the built CLI.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, copyPackage, expectAgreement, gitRun, makeRepo, ports, portsOk, testEnv, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

const HOSTILE = [`it$'s`, `r$';do touch PWNED;done;for z in '`, `a "quoted" $HOME \`x\` dir`, `$& and $$ and $\``];

function hookFile(repo: Repo): string {
  return path.join(repo.main, '.git', 'hooks', 'post-checkout');
}

function mode(file: string): number {
  return fs.statSync(file).mode & 0o777;
}

/** Every file named PWNED under `dir`. */
function pwned(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      if (entry.name === 'PWNED') found.push(path.join(d, entry.name));
      if (entry.isDirectory() && !entry.isSymbolicLink() && entry.name !== '.git' && entry.name !== 'node_modules') walk(path.join(d, entry.name));
    }
  };
  walk(dir);
  return found;
}

describe('a hostile folder name stays data', () => {
  test.each(HOSTILE)('repository and installer under %j: install, hook run and uninstall work and run nothing', (name) => {
    const repo = makeRepo({ base: 25100, name });
    // The ports that runs `install` lives under the same name (and one with a newline).
    const installer = path.join(repo.root, `${name}\nline`, 'pkg');
    fs.mkdirSync(installer, { recursive: true });
    fs.cpSync(copyPackage('ports-hostile-'), installer, { recursive: true });
    const r = ports(['install'], repo.main, {}, path.join(installer, 'bin', 'ports.js'));
    expect(r.status).toBe(0);
    expect(spawnSync('sh', ['-n', hookFile(repo)], { encoding: 'utf8' }).status).toBe(0);

    const added = gitRun(['worktree', 'add', '-b', 'feature', repo.wt('feature')], repo.main);
    expect(added.stderr).not.toMatch(/syntax error|unexpected/i);
    expect(added.status).toBe(0);
    expectAgreement(repo, repo.wt('feature'));
    expect(gitRun(['switch', '-c', 'other'], repo.wt('feature')).status).toBe(0);
    expect(pwned(repo.root)).toEqual([]);

    expect(portsOk(['uninstall'], repo.main)).toContain('post-checkout');
    expect(fs.existsSync(hookFile(repo))).toBe(false);
  });
});

describe('modes: ports never enables what the user disabled', () => {
  test('a disabled (not executable) shell hook stays disabled after install, with a warning, and uninstall gives back its bytes and mode', () => {
    const repo = makeRepo({ base: 25500 });
    const original = '#!/bin/sh\necho "team hook"\n';
    fs.mkdirSync(path.dirname(hookFile(repo)), { recursive: true });
    fs.writeFileSync(hookFile(repo), original, { mode: 0o644 });
    fs.chmodSync(hookFile(repo), 0o644);

    const r = ports(['install'], repo.main);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain('not executable');
    expect(r.stderr).toContain(`chmod +x ${hookFile(repo)}`);
    expect(mode(hookFile(repo))).toBe(0o644);
    expect(fs.readFileSync(hookFile(repo), 'utf8')).toContain('# >>> ports >>>');

    portsOk(['uninstall'], repo.main);
    expect(fs.readFileSync(hookFile(repo), 'utf8')).toBe(original);
    expect(mode(hookFile(repo))).toBe(0o644);
  });

  test('a chained hook in another language that is not executable is skipped with a message; the checkout succeeds', () => {
    const repo = makeRepo({ base: 25500 });
    const marker = path.join(repo.root, 'node-hook-ran');
    fs.mkdirSync(path.dirname(hookFile(repo)), { recursive: true });
    fs.writeFileSync(hookFile(repo), `#!/usr/bin/env node\nrequire('fs').writeFileSync(${JSON.stringify(marker)}, 'ran');\n`, { mode: 0o755 });
    expect((JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string }).action).toBe('chained');
    fs.chmodSync(hookFile(repo) + '.ports-chained', 0o644);

    const added = gitRun(['worktree', 'add', '-b', 'feature', repo.wt('feature')], repo.main);
    expect(added.status).toBe(0);
    expect(added.stderr).not.toContain('Permission denied');
    expect(added.stderr).toContain('skipped post-checkout.ports-chained: it is not executable');
    expect(fs.existsSync(marker)).toBe(false);
    expectAgreement(repo, repo.wt('feature'));
  });
});

describe('upgrading an older install', () => {
  test('a wrapper written by an older ports (exec of the chained hook, paths in the block) is rewritten whole', () => {
    const repo = makeRepo({ base: 25500 });
    fs.mkdirSync(path.dirname(hookFile(repo)), { recursive: true });
    fs.writeFileSync(hookFile(repo) + '.ports-chained', '#!/usr/bin/env node\n', { mode: 0o644 });
    const old = `#!/bin/sh\n# >>> ports >>>\nfor ports_candidate in '/old/machine/bin/ports.js'; do :; done\n# <<< ports <<<\n\n# ports: the post-checkout hook that was here before \`ports install\`\nexec "$(dirname "$0")/post-checkout.ports-chained" "$@"\n`;
    fs.writeFileSync(hookFile(repo), old, { mode: 0o755 });
    expect((JSON.parse(portsOk(['install', '--json'], repo.main)) as { action: string }).action).toBe('updated');
    const text = fs.readFileSync(hookFile(repo), 'utf8');
    expect(text).not.toContain('/old/machine');
    expect(text).toContain('it is not executable');
    expect(gitRun(['worktree', 'add', '-b', 'feature', repo.wt('feature')], repo.main).status).toBe(0);
    expectAgreement(repo, repo.wt('feature'));
  });
});

describe('a folder ports may not write', () => {
  const NOBODY = 65534;
  const asNobody = process.getuid?.() === 0 && fs.existsSync('/usr/bin/setpriv');
  if (!asNobody) console.warn('skipped: read-only folders need root (to drop to an unprivileged user with setpriv); as a normal user they would be checked directly');

  /** Runs `ports ARGS` as an unprivileged user (root writes anywhere), in a repo that user owns. */
  function portsAsNobody(repo: Repo, args: string[]) {
    const pkg = copyPackage('ports-nobody-');
    for (const dir of [pkg, repo.root]) fs.chmodSync(dir, 0o755);
    spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo.root]);
    const env = testEnv({ HOME: repo.root });
    return spawnSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, path.join(pkg, 'bin', 'ports.js'), ...args], { cwd: repo.main, env, encoding: 'utf8' });
  }

  (asNobody ? test : test.skip)('a read-only hooks folder: exit 1 naming the folder, no stack trace', () => {
    const repo = makeRepo({ base: 25700 });
    const hooks = path.join(repo.main, '.git', 'hooks');
    fs.mkdirSync(hooks, { recursive: true });
    fs.chmodSync(hooks, 0o555);
    const again = portsAsNobody(repo, ['install']);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`Cannot write ${hookFile(repo)}`);
    expect(again.stderr).toContain(`Make ${hooks} writable`);
    expect(again.stderr).not.toMatch(/\n\s+at /);
  });

  (asNobody ? test : test.skip)('a read-only .git/info: exit 1 naming the exclude file', () => {
    const repo = makeRepo({ base: 25700 });
    const info = path.join(repo.main, '.git', 'info');
    fs.mkdirSync(info, { recursive: true });
    fs.rmSync(path.join(info, 'exclude'), { force: true });
    fs.chmodSync(info, 0o555);
    const r = portsAsNobody(repo, ['install']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`Cannot write ${path.join(info, 'exclude')}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
