// The home screen: start a visit, and today's and earlier visits listed
// from the encrypted index (persist.js), which is kept up to date on each
// edit and pull, so the list shows without reading every visit.

import { h, label, hhmm, plain, newId } from './common.js';
import { app, edit, currentOperation } from './state.js';
import { londonDate, T, V } from './ui.js';
import { render } from './app.js';
import { persistText } from './settings.js';

export const QUICK_KINDS = ['hotel', 'car_wash', 'nail_bar', 'vehicle_stop'];
export const ICONS = { hotel: '🏨', car_wash: '🚿', nail_bar: '💅', vehicle_stop: '🚗' };

export function visitTitle(v) {
  const f = v.fields;
  const kind = plain(f.location_kind?.value) || 'other';
  const what = plain(f.premises_name?.value) || plain(f.vrm?.value) || plain(f.postcode?.value) || '';
  return `${label(kind)}${what ? ` · ${what}` : ''}`;
}

/** A visit's title from its index entry (kind, then premises, VRM or postcode). */
function entryTitle(e) {
  return `${label(e.kind)}${e.what ? ` · ${e.what}` : ''}`;
}

function card([id, e]) {
  return h('li', null, h('a', { class: 'visit', href: `#/visit/${id}`, 'data-test': 'visit-card', 'data-visit': id },
    h('span', { class: 'title' }, entryTitle(e)),
    h('span', { class: 'meta' },
      `${hhmm(e.started)} · ${e.persons} ${e.persons === 1 ? 'person' : 'people'}${e.pv ? ` · ${e.pv} potential victim${e.pv > 1 ? 's' : ''}` : ''}`),
    h('span', { class: 'badges' },
      h('span', { class: `badge ${e.status}` }, label(e.status)),
      e.voided ? h('span', { class: 'badge void' }, 'Voided') : null,
      e.conflicts ? h('span', { class: 'badge conflict' }, `${e.conflicts} conflict${e.conflicts > 1 ? 's' : ''}`) : null)));
}

/** The earlier visits, drawn when the list is first opened. */
function earlierList(earlier) {
  const details = h('details', { class: 'earlier' }, h('summary', null, `Earlier (${earlier.length})`));
  const fill = () => {
    if (details.open && !details.querySelector('ul')) details.append(h('ul', { class: 'visits' }, earlier.map(card)));
  };
  details.addEventListener('toggle', fill);
  return details;
}

export function homeScreen() {
  const op = currentOperation();
  const all = Object.entries(app.index?.visits || {}).sort(([, a], [, b]) => b.started - a.started);
  const today = londonDate(Date.now());
  const todays = [];
  const earlier = [];
  for (const entry of all) (londonDate(entry[1].started) === today ? todays : earlier).push(entry);
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
    earlier.length ? earlierList(earlier) : null,
    h('nav', { class: 'bottom' },
      h('a', { href: '#/summary', class: 'button' }, 'Day summary'),
      h('a', { href: '#/settings', class: 'button' }, 'This phone')),
    h('p', { class: `hint storage ${app.persisted === false ? 'warn-text' : ''}`, 'data-test': 'persisted' }, `Storage: ${persistText()}`));
}

export async function startVisit(kind) {
  const op = currentOperation();
  if (!op) return;
  const id = newId();
  const ok = await edit((now) => {
    app.store.createVisit(now, id, op.id, kind);
    if (op.force_area) app.store.setField(now, id, T.visit('force_area'), V.text(op.force_area));
    const me = app.meta.user?.display_name || app.meta.user?.username;
    if (me) app.store.add(now, id, T.visit('officers'), me.slice(0, 64));
  }, { rerender: false });
  if (ok) location.hash = `#/visit/${id}`;
}
