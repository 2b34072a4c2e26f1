/**
 * Registry first: the registry is committed before any .env names a port. A full disk under the
 * registry (a 64k tmpfs holding it through PORTS_REGISTRY) makes the hook's registry write fail
 * while the worktree's own disk is fine: the new worktree's .env must not name the ports the
 * registry never recorded, and the next worktree must not get ports another .env already names.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { summary } from '../helpers/faults';
import { cleanupTemps, git, gitRun, makeInstalledRepo, tempDir } from '../helpers/repo';

afterAll(() => cleanupTemps());

function sh(command: string): boolean {
  return spawnSync('sh', ['-c', command], { stdio: 'ignore' }).status === 0;
}

/** Every PORT variable of the worktree's .env, as numbers (none when there is no .env). */
function envPorts(dir: string): number[] {
  const file = path.join(dir, '.env');
  if (!fs.existsSync(file)) return [];
  return [...fs.readFileSync(file, 'utf8').matchAll(/^[A-Z_]*PORT[A-Z_]*=(\d+)$/gm)].map((m) => Number(m[1]));
}

const mountable = (() => {
  const probe = tempDir('ports-tmpfs-probe-');
  const ok = sh(`mount -t tmpfs -o size=64k tmpfs '${probe}'`);
  if (ok) sh(`umount '${probe}'`);
  return ok;
})();
if (!mountable) console.log('registry-first: SKIPPED (mounting a tmpfs is not allowed here)');
const testIfMountable = mountable ? test : test.skip;

testIfMountable('a full disk under the registry during the hook leaves no .env naming unrecorded ports, and the next worktree gets none of them twice', () => {
  const repo = makeInstalledRepo({ base: 25900 });
  const disk = tempDir('ports-full-');
  expect(sh(`mount -t tmpfs -o size=64k tmpfs '${disk}'`)).toBe(true);
  try {
    const registry = path.join(disk, 'ports.json');
    const env = { PORTS_REGISTRY: registry, PORTS_STATE_DIR: process.env.PORTS_STATE_DIR as string };
    // A registry that fills several pages, then a filler leaving two: the lock fits, the registry's replacement does not.
    const first = repo.wt('first');
    git(['worktree', 'add', '-q', '-b', 'first', first], repo.main, env);
    const recorded = JSON.parse(fs.readFileSync(registry, 'utf8')) as { allocations: Record<string, unknown>[] };
    const web = repo.services[0]!;
    const template = recorded.allocations[0]!;
    for (let i = 0; i < 12; i++) {
      recorded.allocations.push({ ...template, port: web.end - i, worktree: `named-${i}`, service: 'web', description: 'x'.repeat(1000), worktree_path: undefined, worktree_id: undefined, repo: undefined });
    }
    fs.writeFileSync(registry, JSON.stringify(recorded, null, 2));
    const before = fs.readFileSync(registry, 'utf8');
    const { bavail, bsize } = fs.statfsSync(disk);
    fs.writeFileSync(path.join(disk, 'filler'), Buffer.alloc(bavail * bsize - 2 * 4096));

    const victim = repo.wt('victim');
    const add = gitRun(['worktree', 'add', '-q', '-b', 'victim', victim], repo.main, env);
    expect(add.status).toBe(0); // the hook never fails git
    expect(add.stderr).toMatch(/the disk is full/);
    expect(fs.readFileSync(registry, 'utf8')).toBe(before);
    expect(envPorts(victim)).toEqual([]);

    fs.rmSync(path.join(disk, 'filler'));
    const next = repo.wt('next');
    git(['worktree', 'add', '-q', '-b', 'next', next], repo.main, env);
    const held = (JSON.parse(fs.readFileSync(registry, 'utf8')) as { allocations: { port: number }[] }).allocations.map((a) => a.port);
    const named = [first, victim, next].flatMap(envPorts);
    expect(named.filter((p) => !held.includes(p))).toEqual([]);
    expect(named.filter((p, i) => named.indexOf(p) !== i)).toEqual([]);
    summary(`registry first: full disk during the hook: .env of the failed worktree names ${envPorts(victim).length} ports; next worktree's ports ${envPorts(next).join(',')} named by no other .env`);
  } finally {
    sh(`umount '${disk}'`);
  }
});
