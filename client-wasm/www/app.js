// The Aidant field app: screens over a sync-core Store compiled to wasm32.
// Every edit goes to the Store (sync-core decides merges), then what it
// gained is encrypted and committed to IndexedDB (persist.js), and only then
// does the screen say "Saved". No merge logic lives here.
//
// This file boots the app and routes between screens: state.js (the state
// and `edit`), session.js (unlock, lock, wipe), lock-screens.js (enrolment,
// PIN, recovery), home.js, visit.js (visit and person forms, widgets.js),
// settings.js (day summary, this phone); ui.js holds the small helpers.
//
// The phone is locked with a PIN (vault.js holds the keys, lock.js decides
// when to lock). States: no lockbox → enrolment; lockbox locked out (too many
// wrong PINs with unsynced changes) → recovery code; locked → PIN; unlocked →
// the screens. Locking while the page is open only hides the screens: the data
// key stays in memory, so the sync timer keeps pushing and pulling (and
// encrypting what it stores). After a reload nothing is decrypted, and nothing
// syncs, until the PIN is entered.

import init, { vocabularyJson } from './pkg/client_wasm.js';
import * as db from './db.js';
import * as vault from './vault.js';
import { LockWatch } from './lock.js';
import { Syncer } from './sync.js';
import { app, unsynced } from './state.js';
import { h, hhmm } from './common.js';
import { $ } from './ui.js';
import { enrolScreen, revokedScreen, unlockScreen, recoveryScreen, setPinScreen } from './lock-screens.js';
import { lock } from './session.js';
import { homeScreen } from './home.js';
import { visitScreen, personScreen } from './visit.js';
import { summaryScreen, settingsScreen } from './settings.js';

export function renderStatus() {
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
      type: 'button', id: 'sync-button', class: `chip ${n ? 'pending' : 'clean'}`,
      onclick: () => app.syncer.run(),
    },
    // Its accessible name is "Sync now:" and what it shows (the unsynced
    // count), never a label that hides the count.
    h('span', { class: 'sr-only' }, 'Sync now: '),
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

export function render() {
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
    // The home screen shows from the index; the others wait for the store.
    if (route[0] && !app.store) screen = h('p', { class: 'hint', 'data-test': 'opening' }, 'Opening this phone\'s visits…');
    else if (route[0] === 'visit' && route[1] && route[2] === 'person' && route[3]) screen = personScreen(route[1], route[3]);
    else if (route[0] === 'visit' && route[1]) screen = visitScreen(route[1]);
    else if (route[0] === 'summary') screen = summaryScreen();
    else if (route[0] === 'settings') screen = settingsScreen();
    else screen = homeScreen();
  }
  main.replaceChildren(screen);
  // The same screen redrawn keeps its place; another screen opens at its top.
  scrollTo(0, main.dataset.route === location.hash ? y : 0);
  main.dataset.route = location.hash;
}

// --------------------------------------------------------------------- boot

/**
 * One tab at a time owns the store: each tab's saves assume they alone
 * write the base and its chunks, so two tabs editing side by side could
 * overwrite each other's unsynced changes. A second tab waits (saying so) until the first one closes.
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
  // At large text sizes the sticky header would cover too much of a small
  // screen (more than a fifth): it scrolls with the page instead.
  const header = $('#top');
  const fit = () => header.classList.toggle('tall', header.offsetHeight > innerHeight / 5);
  new ResizeObserver(fit).observe(header);
  addEventListener('resize', fit);
  // Back goes where the officer came from: a link up to the screen just
  // before this one in the history (a visit's "‹ Today", a person's "Done")
  // goes back to it instead of adding an entry, so Back never returns into
  // a form the officer has left.
  const route = () => (location.hash.replace(/^#\/?/, '') || '');
  const trail = [route()];
  document.addEventListener('click', (e) => {
    const a = e.target.closest('a.back, a[data-up]');
    if (!a || trail.length < 2) return;
    if (trail[trail.length - 2] === a.getAttribute('href').replace(/^#\/?/, '')) {
      e.preventDefault();
      history.back();
    }
  });
  addEventListener('hashchange', () => {
    if (trail.length > 1 && trail[trail.length - 2] === route()) trail.pop();
    else trail.push(route());
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
