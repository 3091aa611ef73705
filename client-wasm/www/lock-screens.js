// The screens shown before the visits: enrolment, the PIN and recovery
// forms, setting a first PIN, and a revoked phone.

import { Store } from './pkg/client_wasm.js';
import * as vault from './vault.js';
import { h, label } from './common.js';
import { app, unsynced } from './state.js';
import { $ } from './ui.js';
import { render } from './app.js';
import { unlock, recover, encryptLegacy } from './session.js';
import { requestPersistence } from './settings.js';

/** Why the store was wiped, for the enrolment screen (nothing identifying is kept). */
export function noticeCard() {
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
export function pinInputs(first = 'Choose a PIN (6 digits or more)', second = 'Type the PIN again') {
  return [
    h('div', { class: 'field' }, h('label', { for: 'pin' }, first), pinInput('pin')),
    h('div', { class: 'field' }, h('label', { for: 'pin2' }, second), pinInput('pin2')),
    h('p', { class: 'hint' }, 'Not your birthday, not 123456 or 111111. The PIN unlocks this phone\'s copy of your visits; nobody, not even your admin, can read it back.'),
  ];
}

// A text input drawn with dots where the browser can (Chromium, Safari), so
// that no password manager offers to save the PIN; a password input elsewhere.
export const DOTS = typeof CSS !== 'undefined' && CSS.supports && CSS.supports('-webkit-text-security', 'disc');
export function pinInput(id) {
  return h('input', {
    id, name: id, type: DOTS ? 'text' : 'password', class: 'pin', inputmode: 'numeric', pattern: '[0-9]*',
    autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', maxlength: vault.MAX_PIN_LENGTH, required: true,
  });
}

/** The chosen PIN, or null after saying what is wrong with it. */
export function chosenPin(form, err) {
  const pin = form.pin.value.trim();
  const problem = vault.pinProblem(pin);
  if (problem) { err.textContent = problem; form.pin.focus(); return null; }
  if (form.pin2.value.trim() !== pin) { err.textContent = 'The two PINs differ. Type the same PIN twice.'; form.pin2.focus(); return null; }
  return pin;
}

export function enrolScreen() {
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

export async function scanQr() {
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

export async function enrol(server, code, deviceLabel, pin) {
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

export function revokedScreen() {
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
export function unlockScreen() {
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
export function recoveryScreen() {
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
export function setPinScreen() {
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
