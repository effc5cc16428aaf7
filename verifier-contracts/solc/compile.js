// Reads a solc standard-JSON input on stdin and prints solc's standard-JSON output.
// The compiler is the npm package pinned in ../package.json, so every machine compiles the same bytes.
'use strict';
const solc = require('solc');
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  process.stdout.write(solc.compile(input));
});
