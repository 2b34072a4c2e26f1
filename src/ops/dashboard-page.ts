/**
 * The dashboard: one self-contained page (inline CSS and JS, no CDN, no web fonts). The first
 * snapshot is embedded; later ones arrive as server-sent events from the same URL. The script
 * builds the table with textContent only, so no name from a registry is ever parsed as HTML.
 */
import type { DashboardSnapshot } from './dashboard-data';
import { BASE_CSS } from './proxy-pages';

const CSS = `
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.4rem 1rem; margin-bottom: 0.5rem; }
h1 { font-size: 1.3rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 1.4rem 0 0.3rem; }
#live::before { content: "●"; margin-right: 0.3rem; color: var(--muted); }
#live.on::before { color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 0.85rem; }
.up { color: var(--ok); } .down { color: var(--bad); }
.health::before { content: "●"; margin-right: 0.3rem; }
a.route, td.worktree span { white-space: nowrap; }
td.process { max-width: 22rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
tr.more td.worktree span { visibility: hidden; }
tr.first td { border-top: 1px solid var(--line); }
.empty { padding: 1rem 0; }
@media (max-width: 700px) {
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border: 1px solid var(--line); border-radius: 6px; margin: 0.5rem 0; padding: 0.3rem 0; }
  td { border: 0; padding: 0.15rem 0.7rem; overflow-wrap: anywhere; }
  td::before { content: attr(data-label) ": "; color: var(--muted); font-size: 0.85rem; }
  tr.more td.worktree span { visibility: visible; }
  td.process { max-width: none; white-space: normal; }
}
`;

const SCRIPT = `
(function () {
  var columns = ['Worktree', 'Service', 'Port', 'URL', 'Health', 'Process', 'Container'];
  function el(tag, text, cls) { var e = document.createElement(tag); if (text != null) e.textContent = String(text); if (cls) e.className = cls; return e; }
  function cell(label, content, cls) { var td = el('td', null, cls); td.setAttribute('data-label', label); if (typeof content === 'string' || typeof content === 'number') td.textContent = String(content); else if (content) td.appendChild(content); return td; }
  function render(snapshot) {
    var root = document.getElementById('repos');
    root.textContent = '';
    if (!snapshot.repos.length) { root.appendChild(el('p', 'No worktree has ports yet: run ports allocate (or git worktree add with the hook installed).', 'muted empty')); return; }
    snapshot.repos.forEach(function (repo) {
      var section = el('section'); section.setAttribute('data-repo', repo.name);
      var h2 = el('h2', repo.name); h2.appendChild(el('span', '  ' + repo.repo, 'muted mono'));
      section.appendChild(h2);
      var table = el('table'); var thead = el('thead'); var hr = el('tr');
      columns.forEach(function (c) { hr.appendChild(el('th', c)); });
      thead.appendChild(hr); table.appendChild(thead);
      var tbody = el('tbody');
      repo.worktrees.forEach(function (wt) {
        wt.services.forEach(function (s, i) {
          var tr = el('tr', null, i === 0 ? 'first' : 'more'); tr.setAttribute('data-worktree', wt.name); tr.setAttribute('data-service', s.service);
          var name = el('span', wt.name); if (wt.path) name.title = wt.path;
          var link = el('a', s.url.replace(/^http:\\/\\//, '').replace(/\\/$/, ''), 'route mono'); link.href = s.url; link.title = s.longUrl;
          var holder = s.holder ? (s.holder.pid === null ? 'another user' : s.holder.pid + ' ' + (s.holder.command || '')) : '';
          var proc = cell('Process', el('span', holder, 'mono'), 'process'); proc.title = holder;
          [cell('Worktree', name, 'worktree'), cell('Service', s.service), cell('Port', el('span', s.port, 'mono')), cell('URL', link),
           cell('Health', el('span', s.health, 'health ' + s.health)), proc, cell('Container', s.container || '')]
            .forEach(function (td) { tr.appendChild(td); });
          tbody.appendChild(tr);
        });
      });
      table.appendChild(tbody); section.appendChild(table); root.appendChild(section);
    });
  }
  render(JSON.parse(document.getElementById('snapshot').textContent));
  if (window.EventSource) {
    var live = document.getElementById('live');
    var source = new EventSource(location.pathname);
    source.addEventListener('snapshot', function (e) { render(JSON.parse(e.data)); });
    source.onopen = function () { live.className = 'on'; live.textContent = 'live'; };
    source.onerror = function () { live.className = ''; live.textContent = 'reconnecting…'; };
  }
})();
`;

/** JSON that is safe inside a <script> element: no `<` can close it. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

export function dashboardPage(snapshot: DashboardSnapshot): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>ports: worktrees on this machine</title><style>${BASE_CSS}${CSS}</style></head><body>
<header><h1>Worktrees and their ports</h1><span id="live" class="muted">connecting…</span>
<span class="muted">proxy on port ${snapshot.proxyPort} · read-only</span></header>
<main id="repos"></main>
<script type="application/json" id="snapshot">${scriptJson(snapshot)}</script>
<script>${SCRIPT}</script></body></html>`;
}
