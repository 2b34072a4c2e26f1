/**
 * Which port `ports proxy` uses: --port, else PORTS_PROXY_PORT, else config `proxy.port`, else
 * 7355 — below Linux's ephemeral range (32768+) and outside every default service range, so
 * allocation never hands it to a worktree and a test's listen(0) never lands on it.
 */
import type { Context } from '../context';
import { DEFAULT_PROXY_PORT } from '../core/proxy-routes';
import { NotFoundError, UsageError } from '../errors';

export async function proxyPortFor(ctx: Context, flag: number | undefined): Promise<number> {
  if (flag !== undefined) return flag;
  const fromEnv = ctx.env.PORTS_PROXY_PORT;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv) || Number(fromEnv) > 65535) throw new UsageError(`PORTS_PROXY_PORT must be a port number (0-65535), got "${fromEnv}".`, 'Fix or unset PORTS_PROXY_PORT.');
    return Number(fromEnv);
  }
  try {
    return (await ctx.config()).proxy.port ?? DEFAULT_PROXY_PORT;
  } catch (error) {
    // Outside a repository there is no config: the proxy serves the whole machine anyway.
    if (error instanceof NotFoundError) return DEFAULT_PROXY_PORT;
    throw error;
  }
}
