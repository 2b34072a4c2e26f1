'use strict';
// What `ports proxy` costs a dev server's requests, on loopback:
//  - added latency: sequential keep-alive GETs, p50 through the proxy minus p50 direct (goal ≤ 1 ms);
//  - throughput: a bounded concurrent loop for a fixed time, requests/s through the proxy as a
//    share of direct (goal ≥ 70%).
// The target server and the proxy each run in their own process; this process is the client.
// The floor beside them: a bare byte pipe in Node (no routing, no headers added), the least any
// proxy written in Node costs on this machine in the same run.
// Standalone: `node scripts/bench/proxy.js [--quick]` (uses the built bin/ports.js).
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');

// `/` answers at once (the proxy's worst case); `/render` first burns 1 ms of CPU, like a dev
// server rendering a page, to show what share of a real server's throughput is left.
const TARGET = `const server = require('node:http').createServer((req, res) => { if (req.url === '/render') { const end = process.hrtime.bigint() + 1000000n; while (process.hrtime.bigint() < end); } res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 3 }); res.end('ok\\n'); });
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;

// argv[1]: the target's port. Prints its own port like `ports proxy` does.
const BARE_PIPE = `const net = require('node:net');
const server = net.createServer({ noDelay: true }, (client) => {
  const target = net.connect({ port: Number(process.argv[1]), host: '127.0.0.1', noDelay: true });
  client.pipe(target).pipe(client);
  client.on('error', () => target.destroy());
  target.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => process.stdout.write('http://localhost:' + server.address().port + '/\\n'));`;

function firstLine(child, pattern) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const match = pattern.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before it listened: ${err}`)));
  });
}

/** A registry and machine index naming one worktree `bench` whose web port is `port`. */
function writeState(dir, port) {
  const registry = path.join(dir, 'repo', 'design', 'worktrees', 'ports.json');
  fs.mkdirSync(path.dirname(registry), { recursive: true });
  fs.writeFileSync(registry, JSON.stringify({ ranges: {}, allocations: [{ port, worktree: 'bench', service: 'web' }], metadata: {} }));
  fs.mkdirSync(path.join(dir, 'state', 'registries'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'state', 'registries', 'bench.json'), JSON.stringify({ registry, repo: path.join(dir, 'repo'), name: 'bench' }));
}

function get(agent, port, host, urlPath = '/') {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 && body === 'ok\n' ? resolve() : reject(new Error(`status ${res.statusCode}: ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** p50 of `count` sequential requests on one kept-alive connection, in ms. */
async function sequentialP50(port, host, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = process.hrtime.bigint();
      await get(agent, port, host);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  } finally {
    agent.destroy();
  }
  return median(times);
}

/** Requests per second with `concurrency` loops on kept-alive connections for `ms`. */
async function throughput(port, host, concurrency, ms, urlPath = '/') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let done = 0;
  const deadline = Date.now() + ms;
  const start = process.hrtime.bigint();
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < deadline) {
          await get(agent, port, host, urlPath);
          done++;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return done / (Number(process.hrtime.bigint() - start) / 1e9);
}

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { median: median(s), min: s[0], max: s[s.length - 1], n: s.length, samples };
}

/** Runs the measurement; `bin` is the CLI to start the proxy from. */
async function measureProxy({ bin, quick = false, tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-bench-proxy-')) }) {
  const children = [];
  try {
    const target = spawn(process.execPath, ['-e', TARGET], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(target);
    const targetPort = await firstLine(target, /^(\d+)\n/);
    writeState(tmp, targetPort);
    const env = { ...process.env, PORTS_STATE_DIR: path.join(tmp, 'state'), NO_COLOR: '1' };
    const proxy = spawn(process.execPath, [bin, 'proxy', '--port', '0'], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(proxy);
    const proxyPort = await firstLine(proxy, /^http:\/\/localhost:(\d+)\/$/m);
    const pipe = spawn(process.execPath, ['-e', BARE_PIPE, String(targetPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(pipe);
    const pipePort = await firstLine(pipe, /^http:\/\/localhost:(\d+)\/$/m);
    const direct = { port: targetPort, host: `127.0.0.1:${targetPort}` };
    const proxied = { port: proxyPort, host: `web.bench.localhost:${proxyPort}` };
    const piped = { port: pipePort, host: `web.bench.localhost:${pipePort}` };
    const rounds = quick ? 3 : 7;
    const perRound = quick ? 300 : 1000;
    // The pipe is measured for req/s only: its latency and its share of a 1 ms handler say nothing new.
    const latency = { direct: [], proxy: [] };
    const rps = { direct: [], proxy: [], pipe: [] };
    const rendered = { direct: [], proxy: [] };
    const subjects = [['direct', direct], ['proxy', proxied], ['pipe', piped]];
    for (const [, t] of subjects) await sequentialP50(t.port, t.host, 200); // warm-up: JIT, connections
    for (let round = 0; round < rounds; round++) {
      // Interleaved, in a rotating order, so a noisy neighbour slows all three alike.
      const order = subjects.map((_, i) => subjects[(i + round) % subjects.length]);
      const served = order.filter(([name]) => name in latency);
      for (const [name, t] of served) latency[name].push(await sequentialP50(t.port, t.host, perRound));
      for (const [name, t] of order) rps[name].push(await throughput(t.port, t.host, 8, quick ? 500 : 1500));
      for (const [name, t] of served) rendered[name].push(await throughput(t.port, t.host, 8, quick ? 500 : 1000, '/render'));
    }
    const added = latency.proxy.map((p, i) => p - latency.direct[i]);
    const share = rps.proxy.map((p, i) => p / rps.direct[i]);
    const pipeShare = rps.pipe.map((p, i) => p / rps.direct[i]);
    const renderedShare = rendered.proxy.map((p, i) => p / rendered.direct[i]);
    return {
      addedMs: median(added),
      rpsShare: median(share),
      pipeShare: median(pipeShare),
      renderedShare: median(renderedShare),
      variants: {
        'p50 through the proxy (ms)': stats(latency.proxy),
        'p50 direct (ms)': stats(latency.direct),
        'req/s through the proxy': stats(rps.proxy),
        'req/s direct': stats(rps.direct),
        'req/s through a bare byte pipe': stats(rps.pipe),
        'req/s through the proxy, 1 ms handler': stats(rendered.proxy),
        'req/s direct, 1 ms handler': stats(rendered.direct),
      },
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

module.exports = { measureProxy };

if (require.main === module) {
  const bin = path.resolve(__dirname, '..', '..', 'bin', 'ports.js');
  measureProxy({ bin, quick: process.argv.includes('--quick') }).then(
    (r) => {
      const line = (name, s, digits) => `  ${name.padEnd(40)} median ${s.median.toFixed(digits).padStart(9)}   min–max ${s.min.toFixed(digits)} – ${s.max.toFixed(digits)}`;
      process.stdout.write(`ports proxy on node ${process.version}, ${os.cpus().length} cores\n`);
      process.stdout.write(`  added latency p50: ${(r.addedMs * 1000).toFixed(0)} µs (goal ≤ 1 ms)  ${r.addedMs <= 1 ? '✓' : '✗'}\n`);
      process.stdout.write(`  req/s through the proxy: ${(r.rpsShare * 100).toFixed(0)}% of direct (goal ≥ 70%)  ${r.rpsShare >= 0.7 ? '✓' : '✗'}\n`);
      process.stdout.write(`  floor, a bare byte pipe in Node: ${(r.pipeShare * 100).toFixed(0)}% of direct\n`);
      process.stdout.write(`  with a 1 ms handler: ${(r.renderedShare * 100).toFixed(0)}% of direct\n`);
      for (const [name, s] of Object.entries(r.variants)) process.stdout.write(line(name, s, name.startsWith('p50') ? 3 : 0) + '\n');
    },
    (error) => {
      process.stderr.write(`bench proxy: ${error.stack}\n`);
      process.exitCode = 1;
    },
  );
}
