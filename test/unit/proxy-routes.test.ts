import { buildRoutingTable, dnsLabel, longHost, resolveHost, shortestHost, type RouteSource } from '../../src/core/proxy-routes';

const source = (repoName: string, allocations: RouteSource['allocations'], serviceOrder?: string[]): RouteSource => ({
  repoName,
  repo: `/src/${repoName}`,
  registry: `/src/${repoName}/design/worktrees/ports.json`,
  allocations,
  ...(serviceOrder ? { serviceOrder } : {}),
});

const table = buildRoutingTable([
  source('shop', [
    { port: 3000, worktree: 'Feature_X', service: 'api' },
    { port: 8080, worktree: 'Feature_X', service: 'web', worktree_path: '/src/Feature_X' },
    { port: 8081, worktree: 'shared', service: 'web' },
  ], ['web', 'api']),
  source('blog', [
    { port: 8090, worktree: 'shared', service: 'web' },
    { port: 3010, worktree: 'shared', service: 'api' },
  ]),
]);

describe('dnsLabel', () => {
  it.each([
    ['Feature_X', 'feature-x'],
    ['v1.2', 'v1-2'],
    ['--odd--name--', 'odd--name'],
    ['émoji ✓ branch', 'moji-branch'],
    ['___', 'x'],
    ['a'.repeat(70), 'a'.repeat(63)],
  ])('%p → %p', (name, label) => expect(dnsLabel(name)).toBe(label));
});

describe('resolveHost', () => {
  const port = 7355;
  const routed = (host: string) => {
    const r = resolveHost(table, host, port);
    return r.kind === 'route' ? `${r.route.repoName}/${r.route.worktree}/${r.route.service}:${r.route.port}` : r.kind;
  };

  it.each([
    ['web.feature-x.localhost:7355', 'shop/Feature_X/web:8080'],
    ['WEB.Feature-X.LOCALHOST:7355', 'shop/Feature_X/web:8080'],
    ['api.feature-x.localhost:7355', 'shop/Feature_X/api:3000'],
    // config order puts web first although api was allocated first
    ['feature-x.localhost:7355', 'shop/Feature_X/web:8080'],
    ['web.shared.blog.localhost:7355', 'blog/shared/web:8090'],
    ['web.shared.shop.localhost:7355', 'shop/shared/web:8081'],
    ['web.shared.localhost:7355', 'ambiguous'],
    ['shared.localhost:7355', 'ambiguous'],
    ['nope.localhost:7355', 'unknown'],
    ['a.b.c.d.localhost:7355', 'unknown'],
    ['localhost:7355', 'dashboard'],
    ['127.0.0.1:7355', 'dashboard'],
    ['[::1]:7355', 'dashboard'],
    ['localhost.:7355', 'dashboard'],
  ])('%p → %p', (host, expected) => expect(routed(host)).toBe(expected));

  it.each([
    [undefined],
    ['evil.com:7355'],
    ['evil.com'],
    ['10.0.0.5:7355'],
    ['[::]:7355'],
    ['localhost:8080'],
    ['web.feature-x.localhost'],
    ['web.feature-x.localhost.evil.com:7355'],
    ['localhost:7355:1'],
  ])('refuses %p', (host) => expect(resolveHost(table, host, port).kind).toBe('foreign'));

  it('accepts a Host without a port only when the proxy listens on 80', () => {
    expect(routed.call(null, 'web.feature-x.localhost')).toBe('foreign');
    expect(resolveHost(table, 'web.feature-x.localhost', 80).kind).toBe('route');
  });

  it('lists both long names for an ambiguous short name', () => {
    const r = resolveHost(table, 'web.shared.localhost:7355', port);
    expect(r.kind === 'ambiguous' && r.candidates.map((c) => longHost(c, port))).toEqual(['web.shared.blog.localhost:7355', 'web.shared.shop.localhost:7355']);
  });
});

describe('shortestHost', () => {
  it('is the short form when unique, the long form when the worktree name is shared', () => {
    const feature = table.routes.find((r) => r.worktree === 'Feature_X' && r.service === 'web')!;
    const shared = table.routes.find((r) => r.worktree === 'shared' && r.repoName === 'blog' && r.service === 'web')!;
    expect(shortestHost(table, feature, 7355)).toBe('web.feature-x.localhost:7355');
    expect(shortestHost(table, shared, 7355)).toBe('web.shared.blog.localhost:7355');
  });
});
