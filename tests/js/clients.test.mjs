// Real clients against the real binary: the official TypeScript SDK client (legacy era, the
// newest it speaks) over stdio and Streamable HTTP, and the Inspector CLI in both eras.
// Run with `node --test tests/js/` (Node >= 22); MCP_MEDIA_BIN points at the binary.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const BIN = process.env.MCP_MEDIA_BIN ?? path.join(root, 'target/debug/mcp-media');
const SAMPLES = path.join(root, 'samples');
const INSPECTOR = path.join(here, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const run = promisify(execFile);

let server;
let url;

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

before(async () => {
  const port = await freePort();
  server = spawn(BIN, ['serve', '--conformance', '--listen', `127.0.0.1:${port}`, SAMPLES], { stdio: 'ignore' });
  url = `http://127.0.0.1:${port}/mcp`;
  // Wait until it serves; the deadline only turns a hang into a failure.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try { if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return; } catch { await new Promise((r) => setTimeout(r, 20)); }
  }
  throw new Error('server did not start within 60 s');
});

after(() => server?.kill('SIGTERM'));

async function exercise(client) {
  const tools = await client.listTools();
  assert.ok(tools.tools.some((t) => t.name === 'media_probe'));
  const resources = await client.listResources();
  const wav = resources.resources.find((r) => r.uri === 'media://samples/audio/tone.wav');
  assert.equal(wav.mimeType, 'audio/wav');
  const read = await client.readResource({ uri: wav.uri });
  assert.deepEqual(Buffer.from(read.contents[0].blob, 'base64'), fs.readFileSync(path.join(SAMPLES, 'audio/tone.wav')));
  const probe = await client.callTool({ name: 'media_probe', arguments: { uri: 'media://samples/images/photo.jpg' } });
  assert.equal(probe.structuredContent.image.displayWidth, 480);
  const bad = await client.callTool({ name: 'media_probe', arguments: { uri: 'media://samples/../../etc/passwd' } });
  assert.equal(bad.isError, true);
  await assert.rejects(client.readResource({ uri: 'media://samples/nope.wav' }), (e) => e.code === -32002);
}

test('TypeScript SDK client over stdio (2025-11-25)', async () => {
  const client = new Client({ name: 'ts-sdk-test', version: '1.0.0' });
  await client.connect(new StdioClientTransport({ command: BIN, args: ['serve', '--stdio', SAMPLES], stderr: 'ignore' }));
  assert.equal(client.getServerVersion().name, 'local.mcp-media/mcp-media');
  await exercise(client);
  await client.close();
});

test('TypeScript SDK client over Streamable HTTP (2025-11-25), with progress', async () => {
  const client = new Client({ name: 'ts-sdk-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  assert.ok(transport.sessionId && transport.sessionId.length >= 32);
  await exercise(client);
  const progress = [];
  const res = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
    onprogress: (p) => progress.push(p.progress),
  });
  assert.ok(!res.isError);
  assert.deepEqual(progress, [0, 50, 100]);
  await transport.terminateSession();
  await client.close();
});

async function inspector(args) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'inspector-'));
  const { stdout } = await run(process.execPath, [INSPECTOR, ...args], { env: { ...process.env, HOME: home }, timeout: 60000 });
  return stdout;
}

for (const era of ['modern', 'legacy']) {
  test(`Inspector CLI over stdio, ${era} era`, async () => {
    const out = await inspector(['--cli', BIN, 'serve', '--stdio', SAMPLES, '--protocol-era', era, '--method', 'tools/list', '--format', 'json', '-q']);
    assert.ok(JSON.parse(out).result.tools.some((t) => t.name === 'media_list'));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raw-')), 'out.png');
    await inspector(['--cli', BIN, 'serve', '--stdio', SAMPLES, '--protocol-era', era, '--method', 'resources/read',
      '--uri', 'media://samples/images/alpha.png', '--output', file, '--output-format', 'raw', '-q']);
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(SAMPLES, 'images/alpha.png')));
  });

  test(`Inspector CLI over Streamable HTTP, ${era} era`, async () => {
    const out = await inspector(['--cli', url, '--protocol-era', era, '--method', 'tools/list', '--format', 'json', '-q']);
    assert.ok(JSON.parse(out).result.tools.some((t) => t.name === 'media_probe'));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'raw-')), 'tone.wav');
    await inspector(['--cli', url, '--protocol-era', era, '--method', 'resources/read',
      '--uri', 'media://samples/audio/tone.wav', '--output', file, '--output-format', 'raw', '-q']);
    assert.deepEqual(fs.readFileSync(file), fs.readFileSync(path.join(SAMPLES, 'audio/tone.wav')));
  });
}
