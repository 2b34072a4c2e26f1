/**
 * What the tool writes, it must read: worktree folder names with TAB or newline, descriptions
 * with a newline or over 1000 characters are refused at the door (core/allocation), and the
 * store never writes a registry its own reader rejects. A seeded property test round-trips
 * random names, paths and descriptions through a real store write and parseRegistryText.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { allocateInRegistry } from '../../src/core/allocation';
import { PortsError, UsageError } from '../../src/errors';
import { parseRegistryText, RegistryStore } from '../../src/io/registry-store';
import { cleanupTemps, gitRun, makeInstalledRepo, ports, tempDir, type Repo } from '../helpers/repo';

afterAll(() => cleanupTemps());

describe('through the CLI and the hook', () => {
  let repo: Repo;
  beforeAll(() => {
    repo = makeInstalledRepo({ base: 25500 });
  });

  /** Every command still reads the registry: `ports status --all` exits 0. */
  function expectRegistryReadable(): void {
    const r = ports(['status', '--all'], repo.main);
    expect(r.stderr).not.toMatch(/corrupt|invalid/i);
    expect(r.status).toBe(0);
    expect(() => parseRegistryText(repo.registryFile, repo.registryText())).not.toThrow();
  }

  test.each([['a TAB', 'tab\there'], ['a newline', 'new\nline'], ['a DEL', 'del\u007fx']])('a worktree folder name with %s: git succeeds, the hook warns, the registry stays readable', (_label, name) => {
    ports(['allocate'], repo.main); // the registry exists before the bad name arrives
    const dir = repo.wt(name);
    const add = gitRun(['worktree', 'add', '-q', '--detach', dir], repo.main);
    expect(add.status).toBe(0);
    expect(add.stderr).toMatch(/post-checkout hook: Cannot record .*control characters.*git worktree move/s);
    expectRegistryReadable();
    const allocate = ports(['allocate'], dir);
    expect(allocate.status).toBe(1);
    expect(allocate.stderr).toMatch(/must not contain control characters/);
    expectRegistryReadable();
  });

  test.each([
    ['with a newline', 'first line\nsecond line', /description: must not contain control characters/],
    ['of 1001 characters', 'x'.repeat(1001), /description: .*1000/],
  ])('`allocate --description` %s is refused with exit 1 and the registry stays readable', (_label, description, message) => {
    const r = ports(['allocate', 'web', '--worktree', 'by-name', '--description', description], repo.main);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expectRegistryReadable();
    expect(repo.registry().allocations.some((a) => a.worktree === 'by-name')).toBe(false);
  });
});

/** mulberry32: a small seeded PRNG, so a failing case can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = ['a', 'Z', '0', '-', '_', '.', ' ', '/', '\\', '"', "'", '$', '`', 'é', '日', '😀', '\u2028', '\ufeff', '\t', '\n', '\r', '\u0000', '\u001b', '\u007f'];
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function randomText(next: () => number, maxLength: number): string {
  // Mostly short texts, sometimes around the limits.
  const length = next() < 0.15 ? Math.floor(next() * (maxLength + 50)) : Math.floor(next() * 24);
  let s = '';
  while (s.length < length) s += next() < 0.9 ? POOL[Math.floor(next() * 13)]! : POOL[Math.floor(next() * POOL.length)]!;
  return s.slice(0, length);
}

describe('property: whatever the door lets in, the reader reads back', () => {
  const SEED = 20261130;
  const CASES = 300;

  test(`${CASES} random names, paths and descriptions (seed ${SEED}) round-trip through a store write and parseRegistryText`, async () => {
    const next = prng(SEED);
    const dir = tempDir('ports-prop-');
    const file = path.join(dir, 'ports.json');
    const store = new RegistryStore(file, { extraRanges: { svc: { start: 20000, end: 20999, description: 'property test' } } });
    let accepted = 0;
    for (let i = 0; i < CASES; i++) {
      // Unique per case: allocation is idempotent per owner, and each case must write its own entry.
      const name = `${i}:${randomText(next, 255)}`;
      const worktreePath = next() < 0.7 ? `/tmp/${randomText(next, 40)}/${name}` : undefined;
      const description = randomText(next, 1000);
      const shouldAccept =
        name.length >= 1 && name.length <= 255 && !CONTROL.test(name) && !CONTROL.test(worktreePath ?? '') && description.length <= 1000 && !CONTROL.test(description);
      const owner = { worktree: name, ...(worktreePath ? { worktreePath } : {}) };
      let outcome: 'accepted' | 'refused';
      try {
        await store.update(
          async (registry, tx) => {
            const result = await allocateInRegistry(registry, { owner, service: 'svc', description, allocatedBy: 'tester', now: new Date().toISOString() }, async () => true);
            if (result.created) tx.changed();
          },
          { create: true },
        );
        outcome = 'accepted';
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        outcome = 'refused';
      }
      expect({ i, name, worktreePath, description, outcome }).toEqual({ i, name, worktreePath, description, outcome: shouldAccept ? 'accepted' : 'refused' });
      if (!fs.existsSync(file)) continue;
      const read = parseRegistryText(file, fs.readFileSync(file, 'utf8'));
      if (outcome === 'accepted') {
        accepted++;
        const stored = read.allocations.find((a) => (worktreePath ? a.worktree_path === worktreePath : a.worktree === name && !a.worktree_path));
        expect(stored).toMatchObject({ worktree: name, description });
      }
    }
    // The generator must exercise both sides of the door.
    expect(accepted).toBeGreaterThan(CASES / 5);
    expect(accepted).toBeLessThan(CASES);
  });

  test('a change that bypasses the door (a path set by hand) is refused by the store, and the file on disk stays readable', async () => {
    const dir = tempDir('ports-prop-');
    const file = path.join(dir, 'ports.json');
    const store = new RegistryStore(file, { extraRanges: { svc: { start: 20000, end: 20999, description: 'property test' } } });
    await store.update(async (registry, tx) => {
      await allocateInRegistry(registry, { owner: { worktree: 'ok', worktreePath: '/tmp/ok' }, service: 'svc', allocatedBy: 't', now: new Date().toISOString() }, async () => true);
      tx.changed();
    }, { create: true });
    const before = fs.readFileSync(file, 'utf8');
    await expect(
      store.update((registry, tx) => {
        registry.allocations[0]!.worktree_path = '/tmp/moved\tthere';
        tx.changed();
      }),
    ).rejects.toThrow(PortsError);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });
});
