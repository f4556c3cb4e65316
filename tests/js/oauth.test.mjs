// The Inspector CLI's OAuth (`--client-id/--client-secret`) against mcp-media with --oauth-issuer:
// a real authorization server (oidc-provider, tests/auth/provider.mjs), the real binary. This
// Inspector version has no client-credentials grant: with a static client it runs authorization
// code + PKCE, printing the authorization URL and waiting on a loopback callback. The test plays
// the user: it follows that URL through oidc-provider's built-in login and consent pages over
// HTTP (a cookie jar, no browser), the provider redirects to the Inspector's callback, and the
// Inspector, now holding a token for the server's resource, calls media_probe.
// Run with `node --test tests/js/` (Node >= 22); MCP_MEDIA_BIN points at the binary; needs
// tests/auth/node_modules (`npm ci` there).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const BIN = process.env.MCP_MEDIA_BIN ?? path.join(root, 'target/debug/mcp-media');
const SAMPLES = path.join(root, 'samples');
const INSPECTOR = path.join(here, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const HANG = 60_000; // turns a hang into a failure; not a speed check

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

/** The first line of `stream` matching `re` (its match), within HANG. */
function lineMatching(stream, re, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not within ${HANG / 1000} s`)), HANG);
    const rl = readline.createInterface({ input: stream });
    rl.on('line', (line) => {
      const m = line.match(re);
      if (m) { clearTimeout(timer); resolve(m); }
    });
    rl.on('close', () => { clearTimeout(timer); reject(new Error(`${what}: the stream ended`)); });
  });
}

async function startProvider(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oidc-'));
  const child = spawn(process.execPath, [path.join(root, 'tests/auth/provider.mjs'), '--port', '0', '--keys',
    path.join(dir, 'keys.json')], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => child.kill());
  const [line] = await lineMatching(child.stdout, /^\{.*\}$/, 'the authorization server ready line');
  return JSON.parse(line).issuer;
}

async function startServer(t, issuer) {
  const port = await freePort();
  const child = spawn(BIN, ['serve', '--listen', `127.0.0.1:${port}`, '--oauth-issuer', issuer, SAMPLES],
    { stdio: 'ignore' });
  t.after(() => child.kill());
  const deadline = Date.now() + HANG;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch { /* not yet */ }
    assert.ok(Date.now() < deadline, 'the server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  return `http://127.0.0.1:${port}/mcp`;
}

/**
 * The user at the browser: follows redirects from `url`, signs in on oidc-provider's login
 * page and grants consent, until the provider redirects to `callback`; returns that URL
 * (with `code` and `state`) without following it.
 */
async function consent(url, callback) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let next = { url, method: 'GET' };
  for (let hop = 0; hop < 20; hop += 1) {
    const res = await fetch(next.url, {
      method: next.method,
      redirect: 'manual',
      headers: { cookie: cookie(), ...(next.body && { 'content-type': 'application/x-www-form-urlencoded' }) },
      body: next.body,
    });
    for (const c of res.headers.getSetCookie()) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      jar.set(kv.slice(0, i), kv.slice(i + 1));
    }
    const location = res.headers.get('location');
    if (location) {
      const to = new URL(location, next.url).href;
      if (to.startsWith(callback)) return to;
      next = { url: to, method: 'GET' };
      continue;
    }
    const page = await res.text();
    assert.equal(res.status, 200, `${next.url}: ${page}`);
    // oidc-provider's development interaction pages: a login form, then a consent form.
    const prompt = page.includes('name="login"') ? 'login' : 'consent';
    const body = new URLSearchParams({ prompt, login: 'inspector-user', password: 'any' }).toString();
    next = { url: next.url, method: 'POST', body };
  }
  throw new Error('the authorization server never redirected to the callback');
}

for (const era of ['modern', 'legacy']) test(`Inspector CLI, ${era} era: --client-id/--client-secret gets a token (authorization code + PKCE) and calls a tool`, async (t) => {
  const issuer = await startProvider(t);
  const url = await startServer(t, issuer);
  const callback = `http://127.0.0.1:${await freePort()}/oauth/callback`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'inspector-'));
  const cli = spawn(process.execPath, [INSPECTOR, '--cli', url, '--protocol-era', era, '--method', 'tools/call',
    '--tool-name', 'media_probe',
    '--tool-arg', 'uri=media://samples/audio/tone.wav', '--format', 'json',
    '--client-id', 'mcp-inspector', '--client-secret', 'mcp-inspector-secret', '--callback-url', callback], {
    // Without a TTY the Inspector starts an interactive login only with MCP_AUTO_OPEN_ENABLED=true,
    // and then launches a browser through xdg-open, which runs $BROWSER: `true`, a no-op (the
    // URL is also printed on stderr, and the test is the browser). Secrets in memory only.
    env: { ...process.env, HOME: home, MCP_AUTO_OPEN_ENABLED: 'true', BROWSER: 'true', DISPLAY: '',
      MCP_INSPECTOR_SECRET_STORE: 'memory' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => cli.kill());
  let stdout = '';
  cli.stdout.on('data', (d) => { stdout += d; });
  let stderr = '';
  const exited = new Promise((resolve) => cli.on('exit', resolve));
  cli.stderr.on('data', (d) => { stderr += d; });
  const [, authUrl] = await lineMatching(cli.stderr, /Please navigate to: (\S+)/, 'the authorization URL')
    .catch((e) => { throw new Error(`${e.message}; the Inspector said: ${stderr} ${stdout}`); });
  const auth = new URL(authUrl);
  assert.equal(`${auth.origin}`, issuer, authUrl);
  assert.equal(auth.searchParams.get('resource'), url, 'the resource indicator names the server');
  assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  const back = await consent(authUrl, callback);
  assert.ok(new URL(back).searchParams.get('code'), back);
  const cb = await fetch(back);
  assert.ok(cb.ok, `callback: ${cb.status} ${await cb.text()}`);
  let timer;
  const code = await Promise.race([exited, new Promise((r) => { timer = setTimeout(() => r('hang'), HANG); })]);
  clearTimeout(timer);
  assert.equal(code, 0, `the Inspector exited with ${code}: ${stderr}`);
  const out = JSON.parse(stdout);
  const result = out.result ?? out;
  assert.notEqual(result.isError, true, stdout);
  assert.equal(result.structuredContent.kind, 'audio', stdout);
});
