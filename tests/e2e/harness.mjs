// Shared end-to-end harness: a real `aidant serve` on port 0 over a temporary
// SQLite file, and Debian's Chromium driven by playwright-core.
//
// Run with `scripts/e2e.sh` (installs Chromium and playwright-core, builds the
// server and the wasm client, then runs `node --test` on this folder), or,
// once those exist, `node --test --test-concurrency=1 tests/e2e/`.
//
// Knobs: AIDANT_BIN (server binary, default target/debug/aidant),
// CHROMIUM (default /usr/bin/chromium), E2E_SHOTS (screenshot folder,
// default target/e2e-screenshots).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.AIDANT_BIN || path.join(ROOT, 'target/debug/aidant');
export const SHOTS = process.env.E2E_SHOTS || path.join(ROOT, 'target/e2e-screenshots');
export const ADMIN_PASSWORD = 'e2e admin passphrase';

/** A port free on 127.0.0.1 just now (the server takes it a moment later). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts the server. `demo: true` first runs `aidant demo` on the fresh file.
 * The server is given its own address as `--public-url`, as a real deployment
 * is (enrolment QR codes are made only from it), so the port is chosen first.
 * Returns { url, adminPassword, dataDir, dbPath, api, login, stop, restart }.
 */
export async function startServer({ demo = false, env = {} } = {}) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'aidant-e2e-'));
  const dbPath = path.join(dataDir, 'aidant.sqlite3');
  const baseEnv = { ...process.env, AIDANT_ADMIN_PASSWORD: ADMIN_PASSWORD, AIDANT_LOG: 'warn', ...env };
  if (demo) {
    execFileSync(BIN, ['demo', '--db', dbPath], { env: baseEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  }
  let child;
  let url;
  const launch = async (bind) => {
    child = spawn(BIN, ['serve', '--bind', bind, '--public-url', `http://${bind}`, '--db', dbPath,
      '--static-dir', path.join(ROOT, 'client-wasm/www')], {
      env: baseEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), 30_000);
      child.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on (https?:\/\/\S+)/);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${stderr}`)); });
    });
    child.removeAllListeners('exit');
  };
  await launch(`127.0.0.1:${await freePort()}`);

  const srv = {
    get url() { return url; },
    adminPassword: ADMIN_PASSWORD,
    dataDir,
    dbPath,
    /** JSON API call; resolves to { status, body } (body parsed when JSON). */
    async api(method, p, body, token) {
      const headers = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const r = await fetch(url + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      let parsed = text;
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      return { status: r.status, body: parsed };
    },
    /** Signs in as the admin (or another user); returns the bearer token. */
    async login(username = 'admin', password = ADMIN_PASSWORD) {
      const r = await srv.api('POST', '/api/v1/login', { username, password });
      if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token;
    },
    /** Stops the server (SIGTERM) and waits for it. */
    async stop({ keepData = false } = {}) {
      if (child && child.exitCode === null) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
    },
    /** Restarts on the same address and data (a server outage in a test). */
    async restart() {
      const { host } = new URL(url);
      await srv.stop({ keepData: true });
      await launch(host);
    },
  };
  return srv;
}

/**
 * An operation, an officer in it (in team `teamId`, or in a new team named
 * `team`, or in none) and a one-time enrolment code for them.
 * Returns { operationId, userId, teamId, code, adminToken }.
 */
export async function seedOfficer(srv, { username = 'pc4521', displayName = 'PC 4521 Jones', operationId, adminToken, team, teamId } = {}) {
  const token = adminToken || (await srv.login());
  const ok = (r, what) => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  let op = operationId;
  if (!op) {
    op = ok(await srv.api('POST', '/api/v1/operations', {
      name: 'Aidant labour week', force_area: 'Thames Valley', starts_on: '2026-11-23', ends_on: '2026-11-29',
    }, token), 'create operation').id;
  }
  const user = ok(await srv.api('POST', '/api/v1/users', { username, display_name: displayName, role: 'officer' }, token), 'create user');
  let tid = teamId || null;
  if (!tid && team) tid = ok(await srv.api('POST', `/api/v1/operations/${op}/teams`, { name: team }, token), 'create team').id;
  ok(await srv.api('POST', `/api/v1/operations/${op}/members`, { user_id: user.id, team_id: tid }, token), 'add member');
  const code = ok(await srv.api('POST', `/api/v1/users/${user.id}/enrolment-codes`, undefined, token), 'issue code').code;
  return { operationId: op, userId: user.id, teamId: tid, code, adminToken: token };
}

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-dev-shm-usage', '--lang=en-GB'];

/**
 * One server (`startServer(options)`) and one headless Chromium for a test
 * file: started before its tests (then `setUp(env)`, if given, runs), closed
 * after them. Returns an object whose `srv` and `browser` are set once they
 * have started; bind the field app's helpers with `fieldKit(() => env)`.
 */
export function serverAndBrowser(options = {}, setUp = async () => {}) {
  const env = { srv: undefined, browser: undefined };
  before(async () => {
    env.srv = await startServer(options);
    env.browser = await launchBrowser();
    await setUp(env);
  });
  after(async () => {
    await env.browser?.close();
    await env.srv?.stop();
  });
  return env;
}

/** Debian's Chromium, headless. */
export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * Debian's Chromium, headless, with its profile in `userDataDir` (so a test
 * can read what the browser wrote to disk); resolves to a BrowserContext.
 */
export async function launchProfile(userDataDir, options = {}) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS, ...options,
  });
}

/**
 * Saves a PNG screenshot as SHOTS/<name>.png (what is on the screen, at the
 * page's viewport size; `{ fullPage: true }` for the whole page); returns its path.
 */
export async function shot(page, name, { fullPage = false } = {}) {
  mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  return file;
}
