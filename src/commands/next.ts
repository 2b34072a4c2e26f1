/**
 * `ports next SERVICE`: the port `allocate` would give now, the range and the ports taken.
 * Changes nothing (no lock, no write).
 */
import type { Context } from '../context';
import { mergeRanges, pickPort, rangeOf, unallocatedPorts, takenPorts, describePortSet } from '../core/allocation';
import { RangeExhaustedError } from '../errors';
import { checkPortAvailable } from '../io/port-probe';

export async function next(ctx: Context, options: { service: string }): Promise<number> {
  const store = await ctx.store();
  const config = await ctx.config();
  const registry = store.read();
  mergeRanges(registry, config.ranges, false);
  const range = rangeOf(registry, options.service);
  const allocated = registry.allocations.filter((a) => a.service === options.service).map((a) => a.port).sort((a, b) => a - b);
  let port: number | null = null;
  let busy: number[] = [];
  try {
    const picked = await pickPort(registry, options.service, checkPortAvailable);
    port = picked.port;
    busy = picked.skippedBusy;
  } catch (error) {
    if (!(error instanceof RangeExhaustedError)) throw error;
    busy = unallocatedPorts(range, takenPorts(registry));
  }
  if (ctx.out.json) {
    ctx.out.data({ service: options.service, port, range: { start: range.start, end: range.end }, allocated, in_use: busy });
  } else if (ctx.out.quiet) {
    if (port !== null) ctx.out.result(String(port));
  } else {
    ctx.out.result(port === null ? `${options.service}: no free port` : `${options.service}: ${port}`);
    ctx.out.info(`Range ${range.start}-${range.end}; allocated: ${describePortSet(allocated) || 'none'}; in use by other processes: ${describePortSet(busy) || 'none'}.`);
  }
  return port === null ? 3 : 0;
}
