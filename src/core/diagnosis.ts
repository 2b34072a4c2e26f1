/**
 * `ports doctor`'s rules, pure: what the registry, the lock, the hook, git, the
 * listeners and the conflict report say goes in; findings come out, each with what is wrong,
 * why, and what to run. A finding `counts` when it is the tool's own state (registry, lock,
 * hooks, .env drift, conflicts) and so decides the exit code; services that are merely not
 * started never count. `fixable` findings are what `ports doctor --fix` repairs.
 */
import type { Conflict, ConflictKind } from './conflicts';
import type { Allocation, PortRange, Registry } from './registry-schema';

export * from './diagnosis-facts';
import { FINDING_KINDS, type DiagnosisFacts, type Finding, type FindingKind, type ListenerInfo } from './diagnosis-facts';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function finding(kind: FindingKind, title: string, detail: string, action: string, options: { counts: boolean; fixable: boolean; ports?: number[] }): Finding {
  return { kind, title, detail, action, counts: options.counts, fixable: options.fixable, ports: options.ports ?? [] };
}

function describeListener(l: ListenerInfo): string {
  if (l.pid === null) return `a process of another user on ${l.address} (try \`sudo ports which ${l.port}\`)`;
  return `PID ${l.pid} (${l.command ?? '?'})${l.cwd ? ` in ${l.cwd}` : ''} on ${l.address}`;
}

function registryFindings(facts: DiagnosisFacts): Finding[] {
  const file = facts.registryFile;
  switch (facts.registry.kind) {
    case 'corrupt':
      return [
        finding(
          'registry_corrupt',
          'The port registry is corrupt',
          `${facts.registry.message} No command can allocate or release until it is repaired.`,
          `ports doctor --fix (keeps ${file} as a timestamped backup and rebuilds the registry from the worktrees' .env blocks), or repair it by hand`,
          { counts: true, fixable: true },
        ),
      ];
    case 'unreadable':
      return [finding('registry_unreadable', 'The port registry cannot be read', facts.registry.message, 'Fix what the message names (a symlink, a folder, permissions), or pass --registry FILE', { counts: true, fixable: false })];
    case 'missing':
      if (facts.envBlocksWithPorts > 0) {
        return [
          finding(
            'registry_lost',
            'The port registry is gone, but worktrees still hold ports',
            `${file} does not exist, while the .env blocks of ${plural(facts.envBlocksWithPorts, 'worktree')} name ports (deleted by hand, or by \`git clean -fdx\` in the main worktree). The next allocation rebuilds it from them before allocating; until then \`ports status\` and \`ports check\` see nothing.`,
            'ports doctor --fix (rebuilds the registry from those .env blocks)',
            { counts: true, fixable: true },
          ),
        ];
      }
      return [finding('registry_missing', 'No port registry yet', `${file} does not exist; the first \`ports allocate\` (or the hook) creates it.`, 'ports init', { counts: false, fixable: false })];
    default:
      return [];
  }
}

function lockFindings(facts: DiagnosisFacts): Finding[] {
  const found: Finding[] = [];
  const lockFile = `${facts.registryFile}.lock`;
  if (facts.lock.state === 'stale') {
    found.push(
      finding('stale_lock', 'A stale registry lock', `${lockFile}: ${facts.lock.reason ?? 'its owner is gone'}. The next command takes it over by itself; removing it now is safe.`, 'ports doctor --fix', {
        counts: true,
        fixable: true,
      }),
    );
  } else if (facts.lock.state === 'unusable') {
    found.push(
      finding(
        'lock_unusable',
        'The registry lock cannot be created',
        `${lockFile}: ${facts.lock.reason ?? 'something that is not a lock file is in its place'}. Every command that writes the registry fails with exit 5 until it is gone.`,
        `Move ${lockFile} out of the way (ports creates its lock file there), or pass --registry FILE to use another registry`,
        { counts: true, fixable: false },
      ),
    );
  } else if (facts.lock.state === 'held') {
    const h = facts.lock.holder;
    const since = h?.acquired_at ? Date.parse(h.acquired_at) : NaN;
    const ageS = Number.isNaN(since) ? null : Math.round((facts.now.getTime() - since) / 1000);
    // A live holder is normal for a moment; one that holds it for long is stuck.
    if (ageS === null || ageS >= 30) {
      found.push(
        finding(
          'lock_held',
          'The registry lock has been held for a long time',
          `${lockFile} is held by ${h ? `pid ${h.pid} on ${h.host}` : 'an unknown owner'}${ageS !== null ? ` for ${ageS} s` : ''} (${facts.lock.reason ?? 'alive'}); commands wait for it and then fail with exit 5.`,
          h ? `If that process is stuck, stop it (\`kill ${h.pid}\` on ${h.host}); a lock from another host is taken over after PORTS_LOCK_STALE_MS (30 s)` : 'Stop the process that holds it',
          { counts: true, fixable: false },
        ),
      );
    }
  }
  if (facts.staleTempFiles.length) {
    found.push(
      finding('temp_files', 'Leftovers of killed processes', `${plural(facts.staleTempFiles.length, 'temp file')} next to the registry: ${facts.staleTempFiles.join(', ')}.`, 'ports doctor --fix (the next writing command also removes them)', {
        counts: true,
        fixable: true,
      }),
    );
  }
  return found;
}

function gitFindings(facts: DiagnosisFacts): Finding[] {
  const found: Finding[] = [];
  const hook = facts.hook;
  if (hook) {
    const matters = facts.servicesDeclared > 0;
    if (!hook.installed) {
      found.push(
        finding(
          'hooks_missing',
          'The git hook is not installed',
          `${hook.file} has no ports block, so \`git worktree add\` allocates nothing${matters ? ` (${plural(facts.servicesDeclared, 'service')} declared)` : ' (no services are declared, so nothing would be allocated anyway)'}; removed worktrees are still reclaimed by the next command.`,
          'ports doctor --fix (or `ports install`)',
          { counts: matters, fixable: true },
        ),
      );
    } else if (!hook.executable || hook.toolMissing) {
      found.push(
        finding(
          'hooks_broken',
          'The git hook cannot run ports',
          `${hook.file}: ${!hook.executable ? 'the file is not executable, so git skips it' : 'it finds no worktree-ports (neither in the main worktree\'s node_modules nor on PATH)'}.`,
          !hook.executable ? 'ports doctor --fix (or `chmod +x` the file)' : 'npm install --save-dev worktree-ports (or `npm ci`) in the main worktree, or npm install -g worktree-ports',
          { counts: matters, fixable: !hook.executable },
        ),
      );
    }
  }
  if (facts.trackedAs) {
    found.push(
      finding(
        'registry_tracked',
        'The registry is tracked by git',
        `${facts.trackedAs} is committed: every branch and worktree carries its own diverging copy, and merges bring conflict markers into it.`,
        `git rm --cached ${facts.trackedAs} && git commit -m "Stop tracking the ports registry" (the file stays; \`ports init\` keeps it excluded)`,
        { counts: true, fixable: false },
      ),
    );
  }
  if (facts.envTrackedAs) {
    found.push(
      finding(
        'env_file_tracked',
        'The env file is tracked by git',
        `${facts.envTrackedAs} is committed, so ports writes no ports into it (a commit or merge would carry one worktree's ports to the others).`,
        'set "envFile": ".env.local" in the ports config (Vite, Next and dotenv-flow read it over .env; Compose: `--env-file .env.local`), or run commands through `ports exec`',
        { counts: false, fixable: false },
      ),
    );
  }
  return found;
}

const FIXABLE_CONFLICTS: ReadonlySet<ConflictKind> = new Set(['registry_conflict', 'metadata_out_of_step', 'vanished_worktree', 'env_out_of_step']);

/** Turns `ports check`'s conflicts into findings; allocation mismatches (nothing listening) become one non-counting note. */
function conflictFindings(facts: DiagnosisFacts): Finding[] {
  const found: Finding[] = [];
  const notStarted: Conflict[] = [];
  for (const c of facts.conflicts) {
    if (c.kind === 'allocation_mismatch') {
      notStarted.push(c);
      continue;
    }
    const kind: FindingKind = c.kind === 'system_conflict' ? 'port_in_use' : c.kind;
    const titles: Record<string, string> = {
      registry_conflict: 'A port is allocated twice',
      port_in_use: 'An allocated port is in use by someone else',
      vanished_worktree: 'Ports of a worktree that no longer exists',
      env_out_of_step: 'A .env is out of step with the registry',
      overridden_variable: 'A user line overrides a port variable of the block',
      outside_range: 'An allocation lies outside its range',
      unknown_service: 'An allocation of a service without a range',
      overlapping_ranges: 'Two ranges overlap',
      metadata_out_of_step: "The registry's metadata is out of step",
      container_name: 'A Compose service has a fixed container_name',
    };
    let fixable = FIXABLE_CONFLICTS.has(c.kind);
    // A block the user broke by hand (two blocks, no end marker) is theirs to repair.
    if (c.kind === 'env_out_of_step' && /Repair the block by hand/.test(c.resolution)) fixable = false;
    found.push(finding(kind, titles[kind] ?? c.kind, c.message, fixable ? `ports doctor --fix (or: ${c.resolution})` : c.resolution, { counts: true, fixable, ports: c.ports }));
  }
  if (notStarted.length) {
    const ports = notStarted.flatMap((c) => c.ports);
    found.push(
      finding(
        'not_started',
        'Allocated services not running',
        `Nothing listens on ${plural(ports.length, 'allocated port')} (${ports.slice(0, 12).join(', ')}${ports.length > 12 ? ', …' : ''}). Normal for services that are not started; not a problem of the tool.`,
        'Start the services (`ports exec -- npm run dev`, `docker compose up`), or release ports no longer needed',
        { counts: false, fixable: false, ports },
      ),
    );
  }
  return found;
}

function inRange(port: number, ranges: Record<string, PortRange>): string | null {
  for (const [name, r] of Object.entries(ranges)) if (port >= r.start && port <= r.end) return name;
  return null;
}

/** Machine-side findings: busy ports the registry thinks free, full ranges, listeners only containers or IPv4 clients cannot reach, stale health. */
function machineFindings(facts: DiagnosisFacts, registry: Registry): Finding[] {
  const found: Finding[] = [];
  const allocated = new Map<number, Allocation>(registry.allocations.map((a) => [a.port, a]));
  const byPort = new Map<number, ListenerInfo[]>();
  for (const l of facts.listeners) byPort.set(l.port, [...(byPort.get(l.port) ?? []), l]);

  const foreign = [...byPort.entries()].filter(([port]) => !allocated.has(port) && inRange(port, registry.ranges) !== null).sort(([a], [b]) => a - b);
  if (foreign.length) {
    found.push(
      finding(
        'busy_unallocated',
        'Ports the registry counts as free are busy',
        foreign.map(([port, ls]) => `${port} (${inRange(port, registry.ranges)}): ${describeListener(ls[0] as ListenerInfo)}`).join('; ') + '. `ports allocate` skips them, so nothing breaks, but the range is smaller than it looks.',
        `\`ports which PORT\` shows who; stop that process, or leave it (it is skipped)`,
        { counts: false, fixable: false, ports: foreign.map(([p]) => p) },
      ),
    );
  }

  for (const [service, range] of Object.entries(registry.ranges)) {
    const size = range.end - range.start + 1;
    let free = 0;
    for (let port = range.start; port <= range.end; port++) if (!allocated.has(port) && !byPort.has(port)) free++;
    const idle = registry.allocations.filter((a) => a.service === service && a.health_status === 'not_running').map((a) => a.port);
    const idleText = idle.length ? ` Ports last seen not running: ${idle.join(', ')} (\`ports release PORT\`).` : ' Run `ports health` to see which allocated ports are not running.';
    const widen = `widen "ranges.${service}" (now ${range.start}-${range.end}) in your ports config and run \`ports init --force\`, or add a range for a new service type`;
    if (free === 0) {
      found.push(
        finding('range_exhausted', `The ${service} range is exhausted`, `All ${size} ports of ${service} (${range.start}-${range.end}) are allocated or busy; the next \`ports allocate ${service}\` fails with exit 3.${idleText}`, `ports sync (reclaims removed worktrees), release unused ports, or ${widen}`, {
          counts: true,
          fixable: false,
          ports: idle,
        }),
      );
    } else if (size >= 5 && free <= Math.max(1, Math.floor(size / 10))) {
      found.push(finding('range_nearly_full', `The ${service} range is nearly full`, `${free} of ${size} ports of ${service} (${range.start}-${range.end}) left.${idleText}`, `ports sync, release unused ports, or ${widen}`, { counts: false, fixable: false, ports: idle }));
    }
  }

  for (const a of registry.allocations) {
    const ls = byPort.get(a.port) ?? [];
    if (ls.length === 0) continue;
    const addresses = [...new Set(ls.map((l) => l.address))];
    const v4Loopback = addresses.some((x) => x.startsWith('127.'));
    const v6Loopback = addresses.includes('::1');
    const reachableOutside = addresses.some((x) => !x.startsWith('127.') && x !== '::1');
    const onlyV6 = v6Loopback && !v4Loopback;
    // Loopback is right for most dev servers; it is a trap only for IPv4 clients (::1 alone) or for containers.
    if (!reachableOutside && (onlyV6 || facts.docker)) {
      found.push(
        finding(
          'loopback_only',
          `Port ${a.port} (${a.service} of ${a.worktree}) listens on ${addresses.join(' and ')} only`,
          `${onlyV6 ? 'Clients that use 127.0.0.1 (many tools, and Compose health checks) get "connection refused". ' : ''}${facts.docker ? 'Containers cannot reach a service bound to loopback (from a container, host.docker.internal needs a listener on 0.0.0.0 or the bridge address). ' : 'Other machines and containers cannot reach it. '}If the service cannot bind at all, another listener on the same port with another address (\`ports which ${a.port}\`) is the usual cause.`,
          `Bind the service to ${onlyV6 ? '"localhost" resolving to both, or 0.0.0.0 / ::' : '0.0.0.0 (or ::)'} when containers or other hosts must reach it; set services.${a.service}.health.host if its health check should use another address`,
          { counts: false, fixable: false, ports: [a.port] },
        ),
      );
    }
    if (a.health_status === 'not_running') {
      found.push(
        finding(
          'health_stale',
          `Health says not_running for ${a.port} (${a.service} of ${a.worktree}), but something listens`,
          `${ls.map(describeListener).join('; ')}. Either the service started after the last \`ports health\`, or the check looks on another interface than the one the service is bound to, times out, or is refused for lack of credentials.`,
          `ports health --worktree ${a.worktree}; if it stays wrong, set services.${a.service}.health.host (${addresses.join(', ')}) and health.timeoutMs, or health.type "tcp" for services that need auth`,
          { counts: false, fixable: false, ports: [a.port] },
        ),
      );
    }
  }
  return found;
}

export function diagnose(facts: DiagnosisFacts): Finding[] {
  const found = [...registryFindings(facts), ...lockFindings(facts), ...gitFindings(facts)];
  if (facts.registry.kind === 'ok') found.push(...conflictFindings(facts), ...machineFindings(facts, facts.registry.registry));
  for (const w of facts.unallocated) {
    // Normal for a worktree made with --no-checkout until its first command; a note that --fix settles.
    found.push(
      finding('services_unallocated', `${w.worktree} has no port for ${w.services.join(', ')}`, `${w.path} holds no allocation for the declared service${w.services.length === 1 ? '' : 's'} ${w.services.join(', ')}: no hook ran there yet (--no-checkout, or created before \`ports install\`), or its ports were lost.`, `ports allocate --cwd ${w.path} (or ports doctor --fix)`, {
        counts: false,
        fixable: true,
      }),
    );
  }
  return found.sort((a, b) => FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind));
}

/** Exit code of `ports doctor`: 0 when nothing that counts remains, 4 otherwise. */
export function doctorExitCode(findings: readonly Finding[]): 0 | 4 {
  return findings.some((f) => f.counts) ? 4 : 0;
}
