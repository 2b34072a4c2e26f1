'use strict';
// Every test file gets its own per-user state folder (the machine index), inherited by the CLI
// runs it starts: no test writes to the real home.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// XDG_STATE_HOME too, because several helpers drop every PORTS_* variable from a child's environment.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ports-state-'));
process.env.PORTS_STATE_DIR = path.join(dir, 'ports');
process.env.XDG_STATE_HOME = dir;
