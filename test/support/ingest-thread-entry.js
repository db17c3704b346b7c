// An ingest thread for tests: the thread's real entry point, loaded from the TypeScript sources.
'use strict';
require('./swc-register.js');
require('../../src/usage/ingest-thread-main.ts');
