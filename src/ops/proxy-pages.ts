/**
 * The proxy's own pages: target down (502), unknown name (404), ambiguous short name (300).
 * Self-contained HTML (no CDN, no fonts); every name is escaped.
 */
import { longHost, shortestHost, urlOf, type Route, type RoutingTable } from '../core/proxy-routes';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

export const BASE_CSS = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --ok: #1a7f37; --bad: #cf222e; --link: #0969da; }
@media (prefers-color-scheme: dark) { :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #3d444d; --ok: #3fb950; --bad: #f85149; --link: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; padding: 1rem; background: var(--bg); color: var(--fg); font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
a { color: var(--link); }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.92em; }
pre { padding: 0.6rem; border: 1px solid var(--line); border-radius: 6px; overflow-x: auto; }
.muted { color: var(--muted); }
ul { padding-left: 1.2rem; }
`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title><style>${BASE_CSS}</style></head><body>${body}</body></html>`;
}

function routeLinks(table: RoutingTable, proxyPort: number): string {
  if (!table.routes.length) return '<p class="muted">No routes: no worktree of any indexed repository has ports yet. Run <code>ports allocate</code> in a worktree.</p>';
  const items = table.routes.map((r) => {
    const host = shortestHost(table, r, proxyPort);
    return `<li><a href="${escapeHtml(urlOf(host))}">${escapeHtml(host)}</a> <span class="muted">→ ${escapeHtml(r.repoName)} / ${escapeHtml(r.worktree)} / ${escapeHtml(r.service)} (port ${r.port})</span></li>`;
  });
  return `<ul>${items.join('')}</ul>`;
}

export function unknownPage(table: RoutingTable, name: string, proxyPort: number): string {
  return page(
    `Unknown: ${name}`,
    `<h1>No route for <code>${escapeHtml(name)}</code></h1>
<p>Names are <code>&lt;service&gt;.&lt;worktree&gt;.localhost</code>, <code>&lt;service&gt;.&lt;worktree&gt;.&lt;repo&gt;.localhost</code> or <code>&lt;worktree&gt;.localhost</code>. Known routes:</p>
${routeLinks(table, proxyPort)}
<p><a href="${escapeHtml(urlOf(`localhost:${proxyPort}`))}">Dashboard</a></p>`,
  );
}

export function ambiguousPage(name: string, candidates: readonly Route[], proxyPort: number): string {
  const items = candidates.map((r) => {
    const host = longHost(r, proxyPort);
    return `<li><a href="${escapeHtml(urlOf(host))}">${escapeHtml(host)}</a> <span class="muted">(${escapeHtml(r.repo)})</span></li>`;
  });
  return page(
    `Ambiguous: ${name}`,
    `<h1><code>${escapeHtml(name)}</code> names several worktrees</h1><p>That worktree name exists in several repositories. Use the long name:</p><ul>${items.join('')}</ul>`,
  );
}

export function downPage(route: Route, error: NodeJS.ErrnoException): string {
  const cd = route.worktreePath ? `cd ${shellQuote(route.worktreePath)} && ` : '';
  return page(
    `Not running: ${route.service} of ${route.worktree}`,
    `<h1>${escapeHtml(route.service)} of ${escapeHtml(route.worktree)} is not running</h1>
<p>Nothing answers on port <strong>${route.port}</strong> (127.0.0.1 or ::1: <code>${escapeHtml(error.code ?? error.message)}</code>).
Repository <code>${escapeHtml(route.repoName)}</code>${route.worktreePath ? `, worktree <code>${escapeHtml(route.worktreePath)}</code>` : ' (allocated by name)'}.</p>
<p>Start it with its port from the worktree's env, for example:</p>
<pre>${escapeHtml(`${cd}ports exec -- npm run dev`)}</pre>
<p class="muted">The dev server must listen on the port in the worktree's .env (${escapeHtml(`$PORT_${route.service.toUpperCase().replace(/-/g, '_')}`)} unless the config names another variable). This page reloads itself every 2 seconds until it answers.</p>
<script>setTimeout(function () { location.reload(); }, 2000);</script>`,
  );
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
