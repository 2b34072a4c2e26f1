/**
 * `ports next SERVICE`: the port `allocate` would give now, the range and the ports taken —
 * in this registry and, unless the repository opted out, in every other registry of the
 * machine index. Changes nothing (no lock, no write, no pruning of the index).
 */
import type { Context } from '../context';
import { mergeRanges, pickPort, rangeOf, unallocatedPorts, takenPorts, describePortSet } from '../core/allocation';
import { RangeExhaustedError } from '../errors';
import { portsHeldElsewhere } from '../io/machine-index';
import { checkPortAvailable } from '../io/port-probe';

export async function next(ctx: Context, options: { service: string }): Promise<number> {
  const store = await ctx.store();
  const config = await ctx.config();
  const registry = store.read();
  mergeRanges(registry, config.ranges, false);
  const range = rangeOf(registry, options.service);
  const allocated = registry.allocations.filter((a) => a.service === options.service).map((a) => a.port).sort((a, b) => a - b);
  const elsewhere = new Map<number, string>();
  if (config.machine) {
    for (const [port, h] of portsHeldElsewhere(ctx.env, store.file).held) elsewhere.set(port, `${h.service} of ${h.worktree} (${h.repo})`);
  }
  const inOthers = unallocatedPorts(range, takenPorts(registry)).filter((p) => elsewhere.has(p));
  let port: number | null = null;
  let busy: number[] = [];
  try {
    const picked = await pickPort(registry, options.service, checkPortAvailable, elsewhere);
    port = picked.port;
    busy = picked.skippedBusy;
  } catch (error) {
    if (!(error instanceof RangeExhaustedError)) throw error;
    busy = unallocatedPorts(range, takenPorts(registry, elsewhere));
  }
  if (ctx.out.json) {
    ctx.out.data({ service: options.service, port, range: { start: range.start, end: range.end }, allocated, other_repositories: inOthers, in_use: busy });
  } else if (ctx.out.quiet) {
    if (port !== null) ctx.out.result(String(port));
  } else {
    ctx.out.result(port === null ? `${options.service}: no free port` : `${options.service}: ${port}`);
    const others = config.machine ? `; in other repositories: ${describePortSet(inOthers) || 'none'}` : ' (this repository opted out of the machine index)';
    ctx.out.info(`Range ${range.start}-${range.end}; allocated: ${describePortSet(allocated) || 'none'}${others}; in use by other processes: ${describePortSet(busy) || 'none'}.`);
  }
  return port === null ? 3 : 0;
}
