/**
 * The benchmark's quick mode, as CI runs it: it must finish with exit 0 and write a report with
 * every row, each measured or marked as a command that does not exist yet. Speed is not
 * checked here (a slow machine is not a failure); a broken run is.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cleanEnv } from '../helpers/cli';

const root = path.resolve(__dirname, '../..');
const ROW_IDS = ['status', 'worktree-add', 'branch-switch', 'allocate-10k', 'parallel-40', 'machine-50', 'sync-500', 'health-100', 'probe-100', 'proxy'];

interface Row {
  n: number;
  id: string;
  state: 'ok' | 'missing' | 'broken';
  reason?: string;
  value?: number;
  goal?: number | null;
  met?: boolean | null;
  note?: string;
  variants?: Record<string, { median: number; min: number; max: number; n: number; samples: number[] }>;
}

function env(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(cleanEnv()).filter(([key]) => !key.startsWith('BENCH_')));
}

describe('npm run bench --quick', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-bench-smoke-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('runs every measurement and writes a JSON report with all rows', () => {
    const out = path.join(dir, 'bench-results.json');
    const result = spawnSync(process.execPath, [path.join(root, 'scripts/bench.js'), '--quick', '--out', out], { cwd: root, env: env(), encoding: 'utf8' });
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr, stdout: result.status === 0 ? '' : result.stdout }).toEqual({ status: 0, stderr: '', stdout: '' });

    const report = JSON.parse(fs.readFileSync(out, 'utf8')) as { mode: string; rows: Row[] };
    expect(report.mode).toBe('quick');
    expect(report.rows.map((r) => r.id)).toEqual(ROW_IDS);
    for (const row of report.rows) {
      expect(['ok', 'missing']).toContain(row.state);
      if (row.state === 'missing') {
        expect(row.reason).toMatch(/^ports \w+$/);
        continue;
      }
      expect(Number.isFinite(row.value)).toBe(true);
      // The branch-switch row is a difference of two medians of a few milliseconds: noise can make it ≤ 0.
      if (row.id !== 'branch-switch') expect(row.value).toBeGreaterThan(0);
      for (const s of Object.values(row.variants ?? {})) {
        expect(s.n).toBeGreaterThan(0);
        expect(s.min).toBeLessThanOrEqual(s.median);
        expect(s.median).toBeLessThanOrEqual(s.max);
      }
      if (row.goal !== null) expect(typeof row.met).toBe('boolean');
    }
    // Rows 1, 2 and 5 measure the contract's floor beside the tool (scripts/bench/floor.js).
    for (const id of ['status', 'worktree-add', 'parallel-40']) {
      const row = report.rows.find((r) => r.id === id);
      expect(Object.keys(row?.variants ?? {}).filter((name) => name.includes('floor'))).toHaveLength(1);
      expect(row?.note).toMatch(/floor \(.+\): \d+\.\d\d×/);
    }
    // The table printed for people has one line per row, with a verdict or "n/a".
    for (const row of report.rows) expect(result.stdout).toContain(`${row.n}. `);
  }, 600_000);
});
