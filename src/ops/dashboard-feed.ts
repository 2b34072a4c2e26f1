/**
 * The dashboard over HTTP: the page for a plain GET of `/`, server-sent events for the same URL
 * with `Accept: text/event-stream`. A new snapshot is pushed when the routing table changes and,
 * while anyone watches, when health, holders or containers change (checked every two seconds).
 */
import type * as http from 'node:http';
import { DashboardData } from './dashboard-data';
import { dashboardPage } from './dashboard-page';
import type { LiveRoutes } from './live-routes';

const TICK_MS = 2000;

export const PAGE_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  // Inline script and style only; the page loads nothing from anywhere.
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'",
};

export class DashboardFeed {
  private readonly data: DashboardData;
  /** Each watcher with the snapshot it was last sent. */
  private readonly clients = new Map<http.ServerResponse, string>();
  private running = false;
  private again = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(private readonly routes: LiveRoutes, proxyPort: number) {
    this.data = new DashboardData(proxyPort);
    this.unsubscribe = routes.onChange(() => void this.push());
    this.timer = setInterval(() => {
      if (this.clients.size) void this.push();
    }, TICK_MS);
    this.timer.unref();
  }

  async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const snapshot = await this.data.snapshot(this.routes.current());
    if (String(req.headers.accept ?? '').includes('text/event-stream')) {
      res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', 'X-Accel-Buffering': 'no' });
      const json = JSON.stringify(snapshot);
      res.write(`retry: 1000\n${event(json)}`);
      this.clients.set(res, json);
      res.on('close', () => this.clients.delete(res));
      return;
    }
    const body = dashboardPage(snapshot);
    res.writeHead(200, { ...PAGE_HEADERS, 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  close(): void {
    clearInterval(this.timer);
    this.unsubscribe();
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }

  /** One snapshot at a time; a change during a computation triggers one more. */
  private async push(): Promise<void> {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      do {
        this.again = false;
        const snapshot = await this.data.snapshot(this.routes.current());
        const json = JSON.stringify(snapshot);
        for (const [res, sent] of this.clients) {
          if (sent === json) continue;
          res.write(event(json));
          this.clients.set(res, json);
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
  }
}

function event(json: string): string {
  return `event: snapshot\ndata: ${json}\n\n`;
}
