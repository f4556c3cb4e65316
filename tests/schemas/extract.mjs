// Extracts the official MCP JSON schemas (2025-11-25 and 2026-07-28) that the conformance
// suite bundles for its wire-schema-valid check, into OUT_DIR/<version>.json.
// Usage: node extract.mjs <path to conformance dist/index.js> <out dir>
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

const [bundlePath, outDir] = process.argv.slice(2);
const src = fs.readFileSync(bundlePath, 'utf8');
const marker = '{$schema:`https://json-schema.org/draft/2020-12/schema`,$defs:{Annotations';

// Returns the index just past the object literal starting at `start` (a '{').
function endOfLiteral(s, start) {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const c = s[i];
    if (c === '`' || c === '"' || c === "'") {
      for (i++; i < s.length && s[i] !== c; i++) if (s[i] === '\\') i++;
      continue;
    }
    if (c === '{' || c === '[') depth++;
    if (c === '}' || c === ']') { depth--; if (depth === 0) return i + 1; }
  }
  throw new Error('unterminated literal');
}

fs.mkdirSync(outDir, { recursive: true });
let from = 0, found = 0;
for (;;) {
  const at = src.indexOf(marker, from);
  if (at < 0) break;
  const end = endOfLiteral(src, at);
  const schema = vm.runInNewContext('(' + src.slice(at, end) + ')');
  const defs = schema.$defs || {};
  const version = 'DiscoverResult' in defs ? '2026-07-28' : '2025-11-25';
  fs.writeFileSync(path.join(outDir, version + '.json'), JSON.stringify(schema));
  console.log(`${version}: ${Object.keys(defs).length} definitions`);
  found++;
  from = end;
}
if (found === 0) { console.error('no schemas found in ' + bundlePath); process.exit(1); }
