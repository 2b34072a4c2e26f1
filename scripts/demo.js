#!/usr/bin/env node
'use strict';
// `npm run demo`: the main job on a throwaway repository. Creates a temp git repo with a
// .portsrc.json declaring four services, installs the hook, adds two worktrees (the hook
// allocates their ports and writes their .env), shows the registry, removes one worktree and
// shows its ports come back. Nothing outside the temp folder is touched; it is deleted at the end
// (set PORTS_DEMO_KEEP=1 to keep it).
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const bin = path.join(__dirname, '..', 'bin', 'ports.js');
const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'ports-demo-')));
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GIT_') && !k.startsWith('PORTS')));
env.HOME = base; // no user git config or hooks leak into the demo
env.PORTS_STATE_DIR = path.join(base, 'state'); // the demo's machine index stays in the temp folder too
// The hook finds the tool in node_modules or on PATH: this checkout stands in for a global install.
fs.mkdirSync(path.join(base, 'bin'));
fs.symlinkSync(bin, path.join(base, 'bin', 'worktree-ports'));
env.PATH = `${path.join(base, 'bin')}${path.delimiter}${env.PATH}`;
const repo = path.join(base, 'shop');

function run(cmd, args, cwd, show = true) {
  if (show) console.log(`\n$ ${[cmd === process.execPath ? 'ports' : cmd, ...(cmd === process.execPath ? args.slice(1) : args)].join(' ')}`);
  const result = spawnSync(cmd, args, { cwd, env, encoding: 'utf8' });
  if (show) process.stdout.write(result.stdout + result.stderr);
  if (result.status !== 0) {
    console.error(`demo step failed (exit ${result.status}): ${cmd} ${args.join(' ')}\n${result.stderr}`);
    process.exit(1);
  }
  return result.stdout;
}
const git = (args, cwd = repo, show = true) => run('git', args, cwd, show);
const ports = (args, cwd = repo) => run(process.execPath, [bin, ...args], cwd);

try {
  fs.mkdirSync(repo);
  git(['init', '-q', '-b', 'main'], repo, false);
  git(['config', 'user.email', 'demo@example.com'], repo, false);
  git(['config', 'user.name', 'Demo'], repo, false);
  const config = {
    services: {
      web: { description: 'Frontend dev server' },
      api: { description: 'REST API' },
      database: { description: 'PostgreSQL', health: { type: 'postgres' } },
      cache: { description: 'Redis', health: { type: 'redis' } },
    },
  };
  fs.writeFileSync(path.join(repo, '.portsrc.json'), JSON.stringify(config, null, 2) + '\n');
  fs.writeFileSync(path.join(repo, 'docker-compose.yml'), 'services:\n  web:\n    image: nginx\n    ports: ["${PORT_WEB:-8080}:80"]\n');
  git(['add', '-A'], repo, false);
  git(['commit', '-q', '-m', 'project with a ports config'], repo, false);
  console.log(`Demo repository: ${repo}\n.portsrc.json declares: ${Object.keys(config.services).join(', ')}`);

  ports(['install']);
  git(['worktree', 'add', '-q', '-b', 'feature-login', '../feature-login']);
  git(['worktree', 'add', '-q', '--detach', '../review-GH-42']);
  console.log(`\n$ cat ../feature-login/.env\n${fs.readFileSync(path.join(base, 'feature-login', '.env'), 'utf8')}`);
  ports(['status'], path.join(base, 'review-GH-42'));
  ports(['status', '--all']);
  ports(['allocate', 'testing', '--worktree', 'ci-job-7', '--description', 'scripted mock server', '--quiet']);
  git(['worktree', 'remove', '../feature-login']);
  ports(['sync', '--dry-run']);
  ports(['status', '--all', '--quiet']);
  git(['worktree', 'add', '-q', '-b', 'feature-cart', '../feature-cart']);
  console.log('\nfeature-cart got the ports feature-login gave back; the registry is', path.join(repo, 'design/worktrees/ports.json'));
  console.log('\nDemo finished.');
} finally {
  if (process.env.PORTS_DEMO_KEEP === '1') console.log(`Kept ${base}`);
  else fs.rmSync(base, { recursive: true, force: true });
}
