// The Aidant field app: screens over a sync-core Store compiled to wasm32.
// Every edit goes to the Store (sync-core decides merges), then the Store's
// bytes are encrypted and committed to IndexedDB, and only then does the
// screen say "Saved". No merge logic lives here.
//
// The phone is locked with a PIN (vault.js holds the keys, lock.js decides
// when to lock). States: no lockbox → enrolment; lockbox locked out (too many
// wrong PINs with unsynced changes) → recovery code; locked → PIN; unlocked →
// the screens. Locking while the page is open only hides the screens: the data
// key stays in memory, so the sync timer keeps pushing and pulling (and
// encrypting what it stores). After a reload nothing is decrypted, and nothing
// syncs, until the PIN is entered.

import init, { Store, vocabularyJson, indicatorsFor } from './pkg/client_wasm.js';
import * as db from './db.js';
import * as vault from './vault.js';
import { LockWatch } from './lock.js';
import { Syncer } from './sync.js';
import { label, indicatorGroup, NATIONALITIES } from './labels.js';

const QUICK_KINDS = ['hotel', 'car_wash', 'nail_bar', 'vehicle_stop'];
const ICONS = { hotel: '🏨', car_wash: '🚿', nail_bar: '💅', vehicle_stop: '🚗' };

/** A write refused because the phone holds no data key (wiped or locked out). */
class LockedError extends Error {
  constructor() {
    super('this phone is locked');
    this.code = 'locked';
  }
}

const app = {
  store: null,
  meta: null,
  vocab: null,
  syncer: null,
  savedAt: null,
  skewMs: 0,
  persisted: null,
  open: {},
  pendingRender: false,
  saving: Promise.resolve(),
  /** The data key (non-extractable), in memory only; null until unlocked. */
  key: null,
  /** The clear record: wrapped keys, wrong-PIN counter, lock settings. */
  lockbox: null,
  /** False while the lock screen is shown (the key may still be in memory). */
  unlocked: false,
  /** An old, unencrypted store found at start (before PINs existed). */
  legacy: null,
  /** Why the store was last wiped (shown on the enrolment screen). */
  notice: null,
  /** The screen to go back to after unlocking. */
  lockedRoute: null,
  /** The unlock screen shows the recovery form. */
  recovering: false,
  /** Sign-out confirmations given so far (0, 1, 2). */
  signOutStep: 0,
  watch: null,
  /** The lockbox as it should be stored now (with the current unsynced count). */
  lockboxNow() {
    if (this.store && this.meta) this.lockbox.unsynced = unsynced();
    return structuredClone(this.lockbox);
  },
  /** Queues one IndexedDB transaction after the ones before it; resolves when it commits. */
  async commit(entries) {
    this.saving = this.saving.catch(() => {}).then(async () => db.write(await entries()));
    await this.saving;
  },
  async saveAll() {
    if (!this.key || !this.store || !this.meta) throw new LockedError();
    const { key } = this;
    // Taken now, encrypted in order: a later edit cannot be overtaken.
    const replica = this.store.save();
    const meta = structuredClone(this.meta);
    const lockbox = this.lockboxNow();
    await this.commit(async () => ({
      replica: await vault.encrypt(key, replica, 'replica'),
      meta: await vault.encryptJson(key, meta, 'meta'),
      lockbox,
    }));
  },
  async saveMeta() {
    if (!this.key || !this.meta) throw new LockedError();
    const { key } = this;
    const meta = structuredClone(this.meta);
    const lockbox = this.lockboxNow();
    await this.commit(async () => ({ meta: await vault.encryptJson(key, meta, 'meta'), lockbox }));
  },
  async saveLockbox() {
    const lockbox = this.lockboxNow();
    await this.commit(async () => ({ lockbox }));
  },
  onSyncState() { renderStatus(); },
  /** Pulled ops changed what is shown: re-render, but never under the
   *  officer's fingers (a focused input keeps its text until it loses focus). */
  onRemoteChange() {
    const a = document.activeElement;
    if (a && a.closest && a.closest('#app') && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) {
      this.pendingRender = true;
    } else {
      render();
    }
  },
  /** The server refused this phone for good (expired, unknown token): lock, keep the data. */
  async onRevoked(e) {
    this.meta.revoked = { code: e.code, message: e.message, at: Date.now() };
    await this.saveMeta();
    render();
  },
  /** Revoked as lost or stolen, or reassigned and handed in: erase everything. */
  async onWipe(code, detail) {
    await wipe(code, detail);
  },
  onSkew(ms) { this.skewMs = Math.max(this.skewMs, ms); renderStatus(); },
};

// ---------------------------------------------------------------- helpers

/** Creates an element: h('div', {class: 'x', onclick: f}, child, …). */
function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value' || k === 'checked') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of kids.flat(Infinity)) {
    if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

const $ = (sel) => document.querySelector(sel);
const hhmm = (ms) => new Date(ms).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
const londonDate = (ms) => new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London' }).format(new Date(ms));

function toast(text, kind = 'info') {
  const t = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  $('#toasts').append(t);
  setTimeout(() => t.remove(), kind === 'error' ? 8_000 : 3_000);
}

/** Runs an edit on the Store, commits to IndexedDB, then says "Saved". */
async function edit(fn, { rerender = true } = {}) {
  try {
    fn(Date.now());
  } catch (e) {
    toast(`Not saved: ${e.message}`, 'error');
    if (rerender) render();
    return false;
  }
  try {
    await app.saveAll();
  } catch (e) {
    toast(`Could not write to this phone's storage: ${e.message}. Keep the app open and try again.`, 'error');
    return false;
  }
  app.savedAt = Date.now();
  renderStatus();
  if (rerender) render();
  app.syncer.afterEdit();
  return true;
}

const T = {
  visit: (f) => JSON.stringify({ visit: f }),
  person: (p, f) => JSON.stringify({ person: [p, f] }),
  arrests: (o) => JSON.stringify({ arrests: o }),
};
const V = {
  text: (s) => JSON.stringify(s === '' ? 'empty' : { text: s }),
  int: (n) => JSON.stringify(n === '' || n === null ? 'empty' : { int: Number(n) }),
  bool: (b) => JSON.stringify(b === null ? 'empty' : { bool: b }),
  time: (ms) => JSON.stringify({ time: ms }),
};

/** The plain value of a sync-core Value (`{"text": "x"}` → "x"). */
function plain(v) {
  if (!v || v === 'empty') return null;
  const [k] = Object.keys(v);
  return v[k];
}

function showValue(v) {
  if (!v || v === 'empty') return '(cleared)';
  if ('bool' in v) return v.bool ? 'Yes' : 'No';
  if ('time' in v) return hhmm(v.time);
  if ('position' in v) return fmtPosition(v.position);
  if ('text' in v) return label(v.text) === v.text ? v.text : label(v.text);
  return String(plain(v));
}

function fmtPosition(p) {
  const lat = p.lat_e7 / 1e7;
  const lon = p.lon_e7 / 1e7;
  return `${Math.abs(lat).toFixed(5)}°${lat >= 0 ? 'N' : 'S'} ${Math.abs(lon).toFixed(5)}°${lon >= 0 ? 'E' : 'W'} (±${p.accuracy_m} m)`;
}

function who(replica) {
  return replica === app.store.replicaId() ? 'this phone' : `device …${replica.slice(-4)}`;
}

// ------------------------------------------------------------ field widgets

/** A field's conflict: the competing values, each one tap to keep. */
function conflictBox(fv, onPick) {
  if (!fv || !fv.conflict || fv.conflict.length === 0) return null;
  const all = [{ value: fv.value, by: fv.by, at_ms: fv.at_ms }, ...fv.conflict];
  return h('div', { class: 'conflict', role: 'group', 'data-test': 'conflict' },
    h('strong', null, '⚠ Conflict: officers recorded different values'),
    all.map((c) => h('button', { type: 'button', class: 'pick', onclick: () => onPick(c.value) },
      `Keep “${showValue(c.value)}”`, h('small', null, ` ${who(c.by)}, ${hhmm(c.at_ms)}`))));
}

function textField(fv, text, opts = {}) {
  const id = `f-${Math.random().toString(36).slice(2)}`;
  const value = plain(fv?.value) ?? '';
  const input = h(opts.multiline ? 'textarea' : 'input', {
    id, name: opts.name, value, maxlength: opts.max, inputmode: opts.inputmode,
    autocapitalize: opts.upper ? 'characters' : 'sentences', autocomplete: 'off',
    type: opts.type || (opts.multiline ? undefined : 'text'), rows: opts.multiline ? 3 : undefined,
    onchange: (e) => {
      let v = e.target.value.trim();
      if (opts.upper) v = v.toUpperCase();
      if (opts.int) edit((now) => opts.set(now, V.int(v === '' ? '' : parseInt(v, 10))), { rerender: false });
      else edit((now) => opts.set(now, V.text(v)), { rerender: false });
    },
  });
  return h('div', { class: 'field' }, h('label', { for: id }, text), input,
    conflictBox(fv, (val) => edit((now) => opts.set(now, JSON.stringify(val)))));
}

/** Big buttons for a small closed choice (age group, yes/no …). */
function choice(text, fv, options, set, name) {
  const cur = plain(fv?.value);
  return h('div', { class: 'field' }, h('span', { class: 'label' }, text),
    h('div', { class: 'seg', role: 'radiogroup', 'data-name': name },
      options.map(([val, lab]) => h('button', {
        type: 'button', role: 'radio', 'aria-checked': String(cur === val), class: cur === val ? 'on' : '',
        'data-value': String(val),
        onclick: () => edit((now) => set(now, cur === val ? JSON.stringify('empty') : (typeof val === 'boolean' ? V.bool(val) : V.text(val)))),
      }, lab))),
    conflictBox(fv, (val) => edit((now) => set(now, JSON.stringify(val)))));
}

function select(text, fv, ids, set, name) {
  const cur = plain(fv?.value) ?? '';
  const id = `s-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, text),
    h('select', { id, name, onchange: (e) => edit((now) => set(now, V.text(e.target.value))) },
      h('option', { value: '' }, '—'),
      ids.map((i) => h('option', { value: i, selected: i === cur ? 'selected' : undefined }, label(i)))),
    conflictBox(fv, (val) => edit((now) => set(now, JSON.stringify(val)))));
}

/** A checklist over an add-wins set. */
function checklist(ids, current, setJson, vid, name, groups = false) {
  const have = new Set(current || []);
  const items = [];
  let group = null;
  for (const i of ids) {
    if (groups && indicatorGroup(i) !== group) {
      group = indicatorGroup(i);
      items.push(h('li', { class: 'group' }, group));
    }
    items.push(h('li', null, h('label', { class: 'check' },
      h('input', {
        type: 'checkbox', checked: have.has(i), 'data-id': i,
        onchange: (e) => edit((now) => (e.target.checked
          ? app.store.add(now, vid, setJson, i)
          : app.store.remove(now, vid, setJson, i))),
      }), h('span', null, label(i)))));
  }
  for (const extra of have) {
    if (!ids.includes(extra)) items.push(h('li', null, h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: true, disabled: true }), h('span', null, `${label(extra)} (newer app)`))));
  }
  return h('ul', { class: 'checklist', 'data-set': name }, items);
}

/** A collapsible card; whether it is open survives re-rendering. */
function section(key, title, open, ...kids) {
  const isOpen = app.open[key] ?? open;
  return h('details', {
    class: 'card', open: isOpen ? 'open' : undefined, 'data-section': key,
    ontoggle: (e) => { app.open[key] = e.target.open; },
  }, h('summary', null, title), ...kids);
}

// ------------------------------------------------------------------ screens

function currentOperation() {
  const ops = app.meta.operations || [];
  const today = londonDate(Date.now());
  const chosen = ops.find((o) => o.id === app.meta.operationId);
  return chosen || ops.find((o) => o.starts_on <= today && today <= o.ends_on) || ops[0] || null;
}

function visits() {
  return JSON.parse(app.store.visitsJson());
}

function unsynced() {
  return app.store ? Math.max(0, app.store.ownSeq() - app.meta.ackedSeq) : 0;
}

function renderStatus() {
  const bar = $('#status');
  if (!bar) return;
  if (!app.meta || !app.unlocked) {
    // Locked, or nothing enrolled: no name, no counts, no errors on show.
    bar.replaceChildren(h('div', { class: 'brand' }, 'Aidant', app.lockbox ? h('small', null, '🔒 Locked') : null));
    $('#substatus').replaceChildren();
    if (app.meta) {
      document.body.dataset.lastSync = String(app.meta.lastSyncAt || 0);
      document.body.dataset.unsynced = String(unsynced());
    }
    return;
  }
  const n = unsynced();
  const online = navigator.onLine;
  const s = app.syncer?.state;
  const last = app.meta.lastSyncAt ? `Last sync ${hhmm(app.meta.lastSyncAt)}` : 'Never synced';
  bar.replaceChildren(
    h('div', { class: 'brand' }, 'Aidant', h('small', null, app.meta.user?.display_name || '')),
    h('button', {
      type: 'button', id: 'sync-button', class: `chip ${n ? 'pending' : 'clean'}`, 'aria-label': 'Sync now',
      onclick: () => app.syncer.run(),
    },
    h('span', { 'data-test': 'unsynced' }, n ? `${n} unsynced` : 'All synced'),
    h('small', { 'data-test': 'last-sync' }, s === 'syncing' ? 'Syncing…' : (online ? last : `Offline · ${last}`))),
  );
  // For tests and for anyone inspecting the page: the last successful sync.
  document.body.dataset.lastSync = String(app.meta.lastSyncAt || 0);
  document.body.dataset.unsynced = String(n);
  document.body.dataset.savedAt = String(app.savedAt || 0);
  const sub = $('#substatus');
  const bits = [];
  if (app.savedAt) bits.push(h('span', { 'data-test': 'saved' }, `✓ Saved on this phone ${new Date(app.savedAt).toLocaleTimeString('en-GB')}`));
  const err = app.meta.lastError;
  if (s === 'error' && err && (err.code === 'offline' || !online)) {
    bits.push(h('span', { class: 'warn' }, 'No signal: changes stay on this phone and sync when the signal returns'));
  } else if (s === 'error' && err) {
    bits.push(h('span', { class: 'warn' }, `Sync failed: ${err.message}; retrying at ${hhmm(err.retryAt)}`));
  }
  if (app.skewMs > 120_000) bits.push(h('span', { class: 'warn' }, `Check this phone's clock: another device is ${Math.round(app.skewMs / 60_000)} min ahead`));
  sub.replaceChildren(...bits);
}

function render() {
  renderStatus();
  const main = $('#app');
  const y = scrollY;
  let screen;
  if (app.legacy) screen = setPinScreen();
  else if (!app.lockbox) screen = enrolScreen();
  else if (app.lockbox.lockedOut || (!app.unlocked && app.recovering)) screen = recoveryScreen();
  else if (!app.unlocked) screen = unlockScreen();
  else if (!app.meta?.token) screen = enrolScreen();
  else if (app.meta.revoked) screen = revokedScreen();
  else {
    const route = location.hash.replace(/^#\/?/, '').split('/');
    if (route[0] === 'visit' && route[1] && route[2] === 'person' && route[3]) screen = personScreen(route[1], route[3]);
    else if (route[0] === 'visit' && route[1]) screen = visitScreen(route[1]);
    else if (route[0] === 'summary') screen = summaryScreen();
    else if (route[0] === 'settings') screen = settingsScreen();
    else screen = homeScreen();
  }
  main.replaceChildren(screen);
  if (main.dataset.route === location.hash) scrollTo(0, y);
  main.dataset.route = location.hash;
}

/** Why the store was wiped, for the enrolment screen (nothing identifying is kept). */
function noticeCard() {
  const n = app.notice;
  if (!n) return null;
  const text = {
    device_revoked: 'Your admin revoked this phone as lost or stolen. Everything it held has been erased from it.',
    device_reassigned: `Your admin reassigned this phone. ${n.handedIn ? `It handed in its last ${n.handedIn} change(s), then` : 'Everything had reached the server; it then'} erased everything it held.${n.lost ? ` ${n.lost} change(s) could not be handed in and were erased.` : ''}`,
    wrong_pins: 'Too many wrong PINs. Everything on this phone had reached the server, so its copy was erased.',
    signed_out: n.discarded ? `Signed out. This phone's copy was erased, with ${n.discarded} change(s) that had not reached the server.` : "Signed out. This phone's copy was erased; everything had reached the server.",
  }[n.code] || 'This phone\'s copy was erased.';
  return h('div', { class: 'card alert', role: 'alert', 'data-test': 'wiped', 'data-code': n.code },
    h('strong', null, '🔒 This phone was wiped'), h('p', null, text),
    h('p', { class: 'hint' }, `${new Date(n.at).toLocaleString('en-GB')}. To use it again, enrol with a new code from your admin.`));
}

/** Two PIN inputs (digits shown as dots, never offered to a password manager). */
function pinInputs(first = 'Choose a PIN (6 digits or more)', second = 'Type the PIN again') {
  return [
    h('div', { class: 'field' }, h('label', { for: 'pin' }, first), pinInput('pin')),
    h('div', { class: 'field' }, h('label', { for: 'pin2' }, second), pinInput('pin2')),
    h('p', { class: 'hint' }, 'Not your birthday, not 123456 or 111111. The PIN unlocks this phone\'s copy of your visits; nobody, not even your admin, can read it back.'),
  ];
}

// A text input drawn with dots where the browser can (Chromium, Safari), so
// that no password manager offers to save the PIN; a password input elsewhere.
const DOTS = typeof CSS !== 'undefined' && CSS.supports && CSS.supports('-webkit-text-security', 'disc');
function pinInput(id) {
  return h('input', {
    id, name: id, type: DOTS ? 'text' : 'password', class: 'pin', inputmode: 'numeric', pattern: '[0-9]*',
    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: vault.MAX_PIN_LENGTH, required: true,
  });
}

/** The chosen PIN, or null after saying what is wrong with it. */
function chosenPin(form, err) {
  const pin = form.pin.value.trim();
  const problem = vault.pinProblem(pin);
  if (problem) { err.textContent = problem; form.pin.focus(); return null; }
  if (form.pin2.value.trim() !== pin) { err.textContent = 'The two PINs differ. Type the same PIN twice.'; form.pin2.focus(); return null; }
  return pin;
}

function enrolScreen() {
  const code = new URLSearchParams(location.hash.slice(1)).get('enrol') || '';
  const form = h('form', {
    class: 'card', id: 'enrol',
    onsubmit: async (e) => {
      e.preventDefault();
      const f = e.target;
      const pin = chosenPin(f, $('#enrol-error'));
      if (!pin) return;
      const button = f.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        await enrol(String(f.server.value).trim().replace(/\/$/, ''), String(f.code.value).trim(), String(f.label.value).trim(), pin);
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h1', null, 'Enrol this phone'),
  h('p', null, 'Enter the one-time code your admin gave you, or scan its QR code.'),
  h('div', { class: 'field' }, h('label', { for: 'server' }, 'Server address'),
    h('input', { id: 'server', name: 'server', type: 'url', value: location.origin, required: true })),
  h('div', { class: 'field' }, h('label', { for: 'code' }, 'Enrolment code'),
    h('input', { id: 'code', name: 'code', value: code, required: true, autocapitalize: 'characters', autocomplete: 'one-time-code', placeholder: 'XXXX-XXXX-XXXX' })),
  h('div', { class: 'field' }, h('label', { for: 'label' }, 'Name for this phone'),
    h('input', { id: 'label', name: 'label', value: 'Phone', maxlength: 100 })),
  pinInputs(),
  h('button', { type: 'submit', class: 'primary big' }, 'Enrol'),
  'BarcodeDetector' in window ? h('button', { type: 'button', class: 'big', onclick: scanQr }, 'Scan QR code') : h('p', { class: 'hint' }, 'To scan the QR code, point the phone camera at it: it opens this page with the code filled in.'),
  h('p', { class: 'error', id: 'enrol-error', role: 'alert' }));
  return h('section', null, noticeCard(), form);
}

async function scanQr() {
  try {
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    const video = h('video', { playsinline: true, class: 'scanner' });
    video.srcObject = stream;
    $('#enrol').prepend(video);
    await video.play();
    const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
    for (let i = 0; i < 600; i++) {
      const found = await detector.detect(video);
      const text = found[0]?.rawValue;
      if (text) {
        const url = new URL(text);
        $('#code').value = new URLSearchParams(url.hash.slice(1)).get('enrol') || '';
        $('#server').value = url.origin;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    stream.getTracks().forEach((t) => t.stop());
    video.remove();
  } catch (e) {
    $('#enrol-error').textContent = `Cannot scan: ${e.message}. Type the code instead.`;
  }
}

async function enrol(server, code, deviceLabel, pin) {
  const err = $('#enrol-error');
  err.textContent = '';
  let origin;
  try { origin = new URL(server).origin; } catch { err.textContent = 'The server address is not a web address (https://…).'; return; }
  if (origin !== location.origin) {
    // The app syncs with the server it was loaded from (its data, service
    // worker and storage belong to that address): open the app there.
    location.href = `${origin}/#enrol=${encodeURIComponent(code)}`;
    return;
  }
  let r;
  try {
    r = await fetch(`${server}/api/v1/enrol`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, label: deviceLabel || 'Phone' }),
    });
  } catch {
    err.textContent = 'Cannot reach the server. Enrolment needs a connection; try again with signal.';
    return;
  }
  const body = await r.json().catch(() => ({}));
  if (!r.ok) {
    err.textContent = body.message || `The server answered ${r.status}.`;
    return;
  }
  // A new data key, wrapped under the PIN and under the recovery code the
  // server gave; the phone keeps neither the PIN nor the recovery code.
  const { key, lockbox } = await vault.createVault(pin, body.recovery_secret || null);
  delete body.recovery_secret;
  // The device id is this phone's sync-core replica id: every op it writes
  // names the enrolled device.
  app.store = new Store(body.device_id);
  app.meta = {
    server, token: body.token, deviceId: body.device_id, user: body.user,
    operations: (body.operations || []).map((id) => ({ id, name: 'Operation', force_area: '', starts_on: '', ends_on: '' })),
    operationId: null, ackedSeq: 0, cursor: 0, lastSyncAt: null, lastError: null, rejected: [], revoked: null,
    enrolledAt: Date.now(),
  };
  app.key = key;
  app.lockbox = lockbox;
  app.unlocked = true;
  app.notice = null;
  await app.commit(async () => ({ notice: null }));
  await app.saveAll();
  history.replaceState(null, '', '#/');
  app.watch.arm();
  await requestPersistence();
  render();
  app.syncer.start();
}

function revokedScreen() {
  const n = unsynced();
  const { code } = app.meta.revoked;
  if (code === 'device_reassigned') {
    // Handing in before the wipe (sync.js): only while changes remain.
    return h('section', { class: 'card locked', 'data-test': 'revoked', 'data-code': code },
      h('h1', null, '🔒 This phone was reassigned'),
      h('p', null, `Your admin reassigned this phone. It is handing in its last ${n} change(s), then it erases everything it holds.`),
      h('p', { class: 'warn' }, navigator.onLine ? 'Sending…' : 'No signal: it sends them when the signal returns. Keep the app open.'),
      h('button', { type: 'button', class: 'primary big', onclick: () => app.syncer.run() }, 'Send now'));
  }
  return h('section', { class: 'card locked', 'data-test': 'revoked', 'data-code': code },
    h('h1', null, '🔒 This phone is locked'),
    h('p', null, {
      device_revoked: 'Your admin has revoked this phone. It can no longer record or sync visits.',
      device_expired: 'This phone has not synced for too long, so its sign-in has expired. Ask your admin for a new enrolment code.',
    }[code] || 'The server no longer accepts this phone. It can no longer record or sync visits.'),
    h('p', null, `Server said: ${app.meta.revoked.message}`),
    n ? h('p', { class: 'warn' }, `${n} change(s) recorded here never reached the server. They are kept on this phone; tell your supervisor.`) : h('p', null, 'Every change recorded here had reached the server.'));
}

// ------------------------------------------------------------ lock screens

/** The only screen a locked phone shows: no names, no visits, no counts. */
function unlockScreen() {
  const left = app.lockbox.maxFailures - app.lockbox.failures;
  const err = h('p', { class: 'error', id: 'unlock-error', role: 'alert' },
    app.lockbox.failures ? `Wrong PIN. ${left} ${left === 1 ? 'try' : 'tries'} left before this phone is wiped (or, if it holds unsynced changes, locked until your admin gives you its recovery code).` : '');
  const form = h('form', {
    class: 'card', id: 'unlock',
    onsubmit: async (e) => {
      e.preventDefault();
      const pin = e.target.pin.value.trim();
      if (!pin) return;
      performance.mark('aidant-unlock-start');
      const button = e.target.querySelector('button[type=submit]');
      button.disabled = true;
      err.textContent = 'Checking…';
      try {
        await unlock(pin);
      } catch (x) {
        err.textContent = `Cannot unlock: ${x.message}`;
      } finally {
        button.disabled = false;
      }
    },
  },
  h('h1', null, '🔒 Aidant is locked'),
  h('div', { class: 'field' }, h('label', { for: 'pin' }, 'PIN'), pinInput('pin')),
  h('button', { type: 'submit', class: 'primary big' }, 'Unlock'),
  err,
  h('button', { type: 'button', class: 'link', 'data-test': 'forgot-pin', onclick: () => { app.recovering = true; render(); } }, 'Forgot the PIN? Use a recovery code'));
  setTimeout(() => form.pin?.focus(), 0);
  return h('section', { 'data-test': 'locked' }, form);
}

/**
 * Locked out after too many wrong PINs (with unsynced changes), or a
 * forgotten PIN: the device's recovery code from the admin, and a new PIN.
 */
function recoveryScreen() {
  const lb = app.lockbox;
  const err = h('p', { class: 'error', id: 'recovery-error', role: 'alert' });
  const intro = lb.lockedOut
    ? [h('h1', null, '🔒 Locked: too many wrong PINs'),
      h('p', null, `This phone holds ${lb.unsynced} change(s) that have not reached the server, so it was not wiped. They stay encrypted until you type this phone's recovery code.`),
      h('p', null, 'Ask your admin for the recovery code of this phone (admin pages › Users and devices › Recovery code), then choose a new PIN.')]
    : [h('h1', null, 'Forgot the PIN?'),
      h('p', null, "Ask your admin for this phone's recovery code (admin pages › Users and devices › Recovery code), then choose a new PIN.")];
  if (!lb.recovery) {
    return h('section', { 'data-test': 'locked-out', class: 'card locked' }, intro[0],
      h('p', null, 'This phone was set up before recovery codes existed, so it cannot be unlocked without its PIN. Its data stays encrypted; tell your admin.'),
      lb.lockedOut ? null : h('button', { type: 'button', class: 'link', onclick: () => { app.recovering = false; render(); } }, 'Back to the PIN'));
  }
  const form = h('form', {
    class: 'card', id: 'recover',
    onsubmit: async (e) => {
      e.preventDefault();
      const f = e.target;
      err.textContent = '';
      const pin = chosenPin(f, err);
      if (!pin) return;
      const button = f.querySelector('button[type=submit]');
      button.disabled = true;
      err.textContent = 'Checking…';
      try {
        await recover(f.recovery.value, pin);
      } catch (x) {
        err.textContent = x.code === 'wrong_secret' ? 'That recovery code is not this phone\'s. Check it with your admin.' : x.message;
      } finally {
        button.disabled = false;
      }
    },
  },
  ...intro,
  h('div', { class: 'field' }, h('label', { for: 'recovery' }, 'Recovery code'),
    h('input', { id: 'recovery', name: 'recovery', required: true, autocapitalize: 'characters', autocomplete: 'off', spellcheck: 'false', placeholder: 'XXXX-XXXX-XXXX-XXXX-XXXX' })),
  pinInputs('New PIN (6 digits or more)', 'Type the new PIN again'),
  h('button', { type: 'submit', class: 'primary big' }, 'Unlock and set the new PIN'),
  err,
  lb.lockedOut ? null : h('button', { type: 'button', class: 'link', onclick: () => { app.recovering = false; render(); } }, 'Back to the PIN'));
  return h('section', { 'data-test': lb.lockedOut ? 'locked-out' : 'recovery' }, form);
}

/** A store from before PINs existed: set one, then it is encrypted. */
function setPinScreen() {
  const err = h('p', { class: 'error', role: 'alert' });
  return h('section', { 'data-test': 'set-pin' }, h('form', {
    class: 'card', id: 'set-pin',
    onsubmit: async (e) => {
      e.preventDefault();
      const pin = chosenPin(e.target, err);
      if (pin) await encryptLegacy(pin);
    },
  },
  h('h1', null, 'Protect this phone with a PIN'),
  h('p', null, 'From now on Aidant keeps this phone\'s visits encrypted and asks for a PIN when it opens, after 5 minutes without use and soon after it goes to the background.'),
  pinInputs(),
  h('button', { type: 'submit', class: 'primary big' }, 'Set the PIN'), err));
}

/** Decrypts the stored meta and replica with `key` and starts the app on them. */
async function openStore(key) {
  const saved = await db.read('replica', 'meta');
  const meta = await vault.decryptJson(key, saved.meta, 'meta');
  let store = null;
  if (saved.replica) {
    try {
      store = Store.load(await vault.decrypt(key, saved.replica, 'replica'));
    } catch (e) {
      // Never overwrite what cannot be read: keep it aside (still encrypted)
      // for recovery, then start over from what the server has: a fresh
      // replica id (the next sync rekeys), everything pulled from the start.
      const unsynced = app.lockbox?.unsynced || 0;
      Object.assign(meta, { ackedSeq: 0, cursor: 0, rekeyNeeded: true });
      await app.commit(async () => ({ [`unreadable-${Date.now()}`]: saved.replica }));
      toast(`Stored visits could not be read (${e.message}). A copy is kept aside and the phone is fetching what the server has.${unsynced ? ` ${unsynced} change(s) not yet synced were in it: tell your supervisor.` : ''}`, 'error');
    }
  }
  app.key = key;
  app.meta = meta;
  app.store = store || new Store(meta.replicaId || meta.deviceId);
  if (meta.token) {
    requestPersistence().then(() => { if (!location.hash.replace(/^#\/?/, '')) render(); });
    app.syncer.start();
  }
}

async function unlock(pin) {
  const lb = app.lockbox;
  // Counted before the check and written first: reloading the page in the
  // middle of a check cannot spare a wrong guess.
  lb.failures += 1;
  await app.saveLockbox();
  let key;
  try {
    key = await vault.unlockWithPin(lb, pin);
  } catch (e) {
    if (e.code !== 'wrong_secret') throw e;
    if (lb.failures >= lb.maxFailures) await tooManyWrongPins();
    else render();
    return;
  }
  lb.failures = 0;
  await app.saveLockbox();
  // After a reload the store is still encrypted on disk; when the page
  // stayed open it is in memory already (and kept syncing).
  if (!app.key) await openStore(key);
  unlocked();
}

function unlocked() {
  app.unlocked = true;
  app.recovering = false;
  app.watch.arm();
  if (app.lockedRoute && app.lockedRoute !== location.hash) {
    history.replaceState(null, '', app.lockedRoute || '#/');
  }
  app.lockedRoute = null;
  render();
  performance.mark('aidant-unlocked');
}

/** The wrong-PIN limit: wipe when everything reached the server, else lock out until a recovery code. */
async function tooManyWrongPins() {
  const pending = app.store && app.meta ? unsynced() : app.lockbox.unsynced;
  if (pending === 0) {
    await wipe('wrong_pins');
    return;
  }
  app.lockbox.lockedOut = true;
  await app.saveLockbox();
  // Forget the key and everything decrypted: only the recovery code opens it now.
  await forget();
  render();
}

async function recover(code, pin) {
  const { key, pin: wrap } = await vault.recoverWithCode(app.lockbox, code, pin);
  Object.assign(app.lockbox, { pin: wrap, failures: 0, lockedOut: false });
  await app.saveLockbox();
  if (!app.key) await openStore(key);
  toast('Unlocked. Your new PIN is set.');
  unlocked();
}

async function encryptLegacy(pin) {
  const { key, lockbox } = await vault.createVault(pin, null);
  const { meta, replica } = app.legacy;
  app.legacy = null;
  app.lockbox = lockbox;
  app.key = key;
  app.meta = meta;
  try {
    app.store = replica ? Store.load(replica) : new Store(meta.replicaId || meta.deviceId);
  } catch (e) {
    await app.commit(async () => ({ [`unreadable-${Date.now()}`]: await vault.encrypt(key, replica, 'replica') }));
    toast(`Stored visits could not be read (${e.message}); they were kept aside.`, 'error');
    app.store = new Store(meta.replicaId || meta.deviceId);
  }
  await app.saveAll(); // overwrites the clear records with encrypted ones
  if (meta.token) app.syncer.start();
  unlocked();
}

/** Shows the lock screen. The key stays in memory, so syncing goes on. */
function lock() {
  if (!app.lockbox || !app.unlocked) return;
  // A field being typed in is saved (its change event) before the screen goes.
  const a = document.activeElement;
  if (a && a !== document.body && a.blur) a.blur();
  app.unlocked = false;
  app.signOutStep = 0;
  app.watch.disarm();
  // Nothing on screen or in the address bar names a visit while locked.
  app.lockedRoute = location.hash || '#/';
  history.replaceState(null, '', '#/');
  $('#toasts').replaceChildren();
  render();
}

/** Drops the key and everything decrypted from memory; stops syncing. */
async function forget() {
  app.syncer.stop();
  app.key = null;
  app.unlocked = false;
  app.watch.disarm();
  await app.saving.catch(() => {});
  const { store } = app;
  app.store = null;
  app.meta = null;
  // A sync in flight may still hold the store: free it once that has ended.
  if (store) Promise.resolve(app.syncer.running).catch(() => {}).finally(() => store.free());
}

/**
 * Erases the phone's store (IndexedDB deleted) and goes back to enrolment.
 * `code` says why (device_revoked, device_reassigned, wrong_pins,
 * signed_out); the notice kept in clear says only that.
 */
async function wipe(code, detail = {}) {
  await forget();
  app.lockbox = null;
  app.recovering = false;
  app.lockedRoute = null;
  await db.wipe();
  app.notice = { code, at: Date.now(), ...detail };
  await app.commit(async () => ({ notice: app.notice }));
  history.replaceState(null, '', '#/');
  $('#toasts').replaceChildren();
  render();
}

function visitTitle(v) {
  const f = v.fields;
  const kind = plain(f.location_kind?.value) || 'other';
  const what = plain(f.premises_name?.value) || plain(f.vrm?.value) || plain(f.postcode?.value) || '';
  return `${label(kind)}${what ? ` · ${what}` : ''}`;
}

function homeScreen() {
  const op = currentOperation();
  const all = visits().sort((a, b) => (plain(b.fields.started_at?.value) || 0) - (plain(a.fields.started_at?.value) || 0));
  const today = londonDate(Date.now());
  const todays = all.filter((v) => londonDate(plain(v.fields.started_at?.value) || 0) === today);
  const earlier = all.filter((v) => !todays.includes(v));
  const card = (v) => {
    const persons = v.persons.filter((p) => !p.removed);
    const pv = persons.filter((p) => plain(p.fields.potential_victim?.value) === true).length;
    return h('li', null, h('a', { class: 'visit', href: `#/visit/${v.id}`, 'data-test': 'visit-card' },
      h('span', { class: 'title' }, visitTitle(v)),
      h('span', { class: 'meta' },
        `${hhmm(plain(v.fields.started_at?.value) || 0)} · ${persons.length} ${persons.length === 1 ? 'person' : 'people'}${pv ? ` · ${pv} potential victim${pv > 1 ? 's' : ''}` : ''}`),
      h('span', { class: 'badges' },
        h('span', { class: `badge ${v.status}` }, label(v.status)),
        v.voided ? h('span', { class: 'badge void' }, 'Voided') : null,
        v.conflicts ? h('span', { class: 'badge conflict' }, `${v.conflicts} conflict${v.conflicts > 1 ? 's' : ''}`) : null)));
  };
  const rejected = app.meta.rejected || [];
  return h('section', null,
    rejected.length ? h('div', { class: 'card alert', role: 'alert', 'data-test': 'rejected' },
      h('strong', null, `${rejected.length} change(s) were refused by the server`),
      h('ul', null, rejected.slice(-5).map((r) => h('li', null, `${r.field ? `${label(r.field)}: ` : ''}${r.message} (${r.code})`))),
      h('button', { type: 'button', onclick: async () => { app.meta.rejected = []; await app.saveMeta(); render(); } }, 'Dismiss')) : null,
    h('div', { class: 'opbar' },
      (app.meta.operations || []).length > 1
        ? h('select', { 'aria-label': 'Operation', onchange: async (e) => { app.meta.operationId = e.target.value; await app.saveMeta(); render(); } },
          app.meta.operations.map((o) => h('option', { value: o.id, selected: o.id === op?.id ? 'selected' : undefined }, o.name)))
        : h('span', null, op ? op.name : 'No operation yet: sync to receive yours')),
    h('h2', null, 'Start a visit'),
    h('div', { class: 'quick' }, QUICK_KINDS.map((k) => h('button', {
      type: 'button', class: 'kind', 'data-kind': k, disabled: !op, onclick: () => startVisit(k),
    }, h('span', { class: 'icon', 'aria-hidden': 'true' }, ICONS[k]), label(k)))),
    h('select', {
      class: 'other-kind', 'aria-label': 'Other kind of place', disabled: !op,
      onchange: (e) => e.target.value && startVisit(e.target.value),
    }, h('option', { value: '' }, 'Other place…'),
    app.vocab.location_kind.filter((k) => !QUICK_KINDS.includes(k)).map((k) => h('option', { value: k }, label(k)))),
    h('h2', null, `Today (${todays.length})`),
    todays.length ? h('ul', { class: 'visits' }, todays.map(card)) : h('p', { class: 'hint' }, 'No visits recorded today on this phone.'),
    earlier.length ? h('details', { class: 'earlier' }, h('summary', null, `Earlier (${earlier.length})`), h('ul', { class: 'visits' }, earlier.map(card))) : null,
    h('nav', { class: 'bottom' },
      h('a', { href: '#/summary', class: 'button' }, 'Day summary'),
      h('a', { href: '#/settings', class: 'button' }, 'This phone')),
    h('p', { class: `hint storage ${app.persisted === false ? 'warn-text' : ''}`, 'data-test': 'persisted' }, `Storage: ${persistText()}`));
}

async function startVisit(kind) {
  const op = currentOperation();
  if (!op) return;
  const id = crypto.randomUUID();
  const ok = await edit((now) => {
    app.store.createVisit(now, id, op.id, kind);
    if (op.force_area) app.store.setField(now, id, T.visit('force_area'), V.text(op.force_area));
    const me = app.meta.user?.display_name || app.meta.user?.username;
    if (me) app.store.add(now, id, T.visit('officers'), me.slice(0, 64));
  }, { rerender: false });
  if (ok) location.hash = `#/visit/${id}`;
}

function visitScreen(vid) {
  let v;
  try { v = JSON.parse(app.store.visitJson(vid)); } catch { return h('p', null, 'This visit is not on this phone.', h('a', { href: '#/' }, ' Back')); }
  const f = v.fields;
  const kind = plain(f.location_kind?.value) || 'other';
  const set = (name) => (now, val) => app.store.setField(now, vid, T.visit(name), val);
  const tf = (name, text, opts = {}) => textField(f[name], text, { ...opts, name, set: set(name) });
  const persons = v.persons.filter((p) => !p.removed);
  const offences = v.sets.offences || [];
  const vehicle = kind === 'vehicle_stop';
  return h('section', { class: 'visit-screen', 'data-visit': vid },
    h('a', { href: '#/', class: 'back' }, '‹ Today'),
    h('h1', null, visitTitle(v)),
    h('p', { class: 'meta' }, `Started ${hhmm(plain(f.started_at?.value) || 0)} · `, h('span', { class: `badge ${v.status}` }, label(v.status)),
      v.voided ? h('span', { class: 'badge void' }, ' Voided') : null,
      v.conflicts ? h('span', { class: 'badge conflict', 'data-test': 'conflict-count' }, `${v.conflicts} conflict${v.conflicts > 1 ? 's' : ''} to settle`) : null),
    section('place', vehicle ? 'Vehicle and stop' : 'Place', true,
      vehicle ? [
        tf('vrm', 'Registration (VRM)', { upper: true, max: 16 }),
        tf('vehicle_make', 'Make', { max: 64 }), tf('vehicle_model', 'Model', { max: 64 }),
        tf('vehicle_colour', 'Colour', { max: 32 }),
        tf('occupants', 'Occupants', { int: true, inputmode: 'numeric', type: 'number' }),
        select('Power used', f.stop_power, app.vocab.stop_power, set('stop_power'), 'stop_power'),
        choice('Search conducted', f.search_conducted, [[true, 'Yes'], [false, 'No']], set('search_conducted'), 'search_conducted'),
        plain(f.search_conducted?.value) === true ? [
          tf('search_grounds', 'Grounds for the search', { multiline: true, max: 2000 }),
          tf('search_object', 'Object of the search', { max: 500 }),
          tf('search_found', 'What was found', { multiline: true, max: 2000 }),
          tf('search_outcome', 'Outcome of the search', { max: 500 }),
        ] : null,
        tf('address', 'Where (road, junction)', { multiline: true, max: 500 }),
      ] : [
        tf('premises_name', 'Premises name', { max: 500 }),
        tf('address', 'Address', { multiline: true, max: 500 }),
        tf('postcode', 'Postcode', { upper: true, max: 10 }),
      ],
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'GPS position'),
        h('button', { type: 'button', class: 'big', 'data-test': 'gps', onclick: () => recordPosition(vid) }, f.position ? 'Update GPS position' : 'Record GPS position'),
        f.position ? h('p', { class: 'pos', 'data-test': 'position' }, fmtPosition(plain(f.position.value) || { lat_e7: 0, lon_e7: 0, accuracy_m: 0 })) : null,
        conflictBox(f.position, (val) => edit((now) => set('position')(now, JSON.stringify(val))))),
      select('Type of visit', f.visit_type, app.vocab.visit_type, set('visit_type'), 'visit_type')),
    section('indicators', `Indicators seen (${(v.sets.indicators || []).length})`, false,
      checklist(indicatorsFirstForKind(kind), v.sets.indicators, T.visit('indicators'), vid, 'indicators', true)),
    section('people', `People (${persons.length})`, true,
      h('ul', { class: 'people' }, persons.map((p) => h('li', null, h('a', { class: 'person', href: `#/visit/${vid}/person/${p.id}`, 'data-test': 'person-card' }, personLine(p))))),
      h('button', { type: 'button', class: 'primary big', 'data-test': 'add-person', onclick: () => addPerson(vid) }, '+ Add person')),
    section('offences', `Offences and arrests (${offences.length})`, offences.length > 0,
      checklist(app.vocab.offence, offences, T.visit('offences'), vid, 'offences'),
      offences.map((o) => textField(v.arrests[o], `Arrests for ${label(o).toLowerCase()}`, {
        int: true, inputmode: 'numeric', type: 'number', name: `arrests-${o}`,
        set: (now, val) => app.store.setField(now, vid, T.arrests(o), val),
      }))),
    section('agencies', `Partner agencies (${(v.sets.partner_agencies || []).length})`, false,
      checklist(app.vocab.partner_agency, v.sets.partner_agencies, T.visit('partner_agencies'), vid, 'partner_agencies')),
    section('officers', `Officers (${(v.sets.officers || []).length})`, false,
      h('ul', { class: 'checklist' }, (v.sets.officers || []).map((o) => h('li', null, h('label', { class: 'check' },
        h('input', { type: 'checkbox', checked: true, onchange: () => edit((now) => app.store.remove(now, vid, T.visit('officers'), o)) }), h('span', null, o))))),
      h('form', { class: 'inline', onsubmit: (e) => { e.preventDefault(); const s = e.target.officer.value.trim(); if (s) edit((now) => app.store.add(now, vid, T.visit('officers'), s)); } },
        h('input', { name: 'officer', placeholder: 'Collar or staff number', 'aria-label': 'Add officer', maxlength: 64 }),
        h('button', { type: 'submit' }, 'Add'))),
    section('outcome', 'Outcome', false,
      tf('civil_penalty_notices', 'Civil penalty notices', { int: true, inputmode: 'numeric', type: 'number' }),
      tf('hse_prohibition_notices', 'HSE prohibition notices', { int: true, inputmode: 'numeric', type: 'number' }),
      choice('Intelligence submitted', f.intelligence_submitted, [[true, 'Yes'], [false, 'No']], set('intelligence_submitted'), 'intelligence_submitted'),
      tf('intel_reference', 'Intelligence reference', { max: 64 }),
      choice('Premises closed', f.premises_closed, [[true, 'Yes'], [false, 'No']], set('premises_closed'), 'premises_closed'),
      choice('Follow-up required', f.follow_up_required, [[true, 'Yes'], [false, 'No']], set('follow_up_required'), 'follow_up_required'),
      tf('summary', 'Summary', { multiline: true, max: 8000 })),
    section('notes', `Notes (${v.notes.length})`, v.notes.length > 0,
      h('ul', { class: 'notes' }, v.notes.map((n) => h('li', null, h('small', null, `${hhmm(n.at_ms)} ${who(n.by)}`), h('p', null, n.text)))),
      h('form', { class: 'note-form', onsubmit: (e) => { e.preventDefault(); const t = e.target.note.value.trim(); if (t) edit((now) => app.store.note(now, vid, t)); } },
        h('textarea', { name: 'note', rows: 3, maxlength: 8000, 'aria-label': 'New note', placeholder: 'Add a note' }),
        h('button', { type: 'submit' }, 'Add note'))),
    h('div', { class: 'actions' },
      v.status === 'draft' ? h('button', { type: 'button', class: 'primary big', 'data-test': 'submit', onclick: () => edit((now) => app.store.setStatus(now, vid, 'submitted')) }, 'Submit visit') : h('p', { class: 'hint' }, `${label(v.status)}: still editable; changes sync as usual.`),
      !f.ended_at ? h('button', { type: 'button', class: 'big', onclick: () => edit((now) => set('ended_at')(now, V.time(now))) }, 'Mark visit ended') : h('p', { class: 'hint' }, `Ended ${hhmm(plain(f.ended_at.value))}`),
      // The server lets an officer void only a draft they recorded (a
      // supervisor's phone, any visit it holds): do not offer what it refuses.
      v.voided || (v.status !== 'draft' && (app.meta.user?.role || 'officer') === 'officer') ? null : h('button', { type: 'button', class: 'danger', onclick: () => {
        const why = prompt('Why void this visit? (the record is kept)');
        if (why && why.trim()) edit((now) => set('void_reason')(now, V.text(why.trim().slice(0, 500))));
      } }, 'Void visit…')));
}

/** The indicators sync-core says apply to this kind, the kind's own first. */
function indicatorsFirstForKind(kind) {
  const ids = JSON.parse(indicatorsFor(kind));
  const general = 'General signs';
  const own = ids.filter((i) => indicatorGroup(i) !== general && indicatorGroup(i) !== 'County lines');
  return [...own, ...ids.filter((i) => !own.includes(i))];
}

function personLine(p) {
  const f = p.fields;
  const bits = [plain(f.name?.value) || plain(f.description?.value) || 'Person'];
  const age = plain(f.age_group?.value);
  if (age) bits.push(label(age));
  const role = plain(f.role?.value);
  if (role) bits.push(label(role));
  const nat = plain(f.nationality?.value);
  if (nat) bits.push(nat);
  const pv = plain(f.potential_victim?.value) === true;
  const actions = p.sets.safeguarding_actions || [];
  return [h('span', null, bits.join(' · ')), pv ? h('span', { class: 'badge pv' }, 'Potential victim') : null,
    actions.length ? h('small', null, actions.map(label).join(', ')) : null];
}

async function addPerson(vid) {
  const pid = crypto.randomUUID();
  const ok = await edit((now) => app.store.addPerson(now, vid, pid), { rerender: false });
  if (ok) location.hash = `#/visit/${vid}/person/${pid}`;
}

function recordPosition(vid) {
  if (!navigator.geolocation) { toast('This phone gives no position', 'error'); return; }
  toast('Finding position…');
  navigator.geolocation.getCurrentPosition((pos) => {
    document.querySelectorAll('.toast').forEach((t) => t.remove());
    const c = pos.coords;
    const val = JSON.stringify({ position: { lat_e7: Math.round(c.latitude * 1e7), lon_e7: Math.round(c.longitude * 1e7), accuracy_m: Math.round(c.accuracy) } });
    edit((now) => app.store.setField(now, vid, T.visit('position'), val));
  }, (err) => toast(`No position: ${err.message}`, 'error'), { enableHighAccuracy: true, timeout: 20_000, maximumAge: 60_000 });
}

/** The safeguarding rule of thumb, as prompts with a one-tap fix. */
function guidance(vid, pid, p) {
  const f = p.fields;
  if (plain(f.potential_victim?.value) !== true) return null;
  const actions = new Set(p.sets.safeguarding_actions || []);
  // Who is a child is sync-core's one rule (recorded group, else date of
  // birth on the visit's day, else estimated age), the same the summaries use.
  // Safeguarding presumes a person of unknown age is a child until assessed.
  const adult = p.age === 'adult';
  const child = !adult;
  const consent = plain(f.nrm_consent?.value);
  const add = (a) => h('button', { type: 'button', class: 'primary', onclick: () => edit((now) => app.store.add(now, vid, T.person(pid, 'safeguarding_actions'), a)) }, `Add ${label(a)}`);
  const tips = [];
  if (p.age === 'unknown') tips.push(['Age not known: treat them as a child until it is assessed (record the age group or date of birth).', null]);
  if (child && !actions.has('nrm_referral')) tips.push(['A child gets an NRM referral — no consent is needed.', add('nrm_referral')]);
  if (child && !actions.has('childrens_services_referral')) tips.push(["Refer the child to children's services.", add('childrens_services_referral')]);
  if (adult && consent === 'declined' && !actions.has('duty_to_notify')) tips.push(['The adult declined an NRM referral: submit a Duty to Notify (MS1) instead.', add('duty_to_notify')]);
  if (adult && consent === 'given' && !actions.has('nrm_referral')) tips.push(['Consent given: make the NRM referral.', add('nrm_referral')]);
  if (adult && !consent) tips.push(['Ask the adult whether they consent to an NRM referral.', null]);
  if (!tips.length) return h('div', { class: 'guide ok', 'data-test': 'guidance' }, '✓ Safeguarding steps recorded.');
  return h('div', { class: 'guide', role: 'note', 'data-test': 'guidance' }, tips.map(([t, b]) => h('p', null, t, ' ', b)));
}

function personScreen(vid, pid) {
  let v;
  try { v = JSON.parse(app.store.visitJson(vid)); } catch { return h('p', null, 'Not on this phone.'); }
  const p = v.persons.find((x) => x.id === pid);
  if (!p) return h('p', null, 'This person is not on this visit.', h('a', { href: `#/visit/${vid}` }, ' Back'));
  const f = p.fields;
  const set = (name) => (now, val) => app.store.setField(now, vid, T.person(pid, name), val);
  const tf = (name, text, opts = {}) => textField(f[name], text, { ...opts, name: `p-${name}`, set: set(name) });
  const pv = plain(f.potential_victim?.value) === true;
  const nat = plain(f.nationality?.value) || '';
  return h('section', { class: 'person-screen', 'data-person': pid },
    h('a', { href: `#/visit/${vid}`, class: 'back' }, `‹ ${visitTitle(v)}`),
    h('h1', null, 'Person'),
    choice('Age group', f.age_group, app.vocab.age_group.map((a) => [a, label(a).replace(' (under 18)', '')]), set('age_group'), 'age_group'),
    choice('Gender', f.gender, app.vocab.gender.map((g) => [g, label(g)]), set('gender'), 'gender'),
    h('div', { class: 'field' }, h('label', { for: 'nat' }, 'Nationality'),
      h('select', { id: 'nat', name: 'nationality', onchange: (e) => edit((now) => set('nationality')(now, V.text(e.target.value))) },
        h('option', { value: '' }, '—'),
        NATIONALITIES.map(([c, n]) => h('option', { value: c, selected: c === nat ? 'selected' : undefined }, `${n} (${c})`)),
        nat && !NATIONALITIES.some(([c]) => c === nat) ? h('option', { value: nat, selected: 'selected' }, nat) : null),
      h('input', { 'aria-label': 'Other nationality code', placeholder: 'Other: 2-letter code', maxlength: 2, autocapitalize: 'characters',
        onchange: (e) => { const c = e.target.value.trim().toUpperCase(); if (c) edit((now) => set('nationality')(now, V.text(c))); } }),
      conflictBox(f.nationality, (val) => edit((now) => set('nationality')(now, JSON.stringify(val))))),
    select('Role', f.role, app.vocab.person_role, set('role'), 'role'),
    tf('language', 'Language spoken', { max: 200 }),
    choice('Interpreter used', f.interpreter_used, [[true, 'Yes'], [false, 'No']], set('interpreter_used'), 'interpreter_used'),
    choice('Potential victim?', f.potential_victim, [[true, 'Yes'], [false, 'No']], set('potential_victim'), 'potential_victim'),
    pv ? [
      h('h2', null, 'Safeguarding'),
      guidance(vid, pid, p),
      h('span', { class: 'label' }, 'Exploitation suspected'),
      checklist(app.vocab.exploitation_type, p.sets.exploitation_types, T.person(pid, 'exploitation_types'), vid, 'exploitation_types'),
      choice('County lines', f.county_lines, [[true, 'Yes'], [false, 'No']], set('county_lines'), 'county_lines'),
      choice('Consent to NRM referral', f.nrm_consent, app.vocab.nrm_consent.map((c) => [c, label(c)]), set('nrm_consent'), 'nrm_consent'),
      h('span', { class: 'label' }, 'Actions taken'),
      checklist(app.vocab.safeguarding_action, p.sets.safeguarding_actions, T.person(pid, 'safeguarding_actions'), vid, 'safeguarding_actions'),
    ] : null,
    h('details', { class: 'card' }, h('summary', null, 'Identity (sensitive: only what is needed)'),
      tf('name', 'Name', { max: 200 }),
      tf('description', 'Description (if no name)', { multiline: true, max: 2000 }),
      tf('date_of_birth', 'Date of birth', { type: 'date' }),
      tf('estimated_age', 'Estimated age', { int: true, inputmode: 'numeric', type: 'number' })),
    tf('notes', 'Notes about this person', { multiline: true, max: 8000 }),
    h('div', { class: 'actions' },
      h('a', { href: `#/visit/${vid}`, class: 'button primary big' }, 'Done'),
      h('button', { type: 'button', class: 'danger', onclick: () => {
        if (confirm('Remove this person from the visit? (kept in the record history)')) {
          edit((now) => app.store.setField(now, vid, T.person(pid, 'removed'), V.bool(true)), { rerender: false }).then(() => { location.hash = `#/visit/${vid}`; });
        }
      } }, 'Remove person')));
}

function summaryScreen() {
  const op = currentOperation();
  const date = londonDate(Date.now());
  if (!op) return h('p', null, 'No operation yet.');
  const s = JSON.parse(app.store.daySummaryJson(op.id, date));
  const pv = s.potential_victims;
  const rows = [
    ['Visits', s.visits], ['Vehicles stopped', s.vehicles_stopped], ['People spoken to', s.people_spoken_to],
    ['Potential victims (adults)', pv.adult], ['Potential victims (children)', pv.child], ['Potential victims (age unknown)', pv.unknown],
    ['Potential victims safeguarded', s.safeguarded], ['NRM referrals', s.nrm_referrals], ['Duty to Notify reports', s.duty_to_notify],
    ['Voided (not counted)', s.voided], ['Visits with conflicts', s.visits_with_conflicts],
  ];
  const kv = (obj) => Object.entries(obj).map(([k, n]) => h('tr', null, h('th', null, label(k)), h('td', null, n)));
  return h('section', { class: 'summary-screen' },
    h('a', { href: '#/', class: 'back' }, '‹ Today'),
    h('h1', null, `Day summary ${date}`),
    h('p', { class: 'provisional', 'data-test': 'provisional' }, 'PROVISIONAL — counts only the visits on this phone. The return comes from the server after everyone has synced.'),
    h('table', { class: 'figures' }, rows.map(([k, n]) => h('tr', null, h('th', null, k), h('td', null, n)))),
    h('h2', null, 'By kind of place'), h('table', { class: 'figures' }, kv(s.visits_by_kind)),
    h('h2', null, 'Arrests by offence'), h('table', { class: 'figures' }, kv(s.arrests_by_offence)),
    h('h2', null, 'Partner agencies'), h('p', null, s.partner_agencies.map(label).join(', ') || '—'));
}

function settingsScreen() {
  const m = app.meta;
  return h('section', null,
    h('a', { href: '#/', class: 'back' }, '‹ Today'),
    h('h1', null, 'This phone'),
    h('table', { class: 'figures' },
      h('tr', null, h('th', null, 'Officer'), h('td', null, m.user?.display_name || '')),
      h('tr', null, h('th', null, 'Server'), h('td', null, m.server)),
      h('tr', null, h('th', null, 'Device id'), h('td', null, m.deviceId)),
      h('tr', null, h('th', null, 'Unsynced changes'), h('td', null, unsynced())),
      h('tr', null, h('th', null, 'Last sync'), h('td', null, m.lastSyncAt ? new Date(m.lastSyncAt).toLocaleString('en-GB') : 'never')),
      h('tr', null, h('th', null, 'Storage'), h('td', { 'data-test': 'persisted' }, persistText())),
      h('tr', null, h('th', null, 'App build'), h('td', null, self.AIDANT_BUILD || 'development'))),
    h('button', { type: 'button', class: 'primary big', onclick: () => app.syncer.run() }, 'Sync now'),
    lockSettings(),
    signOutCard());
}

const fmtDelay = (ms) => (ms <= 0 ? 'At once' : ms < 60_000 ? `${ms / 1000} s` : `${ms / 60_000} min`);

/** A select over a lockbox setting; a value set elsewhere is shown too. */
function lockSetting(name, text, values, fmt) {
  const cur = app.lockbox[name];
  const all = values.includes(cur) ? values : [...values, cur].sort((a, b) => a - b);
  return h('div', { class: 'field' }, h('label', { for: `lock-${name}` }, text),
    h('select', {
      id: `lock-${name}`, name,
      onchange: async (e) => {
        app.lockbox[name] = Number(e.target.value);
        await app.saveLockbox();
        toast('Saved on this phone');
      },
    }, all.map((v) => h('option', { value: String(v), selected: v === cur ? 'selected' : undefined }, fmt(v)))));
}

function lockSettings() {
  return h('div', { class: 'card', 'data-test': 'lock-settings' },
    h('h2', null, 'Lock'),
    lockSetting('idleMs', 'Lock when not used for', [60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000], fmtDelay),
    lockSetting('backgroundMs', 'Lock after going to the background', [0, 10_000, 30_000, 60_000, 300_000], fmtDelay),
    lockSetting('maxFailures', 'Wrong PINs before the phone is wiped', [5, 10, 15, 20], (n) => `${n}`),
    h('p', { class: 'hint' }, 'After that many wrong PINs this phone erases its copy, or, if it holds changes that have not reached the server, stays locked until your admin gives you its recovery code.'),
    h('button', { type: 'button', class: 'big', 'data-test': 'lock-now', onclick: lock }, '🔒 Lock now'));
}

/**
 * Sign out of a shared phone: erases this phone's copy. With unsynced
 * changes it asks twice, naming how many would be lost; anything but two
 * yeses keeps them.
 */
function signOutCard() {
  const n = unsynced();
  const step = app.signOutStep;
  const go = (k) => () => { app.signOutStep = k; render(); };
  const refuse = () => {
    app.signOutStep = 0;
    render();
    toast(n ? `Not signed out: the ${n} unsynced change(s) stay on this phone.` : 'Not signed out.');
  };
  const cancel = h('button', { type: 'button', class: 'big', 'data-test': 'sign-out-cancel', onclick: refuse }, n ? `Keep the ${n} change(s)` : 'Cancel');
  let body;
  if (step === 0) {
    body = h('button', { type: 'button', class: 'danger big', 'data-test': 'sign-out', onclick: go(1) }, 'Sign out of this phone…');
  } else if (n === 0) {
    body = [h('p', null, "Sign out and erase this phone's copy? Everything on it has reached the server."),
      h('button', { type: 'button', class: 'danger big', 'data-test': 'sign-out-confirm', onclick: () => wipe('signed_out') }, 'Sign out and erase'), cancel];
  } else if (step === 1) {
    body = [h('p', { class: 'warn', 'data-test': 'sign-out-warning' }, `${n} change(s) recorded on this phone have not reached the server. Signing out erases them for good. Sync first if you can.`),
      h('button', { type: 'button', class: 'primary big', onclick: () => app.syncer.run() }, 'Sync now'),
      h('button', { type: 'button', class: 'danger big', 'data-test': 'sign-out-confirm', onclick: go(2) }, `Erase ${n} unsynced change(s)…`), cancel];
  } else {
    body = [h('p', { class: 'warn', 'data-test': 'sign-out-warning' }, `Second confirmation: erase ${n} change(s) that never reached the server? Nobody can get them back.`),
      h('button', { type: 'button', class: 'danger big', 'data-test': 'sign-out-confirm', onclick: () => wipe('signed_out', { discarded: n }) }, `Yes, erase ${n} change(s) and sign out`), cancel];
  }
  return h('div', { class: 'card', 'data-test': 'sign-out-card' }, h('h2', null, 'Shared phone'),
    h('p', { class: 'hint' }, 'Signing out erases this phone\'s copy of the visits; the next officer enrols it with their own code.'), body);
}

function persistText() {
  if (app.persisted === true) return 'Persistent: the browser will not clear it';
  if (app.persisted === false) return 'Not persistent: the browser may clear it when space runs low — sync often';
  return 'Unknown';
}

async function requestPersistence() {
  try {
    app.persisted = navigator.storage?.persist ? await navigator.storage.persist() : null;
  } catch { app.persisted = null; }
}

// --------------------------------------------------------------------- boot

/**
 * One tab at a time owns the store: each save writes the whole replica, so
 * two tabs editing side by side could overwrite each other's unsynced
 * changes. A second tab waits (saying so) until the first one closes.
 */
async function ownTheStore() {
  if (!navigator.locks) return;
  let held = false;
  const waiting = setTimeout(() => {
    if (!held) $('#app').replaceChildren(h('div', { class: 'card alert', role: 'alert' }, 'Aidant is open in another tab or window. Close it, or use that one: this tab continues when it closes.'));
  }, 1_000);
  await new Promise((resolve) => {
    navigator.locks.request('aidant-store', () => {
      held = true;
      resolve();
      return new Promise(() => {}); // held for the life of this page
    });
  });
  clearTimeout(waiting);
}

async function boot() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker', e));
  }
  await ownTheStore();
  await init({ module_or_path: new URL('./pkg/client_wasm_bg.wasm', import.meta.url) });
  app.vocab = JSON.parse(vocabularyJson());
  // Only the clear records: the rest waits for the PIN.
  const saved = await db.read('lockbox', 'meta', 'notice');
  app.lockbox = saved.lockbox || null;
  app.notice = saved.notice || null;
  if (!app.lockbox && saved.meta && !vault.isSealed(saved.meta)) {
    // Enrolled before PINs existed: kept in clear until a PIN is set.
    app.legacy = { meta: saved.meta, replica: (await db.read('replica')).replica || null };
  }
  app.syncer = new Syncer(app);
  app.watch = new LockWatch({
    settings: () => (app.lockbox && app.unlocked ? app.lockbox : null),
    onLock: lock,
  });
  app.watch.start();
  addEventListener('hashchange', () => {
    app.signOutStep = 0;
    // Locked: a link followed is remembered for after the PIN, not shown.
    if (app.lockbox && !app.unlocked && location.hash.replace(/^#\/?/, '')) {
      app.lockedRoute = location.hash;
      history.replaceState(null, '', '#/');
    }
    render();
  });
  document.addEventListener('focusout', () => {
    if (app.pendingRender) setTimeout(() => { if (app.pendingRender) { app.pendingRender = false; render(); } }, 0);
  });
  addEventListener('online', () => app.onRemoteChange());
  addEventListener('offline', () => app.onRemoteChange());
  // Opening the app always starts locked: a visit's address in the URL is
  // remembered for after the PIN, not shown before it.
  if (app.lockbox && location.hash.replace(/^#\/?/, '')) {
    app.lockedRoute = location.hash;
    history.replaceState(null, '', '#/');
  }
  render();
  document.body.dataset.ready = 'true';
  performance.mark('aidant-ready');
}

boot().catch((e) => {
  $('#app').replaceChildren(h('div', { class: 'card alert', role: 'alert' }, `The app could not start: ${e.message}`));
});
