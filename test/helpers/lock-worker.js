'use strict';
// A separate process that uses the real lock, for the race tests. The lock module is TypeScript,
// so the test bundles it once with esbuild and passes the bundle's path as the first argument.
//   node lock-worker.js BUNDLE             serve commands over IPC (race, hold)
//   node lock-worker.js BUNDLE count FILE N increment the number in FILE N times under the lock
//   node lock-worker.js BUNDLE hold FILE    take the lock, report it, then wait to be killed
const fs = require('node:fs');

const [bundle, mode, file, count] = process.argv.slice(2);
const { acquireLock, withLock, writeFileAtomic } = require(bundle);

function busyWait(ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // Spinning on purpose: a holder whose event loop is blocked must still keep its lock.
  }
}

/** Holds the lock for holdMs, logging entry and exit so that the test can look for overlaps. */
async function holdAndLog({ registry, log, holdMs, staleMs, startAt, onAcquired }) {
  if (startAt) busyWait(startAt - Date.now());
  const lock = await acquireLock(registry, { staleMs });
  onAcquired?.();
  fs.appendFileSync(log, `enter ${process.pid} ${Date.now()}\n`);
  busyWait(holdMs);
  fs.appendFileSync(log, `exit ${process.pid} ${Date.now()}\n`);
  lock.release();
}

async function increment(target, times) {
  for (let i = 0; i < times; i++) {
    await withLock(target, () => {
      const value = fs.existsSync(target) ? Number(fs.readFileSync(target, 'utf8')) : 0;
      writeFileAtomic(target, String(value + 1));
    });
  }
}

function serve() {
  process.on('message', (message) => {
    const onAcquired = () => process.send({ acquired: process.pid });
    holdAndLog({ ...message, onAcquired: message.reportAcquired ? onAcquired : undefined }).then(
      () => process.send({ done: process.pid }),
      (error) => process.send({ error: String(error && error.stack ? error.stack : error) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: process.pid });
}

if (mode === 'count') {
  increment(file, Number(count)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else if (mode === 'hold') {
  acquireLock(file).then(() => {
    process.stdout.write('acquired\n');
    setInterval(() => {}, 1000);
  });
} else {
  serve();
}
