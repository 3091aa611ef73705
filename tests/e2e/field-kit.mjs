// Helpers shared by the field app's Chromium tests (field.test.mjs,
// phone.test.mjs): a phone-sized browser context, enrolment through the
// screen (which sets the PIN), unlocking, syncing, filling fields.
// `fieldKit(() => env)`, with `env = serverAndBrowser()` from harness.mjs,
// binds them to a test file's server and browser.

import assert from 'node:assert/strict';

export const PHONE = { viewport: { width: 360, height: 740 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };
/** The PIN tests enrol with (6 digits, no run, no repeat). */
export const PIN = '270419';

export function fieldKit(ctx) {
  /** Logs what goes wrong in a page; accepts dialogs (a prompt gets "test"). */
  function watch(page) {
    page.on('pageerror', (e) => console.error('page error:', e.message));
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.error(`console ${m.type()}: ${m.text()}`); });
    page.on('requestfailed', (r) => console.error(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) console.error(`answered ${r.status()}: ${r.request().method()} ${r.url()}`); });
    page.on('dialog', (d) => d.accept(d.type() === 'prompt' ? 'test' : undefined));
    return page;
  }

  async function phone(extra = {}) {
    const context = await ctx().browser.newContext({
      ...PHONE,
      geolocation: { latitude: 51.7456, longitude: -1.2345, accuracy: 12 },
      permissions: ['geolocation'],
      ...extra,
    });
    const page = watch(await context.newPage());
    return { context, page };
  }

  /**
   * Enrols through the screen (code from the QR link), setting the PIN, and
   * waits for a first sync and for the service worker to hold the shell.
   */
  async function enrol(page, code, label, { pin = PIN } = {}) {
    await page.goto(`${ctx().srv.url}/#enrol=${code}`);
    await page.waitForSelector('#enrol');
    assert.equal(await page.inputValue('#code'), code);
    await page.fill('#label', label);
    await page.fill('#pin', pin);
    await page.fill('#pin2', pin);
    await page.click('#enrol button[type=submit]');
    await page.waitForSelector('[data-kind=car_wash]:not([disabled])');
    await page.waitForFunction(() => Number(document.body.dataset.lastSync) > 0);
    // The service worker has installed the shell (app, wasm) for offline use.
    await until(page, async () => {
      const reg = await navigator.serviceWorker.ready;
      if (!reg.active) return false;
      const keys = await caches.keys();
      const cache = keys.find((k) => k.startsWith('aidant-shell-'));
      return !!cache && !!(await (await caches.open(cache)).match('/pkg/client_wasm_bg.wasm'));
    });
  }

  /** Types the PIN on the lock screen and waits until the app is open again. */
  async function unlock(page, pin = PIN) {
    await page.waitForSelector('#unlock');
    await page.fill('#unlock [name=pin]', pin);
    await page.click('#unlock button[type=submit]');
    await page.waitForSelector('[data-test=locked]', { state: 'detached' });
    await page.waitForFunction(() => !document.querySelector('#unlock'));
  }

  /** Reloads (or opens `url`) and unlocks; resolves once the app is usable. */
  async function reopen(page, url, pin = PIN) {
    if (url) await page.goto(url);
    else await page.reload();
    await page.waitForFunction(() => document.body.dataset.ready === 'true');
    await unlock(page, pin);
  }

  /**
   * Polls an async page function until it returns a truthy value (Playwright's
   * waitForFunction treats the returned promise itself as truthy).
   */
  async function until(page, fn, arg, timeoutMs = 20_000) {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await page.evaluate(fn, arg).catch(() => false);
      if (v) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${fn.toString().slice(0, 120)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Taps Sync and waits for a successful sync after now. */
  async function syncNow(page) {
    const before = Number(await page.evaluate(() => document.body.dataset.lastSync));
    await page.click('#sync-button');
    await page.waitForFunction((b) => Number(document.body.dataset.lastSync) > b, before, { timeout: 15_000 });
  }

  /** Types into a field, leaves it, and waits until the app says it is saved. */
  async function fillField(page, name, value) {
    const before = Number(await page.evaluate(() => document.body.dataset.savedAt || 0));
    await page.fill(`[name="${name}"]`, value);
    await page.press(`[name="${name}"]`, 'Tab');
    await page.waitForFunction((b) => Number(document.body.dataset.savedAt) > b, before);
  }

  /** When the app last said "Saved" (0: not yet). */
  const savedAt = (page) => page.evaluate(() => Number(document.body.dataset.savedAt || 0));

  /** Waits until the edit a tap made is saved and the screen redrawn from
   *  it: the next tap then finds the redrawn controls, not ones the redraw
   *  is about to replace (a phone on a fast disk redraws after the box is
   *  already ticked). */
  async function saved(page, before) {
    await page.waitForFunction((b) => Number(document.body.dataset.savedAt) > b, before);
  }

  async function choose(page, name, value) {
    const before = await savedAt(page);
    await page.click(`[data-name="${name}"] button[data-value="${value}"]`);
    await saved(page, before);
    await page.waitForSelector(`[data-name="${name}"] button[data-value="${value}"][aria-checked=true]`);
  }

  async function check(page, set, id) {
    const before = await savedAt(page);
    const box = page.locator(`[data-set="${set}"] input[data-id="${id}"]`);
    await box.scrollIntoViewIfNeeded();
    await box.check();
    await saved(page, before);
    await page.waitForSelector(`[data-set="${set}"] input[data-id="${id}"]:checked`);
  }

  async function openSection(page, title) {
    const s = page.locator('details.card > summary', { hasText: title });
    const open = await s.evaluate((el) => el.parentElement.open);
    if (!open) await s.click();
  }

  /** Adds a note to the visit on screen and waits until it is saved. */
  async function addNote(page, note) {
    await openSection(page, 'Notes');
    const before = Number(await page.evaluate(() => document.body.dataset.savedAt || 0));
    await page.fill('textarea[name=note]', note);
    await page.click('text=Add note');
    await page.waitForFunction((b) => Number(document.body.dataset.savedAt) > b, before);
  }

  async function serverVisit(token, id) {
    const r = await ctx().srv.api('GET', `/api/v1/visits/${id}?reason=${encodeURIComponent('e2e check')}`, undefined, token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.visit || r.body;
  }

  /**
   * Brings two phones (from `phone()`) back online and syncs A, B, then A
   * again: each then holds what the other wrote.
   */
  async function converge(A, B) {
    await A.context.setOffline(false);
    await B.context.setOffline(false);
    await syncNow(A.page);
    await syncNow(B.page);
    await syncNow(A.page);
  }

  return { watch, phone, enrol, unlock, reopen, until, syncNow, converge, fillField, choose, check, openSection, addNote, serverVisit };
}

export function text(v, name) {
  const f = v.fields[name];
  return f && f.value && f.value.text;
}

/** The records of the phone's IndexedDB store (`kv`), as plain data (byte arrays as arrays). */
export async function readStore(page) {
  return page.evaluate(() => new Promise((resolve, reject) => {
    const req = indexedDB.open('aidant');
    // No database (wiped): do not create an empty one in its place.
    req.onupgradeneeded = () => req.transaction.abort();
    req.onerror = () => (req.error?.name === 'AbortError' ? resolve({}) : reject(req.error));
    req.onsuccess = () => {
      const db = req.result;
      if (!db.objectStoreNames.contains('kv')) { db.close(); resolve({}); return; }
      const tx = db.transaction('kv', 'readonly');
      const out = {};
      const keys = tx.objectStore('kv').getAllKeys();
      const values = tx.objectStore('kv').getAll();
      const plain = (v) => (v instanceof Uint8Array ? { bytes: Array.from(v) } : v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)])) : v);
      tx.oncomplete = () => {
        keys.result.forEach((k, i) => { out[k] = plain(values.result[i]); });
        db.close();
        resolve(out);
      };
    };
  }));
}

/**
 * Puts back records read by readStore, from a page of the origin where the
 * app is not running (the API's JSON: the service worker leaves /api/ alone),
 * then opens the app again at `origin`/.
 */
export async function restoreStore(page, origin, copy) {
  await page.goto(`${origin}/api/v1/openapi.json`);
  await page.evaluate((c) => new Promise((resolve, reject) => {
    const back = (v) => (v && typeof v === 'object' && !Array.isArray(v)
      ? ('bytes' in v && Object.keys(v).length === 1 ? new Uint8Array(v.bytes) : Object.fromEntries(Object.entries(v).map(([k, x]) => [k, back(x)])))
      : v);
    const req = indexedDB.open('aidant', 1);
    req.onupgradeneeded = () => req.result.createObjectStore('kv');
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction('kv', 'readwrite');
      tx.objectStore('kv').clear();
      for (const [k, v] of Object.entries(c)) tx.objectStore('kv').put(back(v), k);
      tx.oncomplete = () => { req.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), copy);
  await page.goto(`${origin}/`);
}

/**
 * Changes the clear lockbox record (lock settings, as the settings screen
 * would, but to values it does not offer, like a 3 s idle time) while the app
 * is closed, then opens the app again at `origin`/.
 */
export async function patchLockbox(page, origin, patch) {
  await page.goto(`${origin}/api/v1/openapi.json`);
  await page.evaluate((p) => new Promise((resolve, reject) => {
    const req = indexedDB.open('aidant', 1);
    req.onerror = () => reject(req.error);
    req.onsuccess = () => {
      const tx = req.result.transaction('kv', 'readwrite');
      const kv = tx.objectStore('kv');
      const g = kv.get('lockbox');
      g.onsuccess = () => kv.put({ ...g.result, ...p }, 'lockbox');
      tx.oncomplete = () => { req.result.close(); resolve(); };
      tx.onerror = () => reject(tx.error);
    };
  }), patch);
  await page.goto(`${origin}/`);
}

/** Pretends the page went to the background (`hidden`) or came back (`visible`). */
export async function setVisibility(page, state) {
  await page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
    Object.defineProperty(document, 'hidden', { value: s === 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);
}

/** The record keys of a store read by readStore, chunks left out, sorted. */
export function recordKeys(store) {
  return Object.keys(store).filter((k) => !k.startsWith('chunk-')).sort();
}

/** The chunk keys of a store read by readStore, in order. */
export function chunkKeys(store) {
  return Object.keys(store).filter((k) => k.startsWith('chunk-')).sort();
}
