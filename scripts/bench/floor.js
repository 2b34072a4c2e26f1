'use strict';
// The floor of rows 1, 2 and 5: the least a run does when it keeps the product contract
// (docs/design.md: the registry contract, the lock protocol, the machine index), written with
// the project's own building blocks (src/, bundled as the CLI is) and nothing else. The bench bundles
// it as the dist/ports.cjs of a package of its own (fixtures.floorPackage), so the same
// bin/ports.js loads it from the same kind of code cache, and measures it beside the rows.
//
// What the contract asks of a run, and so what is here:
// - zod on every read: the config and the registry are parsed and validated, whole;
// - every read-modify-write under a lock, and a machine-level lock around pick-and-commit:
//   the machine lock, then the registry lock (io/lock: a dead holder's lock is taken over);
// - no port held in any registry of the machine index: the index folder is listed and the
//   others' registries read;
// - a port only when the OS says it is free: a bind test of every port handed out;
// - every write atomic (temp file, fsync, rename), and the registry before the .env.
// What the tool does beyond that is left out: the config file search, finding the worktree and
// its repository from git's files, reconciling vanished worktrees, merging the .env with the
// user's lines, checking what it writes, the hook's stamp. A run of the tool costs more than
// this; a goal below it cannot be met by any run that keeps the contract, on that Node.
//
//   floor status REGISTRY                   the worktree's allocations as JSON (row 1)
//   floor allocate REGISTRY OWNER [SERVICE...] ports for OWNER; OWNER a folder: also OWNER/.env (rows 2, 5)
const fs = require('node:fs');
const path = require('node:path');
const { configSchema } = require('../../src/config/schema');
const { validateRegistry } = require('../../src/core/registry-schema');
// What only an allocation needs is required inside allocate(): the bundle loads it there, as the
// CLI loads each command's modules only when that command runs.

function readConfig(dir) {
  const parsed = configSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, '.portsrc.json'), 'utf8')));
  if (!parsed.success) throw new Error('the config breaks the schema');
  return parsed.data;
}

function readRegistry(file) {
  const check = validateRegistry(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!check.ok) throw new Error(`the registry breaks the schema: ${check.problems.join('; ')}`);
  return check.registry;
}

function status(registryFile) {
  const cwd = process.cwd();
  readConfig(cwd);
  const mine = readRegistry(registryFile).allocations.filter((a) => a.worktree_path === cwd);
  fs.writeSync(1, JSON.stringify(mine, null, 2) + '\n');
}

async function allocate(registryFile, owner, services) {
  const { checkPortAvailable, warmUpBindTest } = require('../../src/io/port-probe');
  const { writeFileAtomic } = require('../../src/io/atomic-write');
  const { acquireLock } = require('../../src/io/lock');
  const { machineLockTarget, portsHeldElsewhere } = require('../../src/io/machine-index');
  const config = readConfig(process.cwd());
  const worktreePath = path.isAbsolute(owner) ? owner : undefined;
  const wanted = services.length ? services : Object.keys(config.services ?? {});
  await warmUpBindTest(); // the dearest bind test before the locks, as the tool does
  const machine = await acquireLock(machineLockTarget(process.env));
  try {
    const lock = await acquireLock(registryFile);
    try {
      const registry = readRegistry(registryFile);
      // The other registries of the machine index, read as the tool reads them: leniently.
      const taken = new Set(portsHeldElsewhere(process.env, registryFile).held.keys());
      for (const a of registry.allocations) taken.add(a.port);
      const now = new Date().toISOString();
      const made = [];
      for (const service of wanted) {
        const range = registry.ranges[service];
        let port = range.start;
        while (taken.has(port) || !(await checkPortAvailable(port))) {
          if (++port > range.end) throw new Error(`no free port in the ${service} range`);
        }
        taken.add(port);
        made.push({ service, port });
        registry.allocations.push({
          port,
          worktree: path.basename(owner),
          ...(worktreePath ? { worktree_path: worktreePath } : {}),
          service,
          allocated_at: now,
          allocated_by: 'bench@localhost',
          description: '',
          process_id: null,
          health_status: 'unknown',
        });
      }
      registry.metadata.last_updated = now;
      registry.metadata.total_allocations = registry.allocations.length;
      writeFileAtomic(registryFile, JSON.stringify(registry, null, 2) + '\n');
      if (worktreePath) {
        const env = made.map(({ service, port }) => `PORT_${service.toUpperCase()}=${port}\n`).join('');
        writeFileAtomic(path.join(worktreePath, '.env'), env, { durable: false });
      }
      fs.writeSync(1, made.map((m) => m.port).join('\n') + '\n');
    } finally {
      lock.release();
    }
  } finally {
    machine.release();
  }
}

function main() {
  const [command, registryFile, owner, ...services] = process.argv.slice(2);
  const run = command === 'status' ? async () => status(registryFile) : command === 'allocate' ? () => allocate(registryFile, owner, services) : null;
  if (!run) {
    process.stderr.write('usage: floor status REGISTRY | floor allocate REGISTRY OWNER [SERVICE...]\n');
    process.exitCode = 2;
    return;
  }
  run().catch((error) => {
    process.stderr.write(`floor: ${error.stack}\n`);
    process.exitCode = 1;
  });
}

module.exports = { main };
