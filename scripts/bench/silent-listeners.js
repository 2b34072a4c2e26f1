'use strict';
// Listens on `count` OS-assigned ports (wildcard, so IPv4 and IPv6 clients both reach it),
// accepts every connection and never answers: what a hung service looks like to a health
// check. Prints the ports as one JSON line, then runs until stdin closes.
const net = require('node:net');

const count = Number(process.argv[2] || 100);
const sockets = new Set();
const servers = [];

function listen() {
  return new Promise((resolve, reject) => {
    const server = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    server.once('error', reject);
    server.listen(0, () => resolve(server.address().port));
    servers.push(server);
  });
}

(async () => {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await listen());
  process.stdout.write(JSON.stringify(ports) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
})().catch((error) => {
  process.stderr.write(String(error) + '\n');
  process.exit(1);
});
