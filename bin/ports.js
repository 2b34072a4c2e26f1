#!/usr/bin/env node
'use strict';
require('../dist/ports.cjs').main();
