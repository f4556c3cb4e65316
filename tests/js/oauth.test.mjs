// The Inspector CLI's OAuth (`--client-id/--client-secret`) against mcp-media with --oauth-issuer:
// a real authorization server (oidc-provider, tests/auth/provider.mjs), the real binary. This
// Inspector version has no client-credentials grant: with a static client it runs authorization
// code + PKCE, printing the authorization URL and waiting on a loopback callback. The test plays
// the user: it follows that URL through oidc-provider's built-in login and consent pages over
// HTTP (a cookie jar, no browser), the provider redirects to the Inspector's callback, and the
// Inspector, now holding a token for the server's resource, calls media_probe. A 403
// insufficient_scope makes it ask to step up (answered `y` on stdin) and authorize again.
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

/**
 * Runs the Inspector CLI against `url` with the static client and `args`, playing the user: each
 * authorization URL it prints is consented to (and its callback delivered), each step-up prompt
 * answered `y`. Resolves to { code, stdout, stderr, authUrls, stepUps } once it exits.
 */
async function inspectorWithUser(t, url, args) {
  const callback = `http://127.0.0.1:${await freePort()}/oauth/callback`;
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'inspector-'));
  const cli = spawn(process.execPath, [INSPECTOR, '--cli', url, ...args, '--format', 'json',
    '--client-id', 'mcp-inspector', '--client-secret', 'mcp-inspector-secret', '--callback-url', callback], {
    // Without a TTY the Inspector starts an interactive login only with MCP_AUTO_OPEN_ENABLED=true,
    // and then launches a browser through xdg-open, which runs $BROWSER: `true`, a no-op (the
    // URL is also printed on stderr, and the test is the browser). Secrets in memory only.
    env: { ...process.env, HOME: home, MCP_AUTO_OPEN_ENABLED: 'true', BROWSER: 'true', DISPLAY: '',
      MCP_INSPECTOR_SECRET_STORE: 'memory' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  t.after(() => cli.kill());
  const run = { stdout: '', stderr: '', authUrls: [], stepUps: 0, failures: [] };
  cli.stdout.on('data', (d) => { run.stdout += d; });
  let seen = 0; // how much of stderr was already acted on
  const pending = [];
  cli.stderr.on('data', (d) => {
    run.stderr += d;
    const fresh = run.stderr.slice(seen);
    const nav = fresh.match(/Please navigate to: (\S+)\n/);
    const ask = fresh.match(/Proceed with step-up authorization\? \[y\/N\] /);
    const first = [nav, ask].filter(Boolean).sort((a, b) => a.index - b.index)[0];
    if (!first) return;
    seen += first.index + first[0].length;
    if (first === ask) {
      run.stepUps += 1;
      cli.stdin.write('y\n');
      return;
    }
    run.authUrls.push(nav[1]);
    pending.push(consent(nav[1], callback)
      .then(async (back) => {
        const cb = await fetch(back);
        if (!cb.ok) throw new Error(`callback: ${cb.status} ${await cb.text()}`);
      })
      .catch((e) => run.failures.push(e)));
  });
  let timer;
  run.code = await Promise.race([new Promise((r) => cli.on('exit', r)),
    new Promise((r) => { timer = setTimeout(() => r('hang'), HANG); })]);
  clearTimeout(timer);
  await Promise.all(pending);
  assert.deepEqual(run.failures, [], 'playing the user failed');
  return run;
}

/** The tools/call result the Inspector printed. */
function resultOf(run) {
  assert.equal(run.code, 0, `the Inspector exited with ${run.code}: ${run.stderr} ${run.stdout}`);
  const out = JSON.parse(run.stdout);
  return out.result ?? out;
}

for (const era of ['modern', 'legacy']) {
  test(`Inspector CLI, ${era} era: --client-id/--client-secret gets a token (authorization code + PKCE) and calls a tool`, async (t) => {
    const issuer = await startProvider(t);
    const url = await startServer(t, issuer);
    const run = await inspectorWithUser(t, url, ['--protocol-era', era, '--method', 'tools/call',
      '--tool-name', 'media_probe', '--tool-arg', 'uri=media://samples/audio/tone.wav']);
    const result = resultOf(run);
    assert.notEqual(result.isError, true, run.stdout);
    assert.equal(result.structuredContent.kind, 'audio', run.stdout);
    assert.equal(run.authUrls.length, 1, run.stderr);
    const auth = new URL(run.authUrls[0]);
    assert.equal(auth.origin, issuer);
    assert.equal(auth.searchParams.get('resource'), url, 'the resource indicator names the server');
    assert.equal(auth.searchParams.get('code_challenge_method'), 'S256');
  });
}

// A transform *tool* cannot show step-up through the Inspector: with a media:read token the
// server lists only media_list and media_probe, and the Inspector refuses a tool missing from
// tools/list on its own ("tool_not_found") without calling it. A derived read (a clip of a
// track, a rendition) is not listed anywhere, so it reaches the server and its 403.
test('Inspector CLI, modern era: a derived read with a media:read token steps up on 403 and succeeds', async (t) => {
  const issuer = await startProvider(t);
  const url = await startServer(t, issuer);
  const run = await inspectorWithUser(t, url, ['--protocol-era', 'modern', '--method', 'resources/read',
    '--uri', 'media://samples/audio/tone.wav?start=0&duration=0.1']);
  const result = resultOf(run);
  assert.ok(result.contents?.length > 0, run.stdout);
  // First authorized for what the 401 challenge asked (media:read), then stepped up after the
  // 403 insufficient_scope to media:transform.
  assert.equal(run.stepUps, 1, run.stderr);
  assert.equal(run.authUrls.length, 2, run.stderr);
  const scopes = run.authUrls.map((u) => new URL(u).searchParams.get('scope').split(' ').sort());
  assert.deepEqual(scopes[0], ['media:read']);
  assert.ok(scopes[1].includes('media:transform'), `${scopes[1]}`);
});
