// Opening, locking and erasing the phone's store: the PIN's key opens the
// index and the replica (persist.js); lock hides, forget drops the key, wipe
// deletes the database.

import { Store } from './pkg/client_wasm.js';
import * as db from './db.js';
import * as vault from './vault.js';
import { app, unsynced } from './state.js';
import { dueForCompaction, emptyJournal, load, loadIndex, scheduleCompaction, Unreadable } from './persist.js';
import { toast } from './common.js';
import { $ } from './ui.js';
import { render } from './app.js';
import { requestPersistence } from './settings.js';

/**
 * Decrypts the stored meta and home-screen index with `key` and starts the
 * app on them; the replica (base and chunks) loads behind (`app.ready`), so
 * the home screen shows from the index at once. Without an index (a store
 * from an older app) it waits for the replica.
 */
export async function openStore(key) {
  const saved = await db.read('meta', 'index');
  const meta = await vault.decryptJson(key, saved.meta, 'meta');
  app.key = key;
  app.meta = meta;
  app.index = await loadIndex(key, saved.index);
  app.store = null;
  app.ready = loadStore(key).catch((e) => {
    toast(`Could not open this phone's visits: ${e.message}. Reload the app.`, 'error');
    throw e;
  });
  if (!app.index) await app.ready;
}

async function loadStore(key) {
  let store = null;
  let journal = emptyJournal();
  try {
    ({ store, journal } = await load(key, Store));
  } catch (e) {
    if (!(e instanceof Unreadable)) throw e;
    // Never overwrite what cannot be read: keep it aside (still encrypted)
    // for recovery, then start over from what the server has: a fresh
    // replica id (the next sync rekeys), everything pulled from the start.
    const pending = app.lockbox?.unsynced || 0;
    const at = Date.now();
    const aside = {};
    for (const [name, v] of Object.entries(e.records)) aside[name === 'replica' ? `unreadable-${at}` : `unreadable-${at}-${name}`] = v;
    Object.assign(app.meta, { ackedSeq: 0, cursor: 0, rekeyNeeded: true });
    await app.commit(async () => aside);
    toast(`Stored visits could not be read (${e.message}). A copy is kept aside and the phone is fetching what the server has.${pending ? ` ${pending} change(s) not yet synced were in it: tell your supervisor.` : ''}`, 'error');
  }
  if (app.key !== key) {
    // Locked out or wiped while loading.
    store?.free();
    return;
  }
  app.journal = journal;
  app.store = store || new Store(app.meta.replicaId || app.meta.deviceId);
  // A fresh store, or no index yet: save whole. Many chunks: compact soon.
  if (!store || !app.index) await app.saveAll();
  else if (dueForCompaction(journal)) scheduleCompaction(app);
  performance.mark('aidant-store-loaded');
  if (app.meta.token) {
    requestPersistence().then(() => { if (!location.hash.replace(/^#\/?/, '')) render(); });
    app.syncer.start();
  }
  if (app.unlocked) render();
}

export async function unlock(pin) {
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
  performance.mark('aidant-key');
  lb.failures = 0;
  await app.saveLockbox();
  // After a reload the store is still encrypted on disk; when the page
  // stayed open it is in memory already (and kept syncing).
  if (!app.key) await openStore(key);
  unlocked();
}

export function unlocked() {
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
export async function tooManyWrongPins() {
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

export async function recover(code, pin) {
  const { key, pin: wrap } = await vault.recoverWithCode(app.lockbox, code, pin);
  Object.assign(app.lockbox, { pin: wrap, failures: 0, lockedOut: false });
  await app.saveLockbox();
  if (!app.key) await openStore(key);
  toast('Unlocked. Your new PIN is set.');
  unlocked();
}

export async function encryptLegacy(pin) {
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
export function lock() {
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
export async function forget() {
  app.syncer.stop();
  app.key = null;
  app.unlocked = false;
  app.watch.disarm();
  await app.saving.catch(() => {});
  const { store } = app;
  app.store = null;
  app.meta = null;
  app.index = null;
  clearTimeout(app.journal.timer);
  app.journal = emptyJournal();
  // A sync in flight may still hold the store: free it once that has ended.
  if (store) Promise.resolve(app.syncer.running).catch(() => {}).finally(() => store.free());
}

/**
 * Erases the phone's store (IndexedDB deleted) and goes back to enrolment.
 * `code` says why (device_revoked, device_reassigned, wrong_pins,
 * signed_out); the notice kept in clear says only that.
 */
export async function wipe(code, detail = {}) {
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
