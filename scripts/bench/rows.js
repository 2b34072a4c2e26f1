'use strict';
// The measurements of `npm run bench`, one function each. A row measures its variants side by
// side (interleaved) and checks every run's output: a run that exits non-zero or prints the
// wrong thing throws BrokenRun, the only way the benchmark fails.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const { spawn } = require('node:child_process');
const f = require('./fixtures');
const { BrokenRun, describeRun, timeSpawn, timeParallel, interleave } = require('./measure');

/** A command the CLI does not have yet: the row prints "n/a (command missing)". */
class Missing extends Error {}

// The Node under measurement (`npm run bench -- --node PATH`); probe-100 runs in the bench's own.
const NODE = process.env.BENCH_NODE || process.execPath;

/** A bin/ports.js (the CLI's, or the floor's) run under the measured Node in a clean environment. */
function runBin(bin, args, options = {}) {
  return timeSpawn(NODE, [bin, ...args], { cwd: options.cwd, env: f.cleanEnv(options.env) });
}

function ports(ctx, args, options = {}) {
  return runBin(ctx.pkg.bin, args, options);
}

function expectExit(label, result, code = 0) {
  if (result.status !== code) throw new BrokenRun(describeRun(`${label} (expected exit ${code})`, result));
  return result;
}

function requireCommands(ctx, names) {
  for (const name of names) {
    const result = ports(ctx, [name, '--help'], { cwd: ctx.tmp });
    if (result.status !== 0) throw new Missing(`ports ${name}`);
  }
}

function floorVariant(cwd) {
  return { name: 'node -e 0', run: () => expectExit('node -e 0', timeSpawn(NODE, ['-e', '0'], { cwd, env: f.cleanEnv() })).ms };
}

/** The floor program (scripts/bench/floor.js), built once per bench run into a package of its own. */
function floorRun(ctx, args, options) {
  return runBin(ctx.floorBin, args, options);
}

/** "floor …×": what the contract's own work costs, as the row's ratio (scripts/bench/floor.js). */
function floorNote(ratio, what) {
  return `floor (${what} alone, scripts/bench/floor.js): ${ratio.toFixed(2)}×`;
}

function readRegistry(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

async function statusJson(ctx) {
  const repo = f.makeRepo(path.join(ctx.tmp, 'status'));
  const own = Object.entries({ web: 8080, api: 3000, database: 5432, cache: 6379 }).map(([service, port]) =>
    f.allocation(port, path.basename(repo), service, { worktree_path: repo }),
  );
  const registry = path.join(repo, 'design/worktrees/ports.json');
  f.writeFile(registry, f.registryText([...own, ...f.namedAllocations(46)]));
  const fourOfTheWorktree = (label, r) => {
    const list = JSON.parse(r.stdout);
    if (!Array.isArray(list) || list.length !== 4 || list.some((a) => a.worktree_path !== repo)) {
      throw new BrokenRun(describeRun(`${label}: expected the worktree’s 4 allocations`, r));
    }
    return r.ms;
  };
  const variants = await interleave(
    [
      floorVariant(repo),
      { name: 'floor: config and registry read', run: () => fourOfTheWorktree('floor status', expectExit('floor status', floorRun(ctx, ['status', registry], { cwd: repo }))) },
      {
        name: 'ports status --json',
        run: () => fourOfTheWorktree('ports status --json', expectExit('ports status --json', ports(ctx, ['status', '--json'], { cwd: repo }))),
      },
    ],
    { reps: ctx.reps(21, 3) },
  );
  const node = variants['node -e 0'].median;
  return {
    variants,
    value: variants['ports status --json'].median / node,
    note: floorNote(variants['floor: config and registry read'].median / node, 'reading and validating the config and the registry'),
    of: ['ports status --json', 'node -e 0'],
  };
}

async function worktreeAdd(ctx) {
  requireCommands(ctx, ['install', 'hook']);
  const repo = f.makeRepo(path.join(ctx.tmp, 'hooked'));
  expectExit('ports install', ports(ctx, ['install'], { cwd: repo }));
  // The floor allocates the same 4 services for a new folder, in a registry of its own that
  // starts each run as the hooked repository's did.
  const floorRegistry = path.join(ctx.tmp, 'floor-hook.json');
  const pristine = fs.readFileSync(path.join(repo, 'design/worktrees/ports.json'), 'utf8');
  const created = [];
  let n = 0;
  const removeCreated = () => {
    while (created.length) f.git(repo, ['worktree', 'remove', '--force', created.pop()]);
  };
  const add = (label, env, check) => ({
    name: label,
    before: removeCreated,
    run: () => {
      const dir = path.join(ctx.tmp, `wt-${++n}`);
      const r = expectExit(`git worktree add (${label})`, timeSpawn('git', ['worktree', 'add', '-q', '--detach', dir, 'HEAD'], { cwd: repo, env: f.cleanEnv(env) }));
      created.push(dir);
      check(dir, r);
      return r.ms;
    },
  });
  const variants = await interleave(
    [
      floorVariant(repo),
      {
        name: 'ports --version',
        run: () => {
          const r = expectExit('ports --version', ports(ctx, ['--version'], { cwd: repo }));
          if (!/\d+\.\d+\.\d+/.test(r.stdout)) throw new BrokenRun(describeRun('ports --version printed no version', r));
          return r.ms;
        },
      },
      {
        name: 'floor: the allocation',
        before: () => fs.writeFileSync(floorRegistry, pristine),
        run: () => {
          const dir = path.join(ctx.tmp, `floor-${++n}`);
          fs.mkdirSync(dir);
          fs.copyFileSync(path.join(repo, '.portsrc.json'), path.join(dir, '.portsrc.json'));
          const r = expectExit('floor allocate', floorRun(ctx, ['allocate', floorRegistry, dir], { cwd: dir }));
          const env = fs.readFileSync(path.join(dir, '.env'), 'utf8');
          if ((env.match(/^PORT_[A-Z]+=\d+$/gm) ?? []).length !== 4) throw new BrokenRun(describeRun('the floor did not write the 4 ports to .env', r));
          return r.ms;
        },
      },
      add('git worktree add, PORTS=0', { PORTS: '0' }, (dir, r) => {
        if (fs.existsSync(path.join(dir, '.env'))) throw new BrokenRun(describeRun('PORTS=0 still wrote .env', r));
      }),
      add('git worktree add, hook', {}, (dir, r) => {
        const env = fs.existsSync(path.join(dir, '.env')) ? fs.readFileSync(path.join(dir, '.env'), 'utf8') : '';
        const vars = ['PORT_WEB', 'PORT_API', 'PORT_DATABASE', 'PORT_CACHE'].filter((v) => new RegExp(`^${v}=\\d+$`, 'm').test(env));
        if (vars.length !== 4) throw new BrokenRun(describeRun(`the hook did not write the 4 ports to .env (found: ${vars.join(', ') || 'none'})`, r));
      }),
    ],
    { reps: ctx.reps(11, 2) },
  );
  removeCreated();
  const added = variants['git worktree add, hook'].median - variants['git worktree add, PORTS=0'].median;
  const node = variants['node -e 0'].median;
  const loading = variants['ports --version'].median - node;
  return {
    variants,
    value: added / node,
    note: `hook adds ${added.toFixed(1)} ms: Node's start ${node.toFixed(1)}, loading ports ${loading.toFixed(1)}, the hook's work ${(added - node - loading).toFixed(1)}; ${floorNote(variants['floor: the allocation'].median / node, 'allocating 4 ports and writing .env, run without git or the hook script')}`,
    of: [['git worktree add, hook', 'git worktree add, PORTS=0'], 'node -e 0'],
  };
}

async function branchSwitch(ctx) {
  requireCommands(ctx, ['install', 'hook']);
  const repo = f.makeRepo(path.join(ctx.tmp, 'switch'));
  expectExit('ports install', ports(ctx, ['install'], { cwd: repo }));
  const dir = path.join(ctx.tmp, 'switch-wt');
  f.git(repo, ['worktree', 'add', '-q', '-b', 'one', dir]);
  f.git(dir, ['branch', 'two']);
  const envText = () => fs.readFileSync(path.join(dir, '.env'), 'utf8');
  const ensured = envText();
  let next = 'two';
  const toggle = (label, env) => ({
    name: label,
    run: () => {
      const r = expectExit(`git switch (${label})`, timeSpawn('git', ['switch', '-q', next], { cwd: dir, env: f.cleanEnv(env) }));
      next = next === 'two' ? 'one' : 'two';
      if (envText() !== ensured) throw new BrokenRun(describeRun('a branch switch changed the worktree’s .env', r));
      return r.ms;
    },
  });
  const variants = await interleave([toggle('git switch, PORTS=0', { PORTS: '0' }), toggle('git switch, hook', {})], { reps: ctx.reps(21, 3) });
  return {
    variants,
    value: variants['git switch, hook'].median - variants['git switch, PORTS=0'].median,
    unit: 'ms',
    of: [['git switch, hook', 'git switch, PORTS=0']],
  };
}

function allocateVariant(ctx, repo, name, file, pristine, expectPort) {
  return {
    name,
    before: () => fs.writeFileSync(file, pristine),
    run: () => {
      const r = expectExit(name, ports(ctx, ['allocate', 'bench', '--worktree', 'bench-new', '--quiet', '--registry', file], { cwd: repo }));
      const port = Number(r.stdout.trim());
      if (!(port >= expectPort && port <= f.BENCH_RANGE.end)) throw new BrokenRun(describeRun(`${name}: expected a port from ${expectPort}`, r));
      if (readRegistry(file).allocations.length !== JSON.parse(pristine).allocations.length + 1) throw new BrokenRun(`${name}: the registry did not gain one allocation`);
      return r.ms;
    },
  };
}

async function allocateLarge(ctx) {
  const repo = f.makeRepo(path.join(ctx.tmp, 'alloc'));
  const small = f.registryText(f.namedAllocations(10));
  const large = f.registryText(f.namedAllocations(10000));
  const variants = await interleave(
    [
      allocateVariant(ctx, repo, 'allocate, 10 allocations', path.join(ctx.tmp, 'alloc-10.json'), small, f.BENCH_RANGE.start + 10),
      allocateVariant(ctx, repo, 'allocate, 10,000 allocations', path.join(ctx.tmp, 'alloc-10000.json'), large, f.BENCH_RANGE.start + 10000),
    ],
    { reps: ctx.reps(15, 3) },
  );
  const oneSmall = variants['allocate, 10 allocations'].median;
  const validation = validationMs(ctx, path.join(ctx.tmp, 'alloc-10000.json'), large);
  return {
    variants,
    value: variants['allocate, 10,000 allocations'].median / oneSmall,
    note: `zod validation of the 10,000 records alone: ${validation.toFixed(1)} ms in a fresh process; 1.3× leaves ${(0.3 * oneSmall).toFixed(1)} ms for all the larger file adds`,
    of: ['allocate, 10,000 allocations', 'allocate, 10 allocations'],
  };
}

/** Median time of the registry schema's validation of `text`, in fresh processes (cold, as in the CLI; the built library, which finds zod in node_modules). */
function validationMs(ctx, file, text) {
  fs.writeFileSync(file, text);
  const script = `
    const { validateRegistry } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist', 'core', 'registry-schema.js'))});
    const data = JSON.parse(require('fs').readFileSync(${JSON.stringify(file)}, 'utf8'));
    const start = process.hrtime.bigint();
    const result = validateRegistry(data);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    process.stdout.write(JSON.stringify({ ok: result.ok, ms }));
  `;
  const times = [];
  for (let i = 0; i < ctx.reps(5, 1); i++) {
    const r = timeSpawn(NODE, ['-e', script], { cwd: ctx.tmp, env: f.cleanEnv() });
    const out = r.status === 0 ? JSON.parse(r.stdout) : null;
    if (!out || !out.ok) throw new BrokenRun(describeRun('validating the 10,000-allocation registry', r));
    times.push(out.ms);
  }
  return times.sort((a, b) => a - b)[times.length >> 1];
}

async function parallelAllocate(ctx) {
  const repo = f.makeRepo(path.join(ctx.tmp, 'parallel'));
  const file = path.join(ctx.tmp, 'parallel.json');
  const pristine = f.registryText(f.namedAllocations(10));
  const batch = (count) => ({
    name: count === 1 ? 'one allocation' : `${count} parallel allocations`,
    before: () => fs.writeFileSync(file, pristine),
    run: async () => {
      const { ms, results } = await timeParallel(
        count,
        (i) => [NODE, [ctx.pkg.bin, 'allocate', 'bench', '--worktree', `par-${i}`, '--quiet', '--registry', file]],
        // A loaded 2-core CI machine can take longer than the default lock wait; that is slow, not broken.
        { cwd: repo, env: f.cleanEnv({ PORTS_LOCK_TIMEOUT_MS: '300000' }) },
      );
      results.forEach((r, i) => expectExit(`parallel allocate #${i}`, r));
      const got = results.map((r) => Number(r.stdout.trim()));
      if (new Set(got).size !== count || got.some((p) => !(p >= f.BENCH_RANGE.start + 10))) throw new BrokenRun(`parallel allocations gave duplicate or bad ports: ${got.join(' ')}`);
      const after = readRegistry(file);
      if (after.allocations.length !== 10 + count || after.metadata.total_allocations !== 10 + count) throw new BrokenRun(`after ${count} parallel allocations the registry holds ${after.allocations.length}`);
      return ms;
    },
  });
  const floorBatch = (count) => ({
    name: `${count} parallel floor allocations`,
    before: () => fs.writeFileSync(file, pristine),
    run: async () => {
      const { ms, results } = await timeParallel(count, (i) => [NODE, [ctx.floorBin, 'allocate', file, `par-${i}`, 'bench']], { cwd: repo, env: f.cleanEnv({ PORTS_LOCK_TIMEOUT_MS: '300000' }) });
      results.forEach((r, i) => expectExit(`parallel floor allocate #${i}`, r));
      if (new Set(results.map((r) => r.stdout.trim())).size !== count) throw new BrokenRun('parallel floor allocations gave duplicate ports');
      return ms;
    },
  });
  // What the machine itself allows: 40 bare Node start-ups at once ÷ one (not part of the ratio).
  const floor = (count) => ({
    name: count === 1 ? 'one `node -e 0`' : `${count} parallel \`node -e 0\``,
    run: async () => {
      const { ms, results } = await timeParallel(count, () => [NODE, ['-e', '0']], { cwd: repo, env: f.cleanEnv() });
      results.forEach((r) => expectExit('node -e 0', r));
      return ms;
    },
  });
  const variants = await interleave([batch(1), batch(40), floor(1), floor(40), floorBatch(40)], { reps: ctx.reps(5, 1) });
  const oneRatio = variants['40 parallel allocations'].median / variants['one allocation'].median;
  return {
    variants,
    // Issue 16's measure: what 40 allocations at once cost beyond 40 bare Node start-ups at once.
    value: variants['40 parallel allocations'].median / variants['40 parallel `node -e 0`'].median,
    note: `40 parallel allocations take ${oneRatio.toFixed(1)}× one allocation; ${floorNote(variants['40 parallel floor allocations'].median / variants['40 parallel `node -e 0`'].median, '40 parallel allocations')}`,
    of: ['40 parallel allocations', '40 parallel `node -e 0`'],
  };
}

/**
 * One allocation with 50 other repositories' registries (20 allocations each, 1,000 in all) in
 * the machine index ÷ the same allocation with none: what reading every registry of the machine costs.
 * The others hold the ports the allocation would otherwise get, so the run must read them all.
 */
async function machineIndex(ctx) {
  const { registerRegistry } = require(path.join(ctx.pkg.dist, 'io', 'machine-index.js'));
  const repo = f.makeRepo(path.join(ctx.tmp, 'machine'));
  const file = path.join(ctx.tmp, 'machine-own.json');
  const pristine = f.registryText(f.namedAllocations(10));
  const emptyState = path.join(ctx.tmp, 'state-none');
  const fullState = path.join(ctx.tmp, 'state-50');
  for (let r = 0; r < 50; r++) {
    const other = path.join(ctx.tmp, 'others', `repo-${r}`);
    const allocations = Array.from({ length: 20 }, (_, i) =>
      f.allocation(f.BENCH_RANGE.start + 10 + r * 20 + i, `wt-${i}`, 'bench', { worktree_path: path.join(other, `wt-${i}`), repo: other }),
    );
    f.writeFile(path.join(other, 'ports.json'), f.registryText(allocations));
    registerRegistry({ PORTS_STATE_DIR: fullState }, { registry: path.join(other, 'ports.json'), repo: other, name: `repo-${r}` });
  }
  const variant = (name, state, expectPort) => ({
    name,
    before: () => fs.writeFileSync(file, pristine),
    run: () => {
      const r = expectExit(name, ports(ctx, ['allocate', 'bench', '--worktree', 'bench-new', '--quiet', '--registry', file], { cwd: repo, env: { PORTS_STATE_DIR: state } }));
      if (Number(r.stdout.trim()) !== expectPort) throw new BrokenRun(describeRun(`${name}: expected port ${expectPort}`, r));
      return r.ms;
    },
  });
  const variants = await interleave(
    [
      variant('allocate, no other registry', emptyState, f.BENCH_RANGE.start + 10),
      variant('allocate, 50 other registries (1,000 allocations)', fullState, f.BENCH_RANGE.start + 1010),
    ],
    { reps: ctx.reps(21, 3) },
  );
  return {
    variants,
    value: variants['allocate, 50 other registries (1,000 allocations)'].median / variants['allocate, no other registry'].median,
    of: ['allocate, 50 other registries (1,000 allocations)', 'allocate, no other registry'],
  };
}

async function syncVanished(ctx) {
  requireCommands(ctx, ['sync']);
  const repo = f.makeRepo(path.join(ctx.tmp, 'sync'));
  const file = path.join(repo, 'design/worktrees/ports.json');
  const gone = path.join(ctx.tmp, 'gone');
  const pristine = f.registryText(
    Array.from({ length: 500 }, (_, i) => f.allocation(f.BENCH_RANGE.start + i, `wt-${i}`, 'bench', { worktree_path: path.join(gone, `wt-${i}`) })),
  );
  const variants = await interleave(
    [
      floorVariant(repo),
      {
        name: 'ports sync (500 vanished)',
        before: () => f.writeFile(file, pristine),
        run: () => {
          const r = expectExit('ports sync', ports(ctx, ['sync'], { cwd: repo }));
          const left = readRegistry(file).allocations.length;
          if (left !== 0) throw new BrokenRun(describeRun(`ports sync left ${left} of 500 vanished allocations`, r));
          return r.ms;
        },
      },
    ],
    { reps: ctx.reps(11, 2) },
  );
  return { variants, value: variants['ports sync (500 vanished)'].median / variants['node -e 0'].median, of: ['ports sync (500 vanished)', 'node -e 0'] };
}

function startSilentListeners(count) {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [path.join(__dirname, 'silent-listeners.js'), String(count)], { stdio: ['pipe', 'pipe', 'inherit'], env: f.cleanEnv() });
    let out = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new BrokenRun(`silent listeners exited early (${code})`)));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve({ ports: JSON.parse(out), stop: () => (child.removeAllListeners('exit'), child.kill()) });
    });
  });
}

async function healthHung(ctx) {
  requireCommands(ctx, ['health']);
  const timeout = ctx.healthTimeoutMs;
  const listeners = await startSilentListeners(100);
  ctx.cleanup.push(listeners.stop);
  const sorted = [...listeners.ports].sort((a, b) => a - b);
  const range = { start: sorted[0], end: sorted[sorted.length - 1], description: 'hung listeners' };
  const repo = f.makeRepo(path.join(ctx.tmp, 'health'), { services: { hung: { health: { type: 'http', path: '/', timeoutMs: timeout } } }, ranges: { hung: range } });
  const file = path.join(repo, 'design/worktrees/ports.json');
  const pristine = f.registryText(
    listeners.ports.map((port, i) => f.allocation(port, 'hung-services', 'hung', { description: `hung #${i}` })),
    { ...f.DEFAULT_RANGES, hung: range },
  );
  const variants = await interleave(
    [
      {
        name: `ports health (100 hung, --timeout ${timeout})`,
        before: () => f.writeFile(file, pristine),
        run: () => {
          const r = expectExit('ports health', ports(ctx, ['health', '--worktree', 'hung-services', '--timeout', String(timeout)], { cwd: repo }), 4);
          const statuses = readRegistry(file).allocations.map((a) => a.health_status);
          const unhealthy = statuses.filter((s) => s === 'unhealthy').length;
          if (unhealthy !== 100) throw new BrokenRun(describeRun(`ports health marked ${unhealthy} of 100 hung listeners unhealthy`, r));
          return r.ms;
        },
      },
    ],
    { reps: ctx.reps(5, 1) },
  );
  listeners.stop();
  return { variants, value: Object.values(variants)[0].median, limit: timeout + 500 };
}

async function probeInProcess(ctx) {
  const { checkPortAvailable } = require(path.join(ctx.pkg.dist, 'io', 'port-probe.js'));
  const busy = net.createServer();
  await new Promise((resolve) => busy.listen(0, resolve));
  try {
    if ((await checkPortAvailable(busy.address().port)) !== false) throw new BrokenRun('checkPortAvailable said a listening port is free');
    const candidates = Array.from({ length: 100 }, (_, i) => f.BENCH_RANGE.end - 99 + i);
    const sequential = async () => {
      const start = process.hrtime.bigint();
      for (const port of candidates) if (typeof (await checkPortAvailable(port)) !== 'boolean') throw new BrokenRun('checkPortAvailable returned a non-boolean');
      return Number(process.hrtime.bigint() - start) / 1e3 / candidates.length;
    };
    const concurrent = async () => {
      const start = process.hrtime.bigint();
      await Promise.all(candidates.map((port) => checkPortAvailable(port)));
      return Number(process.hrtime.bigint() - start) / 1e3 / candidates.length;
    };
    const variants = await interleave(
      [
        { name: 'µs/port, one at a time', run: sequential },
        { name: 'µs/port, 100 at once', run: concurrent },
      ],
      { reps: ctx.reps(21, 3) },
    );
    return { variants, value: variants['µs/port, one at a time'].median, unit: 'µs' };
  } finally {
    busy.close();
  }
}

async function proxyCost(ctx) {
  requireCommands(ctx, ['proxy']);
  const r = await require('./proxy').measureProxy({ bin: ctx.pkg.bin, quick: ctx.quick, tmp: fs.mkdtempSync(path.join(ctx.tmp, 'proxy-')) });
  // The table renders every variant in ms: the req/s figures go into the note.
  const rps = (name) => r.variants[name].median.toFixed(0);
  const variants = { 'p50 through the proxy': r.variants['p50 through the proxy (ms)'], 'p50 direct': r.variants['p50 direct (ms)'] };
  const note = `req/s through the proxy ${rps('req/s through the proxy')} = ${(r.rpsShare * 100).toFixed(0)}% of direct ${rps('req/s direct')}, goal ≥ 70%; floor: a bare byte pipe in Node ${(r.pipeShare * 100).toFixed(0)}%; with a 1 ms handler ${(r.renderedShare * 100).toFixed(0)}%`;
  return { variants, value: r.addedMs, unit: 'ms', note };
}

const ROWS = [
  { id: 'status', title: '`ports status --json`, 50 allocations, 4 declared services ÷ `node -e 0`', goal: { max: 1.3 }, run: statusJson },
  { id: 'worktree-add', title: 'added wall time of `git worktree add` with the hook (4 services, .env) ÷ `node -e 0`', goal: { max: 1.5 }, run: worktreeAdd },
  { id: 'branch-switch', title: 'added wall time of `git switch` with the hook, worktree that holds its ports (ms)', goal: { max: 5 }, run: branchSwitch },
  { id: 'allocate-10k', title: '`ports allocate`, 10,000 allocations ÷ 10 allocations', goal: { max: 1.3 }, run: allocateLarge },
  { id: 'parallel-40', title: '40 parallel allocations ÷ 40 parallel `node -e 0`', goal: { max: 2 }, run: parallelAllocate },
  { id: 'machine-50', title: '`ports allocate` with 50 other registries (1,000 allocations) in the machine index ÷ with none', goal: { max: 1.15 }, run: machineIndex },
  { id: 'sync-500', title: '`ports sync` reclaiming 500 vanished worktrees ÷ `node -e 0`', goal: { max: 2 }, run: syncVanished },
  { id: 'health-100', title: '`ports health`, 100 listeners that never answer (ms)', goal: { maxFromRow: true }, run: healthHung },
  { id: 'probe-100', title: 'checkPortAvailable in-process, 100 ports (µs per port)', goal: null, run: probeInProcess },
  { id: 'proxy', title: '`ports proxy`: added p50 latency per keep-alive request (ms); req/s share in the note', goal: { max: 1 }, run: proxyCost },
];

module.exports = { ROWS, Missing };
