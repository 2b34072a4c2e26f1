/// <reference lib="dom" />
/**
 * The dashboard in real headless Chromium (Debian's, driven by playwright-core; Playwright's own
 * browser download is never used): it lists the worktrees, a link opens a worktree's app
 * through the proxy (Chromium resolves *.localhost to loopback itself), and a worktree added
 * with git shows up without a reload. Writes test-artifacts/dashboard.png;
 * PORTS_UPDATE_DOCS_SCREENSHOT=1 also refreshes docs/dashboard.png for the README.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDevServerProcess, startProxyProcess, type ProxyProcess } from '../helpers/proxy';
import { cleanupTemps, git, makeInstalledRepo, PACKAGE_ROOT, tempDir, type Repo } from '../helpers/repo';

const CHROMIUM = '/usr/bin/chromium';
const HAS_CHROMIUM = fs.existsSync(CHROMIUM);
if (!HAS_CHROMIUM) console.warn(`dashboard browser test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium)`);
const describeIfChromium = HAS_CHROMIUM ? describe : describe.skip;

let shop: Repo;
let proxy: ProxyProcess;
let browser: BrowserContext;
let page: Page;
let devServer: { pid: number; stop(): void };

const webPort = (repo: Repo, dir: string): number => repo.allocationsOf(dir).find((a) => a.service === 'web')!.port;
const row = (worktree: string, service = 'web') => `tr[data-worktree="${worktree}"][data-service="${service}"]`;

describeIfChromium('the dashboard in Chromium', () => {
  beforeAll(async () => {
    shop = makeInstalledRepo({ base: 27100, name: 'webshop' });
    git(['worktree', 'add', '-q', shop.wt('feature-cart')], shop.main);
    git(['worktree', 'add', '-q', shop.wt('fix-login')], shop.main);
    devServer = await startDevServerProcess(shop.wt('feature-cart'), 'webshop/feature-cart', webPort(shop, shop.wt('feature-cart')));
    proxy = await startProxyProcess(shop.main);
    browser = await chromium.launchPersistentContext(tempDir('ports-chromium-'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'],
      viewport: { width: 1100, height: 560 },
    });
    page = await browser.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    devServer?.stop();
    cleanupTemps();
  });

  it('lists every worktree with its services, ports and health', async () => {
    await page.goto(`http://localhost:${proxy.port}/`);
    await page.waitForSelector('#live.on');
    for (const worktree of ['feature-cart', 'fix-login']) {
      for (const service of ['web', 'api', 'database', 'cache']) await page.waitForSelector(row(worktree, service));
    }
    // Health is a live TCP check pushed with each snapshot: wait for the running app to show up.
    await page.waitForFunction((selector) => document.querySelector(selector)?.textContent === 'up', `${row('feature-cart')} .health`, { timeout: 10_000 });
    expect(await page.textContent(`${row('fix-login')} .health`)).toBe('down');
    expect(await page.textContent(`${row('feature-cart')} td[data-label="Port"]`)).toBe(String(webPort(shop, shop.wt('feature-cart'))));
    expect(await page.textContent(`${row('feature-cart')} td[data-label="Process"]`)).toBe(`${devServer.pid} node dev-server.js webshop/feature-cart ${webPort(shop, shop.wt('feature-cart'))}`);
  });

  it("opens a worktree's app through the proxy from its link", async () => {
    await Promise.all([page.waitForURL(`http://web.feature-cart.localhost:${proxy.port}/`), page.click(`${row('feature-cart')} a.route`)]);
    expect(await page.textContent('h1')).toBe('webshop/feature-cart');
    await page.goBack();
    await page.waitForSelector('#live.on');
  });

  it('shows a worktree within a second of `git worktree add`, without a reload', async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    git(['worktree', 'add', '-q', shop.wt('new-search')], shop.main);
    await page.waitForSelector(row('new-search'), { timeout: 1000 });
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    const artifacts = path.join(PACKAGE_ROOT, 'test-artifacts');
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    if (process.env.PORTS_UPDATE_DOCS_SCREENSHOT === '1') {
      fs.mkdirSync(path.join(PACKAGE_ROOT, 'docs'), { recursive: true });
      fs.copyFileSync(path.join(artifacts, 'dashboard.png'), path.join(PACKAGE_ROOT, 'docs', 'dashboard.png'));
    }
  });

  it('follows prefers-color-scheme and turns rows into cards on a narrow window', async () => {
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'light' });
    const light = await background();
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await background()).not.toBe(light);
    await page.setViewportSize({ width: 380, height: 700 });
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('thead')!).display)).toBe('none');
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: path.join(PACKAGE_ROOT, 'test-artifacts', 'dashboard-narrow-dark.png'), fullPage: true });
  });
});
