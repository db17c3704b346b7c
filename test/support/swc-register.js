// Lets a worker thread started by a test load the TypeScript sources, as Jest does for the test itself
// (the same @swc/core transform). Production threads run the compiled JavaScript instead.
// Required first by test/support/ingest-thread-entry.js.
'use strict';
const fs = require('node:fs');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    sourceMaps: 'inline',
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
