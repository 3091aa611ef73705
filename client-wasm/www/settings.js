// The day summary and "This phone" screens: sync state, lock settings,
// sign-out, storage persistence.

import { h, label, toast } from './common.js';
import { app, currentOperation, unsynced } from './state.js';
import { $, londonDate } from './ui.js';
import { render } from './app.js';
import { lock, wipe } from './session.js';

export function summaryScreen() {
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

export function settingsScreen() {
  const m = app.meta;
  return h('section', { class: 'settings-screen' },
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

export const fmtDelay = (ms) => (ms <= 0 ? 'At once' : ms < 60_000 ? `${ms / 1000} s` : `${ms / 60_000} min`);

/** A select over a lockbox setting; a value set elsewhere is shown too. */
export function lockSetting(name, text, values, fmt) {
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

export function lockSettings() {
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
export function signOutCard() {
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

export function persistText() {
  if (app.persisted === true) return 'Persistent: the browser will not clear it';
  if (app.persisted === false) return 'Not persistent: the browser may clear it when space runs low — sync often';
  return 'Unknown';
}

export async function requestPersistence() {
  try {
    app.persisted = navigator.storage?.persist ? await navigator.storage.persist() : null;
  } catch { app.persisted = null; }
}
