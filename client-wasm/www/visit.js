// The visit and person screens: every field an officer records, with the
// safeguarding guidance; each change goes through `edit`.

import { indicatorsFor } from './pkg/client_wasm.js';
import { h, label, indicatorGroup, NATIONALITIES, YES_NO, hhmm, plain, fmtPosition, toast, newId } from './common.js';
import { app, edit } from './state.js';
import { $, T, V } from './ui.js';
import { who, conflictBox, textField, choice, select, checklist, section, limitHint } from './widgets.js';
import { visitTitle } from './home.js';

export function visitScreen(vid) {
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
    v.status === 'returned' && v.returned ? h('div', { class: 'returned', 'data-test': 'returned', role: 'status' },
      h('strong', null, 'Returned for correction'), h('p', null, v.returned.reason || '(no reason given)'),
      h('small', null, `${who(v.returned.by)}, ${hhmm(v.returned.at_ms)}. Correct the visit, then resubmit it.`)) : null,
    v.voided ? h('p', { class: 'hint', 'data-test': 'voided' }, `Voided: ${v.void_reason || ''}. The record is kept; nothing more to submit.`,
      // Undoing a void is a supervisor's act (the server refuses it from an officer's phone).
      (app.meta.user?.role || 'officer') !== 'officer' ? h('button', { type: 'button', 'data-test': 'unvoid', onclick: () => edit((now) => app.store.unvoid(now, vid)) }, 'Undo void') : null) : null,
    section('place', vehicle ? 'Vehicle and stop' : 'Place', true,
      vehicle ? [
        tf('vrm', 'Registration (VRM)', { upper: true, max: 16 }),
        tf('vehicle_make', 'Make', { max: 64 }), tf('vehicle_model', 'Model', { max: 64 }),
        tf('vehicle_colour', 'Colour', { max: 32 }),
        tf('occupants', 'Occupants', { int: true, inputmode: 'numeric', type: 'number' }),
        select('Power used', f.stop_power, app.vocab.stop_power, set('stop_power'), 'stop_power'),
        choice('Search conducted', f.search_conducted, YES_NO, set('search_conducted'), 'search_conducted'),
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
      choice('Intelligence submitted', f.intelligence_submitted, YES_NO, set('intelligence_submitted'), 'intelligence_submitted'),
      tf('intel_reference', 'Intelligence reference', { max: 64 }),
      choice('Premises closed', f.premises_closed, YES_NO, set('premises_closed'), 'premises_closed'),
      choice('Follow-up required', f.follow_up_required, YES_NO, set('follow_up_required'), 'follow_up_required'),
      tf('summary', 'Summary', { multiline: true, max: 8000 })),
    section('notes', `Notes (${v.notes.length})`, v.notes.length > 0,
      h('ul', { class: 'notes' }, v.notes.map((n) => h('li', null, h('small', null, `${hhmm(n.at_ms)} ${who(n.by)}`), h('p', null, n.text)))),
      h('form', { class: 'note-form', onsubmit: (e) => { e.preventDefault(); const t = e.target.note.value.trim(); if (t) edit((now) => app.store.note(now, vid, t)); } },
        ((t) => [t, limitHint(t, 8000)])(h('textarea', { name: 'note', id: 'new-note', rows: 3, maxlength: 8000, 'aria-label': 'New note', placeholder: 'Add a note' })),
        h('button', { type: 'submit' }, 'Add note'))),
    h('div', { class: 'actions' },
      v.voided ? null : submitOrStatus(v, vid),
      v.voided ? null : !f.ended_at ? h('button', { type: 'button', class: 'big', onclick: () => edit((now) => set('ended_at')(now, V.time(now))) }, 'Mark visit ended') : h('p', { class: 'hint' }, `Ended ${hhmm(plain(f.ended_at.value))}`),
      // The server lets an officer void only a draft they recorded (a
      // supervisor's phone, any visit it holds): do not offer what it refuses.
      v.voided || (v.status !== 'draft' && (app.meta.user?.role || 'officer') === 'officer') ? null : h('button', { type: 'button', class: 'danger', onclick: () => {
        const why = prompt('Why void this visit? (the record is kept)');
        if (why && why.trim()) edit((now) => app.store.void(now, vid, why.trim().slice(0, 500)));
      } }, 'Void visit…')));
}

/**
 * Submit (a draft) or resubmit (a returned visit), after sync-core's checks:
 * problems that block are listed and nothing is written; warnings are shown
 * and the officer confirms. Other statuses: where the visit stands.
 */
function submitOrStatus(v, vid) {
  if (v.status !== 'draft' && v.status !== 'returned') {
    return h('p', { class: 'hint' }, `${label(v.status)}: still editable; changes sync as usual.`);
  }
  const op = (app.meta.operations || []).find((o) => o.id === v.operation);
  const dates = [op?.starts_on, op?.ends_on];
  const out = h('div', { class: 'checks', 'data-test': 'checks', role: 'alert' });
  const go = h('button', {
    type: 'button', class: 'primary big', 'data-test': 'submit',
    onclick: () => {
      const c = JSON.parse(app.store.checksJson(vid, ...dates));
      if (c.blocking.length) {
        out.replaceChildren(h('strong', null, 'Not yet: fix these first'), h('ul', null, c.blocking.map((p) => h('li', { 'data-code': p.code }, p.message))));
        return;
      }
      if (c.warnings.length && !confirm(`Before you submit:\n${c.warnings.map((w) => `• ${w.message}`).join('\n')}\n\nSubmit anyway?`)) {
        out.replaceChildren(h('strong', null, 'Check before submitting'), h('ul', null, c.warnings.map((w) => h('li', { 'data-code': w.code }, w.message))));
        return;
      }
      edit((now) => app.store.submit(now, vid, ...dates));
    },
  }, v.status === 'returned' ? 'Resubmit visit' : 'Submit visit');
  return h('div', null, go, out);
}

/** The indicators sync-core says apply to this kind, the kind's own first. */
export function indicatorsFirstForKind(kind) {
  const ids = JSON.parse(indicatorsFor(kind));
  const general = 'General signs';
  const own = ids.filter((i) => indicatorGroup(i) !== general && indicatorGroup(i) !== 'County lines');
  return [...own, ...ids.filter((i) => !own.includes(i))];
}

export function personLine(p) {
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

export async function addPerson(vid) {
  const pid = newId();
  const ok = await edit((now) => app.store.addPerson(now, vid, pid), { rerender: false });
  if (ok) location.hash = `#/visit/${vid}/person/${pid}`;
}

export function recordPosition(vid) {
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
export function guidance(vid, pid, p) {
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

export function personScreen(vid, pid) {
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
    choice('Interpreter used', f.interpreter_used, YES_NO, set('interpreter_used'), 'interpreter_used'),
    choice('Potential victim?', f.potential_victim, YES_NO, set('potential_victim'), 'potential_victim'),
    pv ? [
      h('h2', null, 'Safeguarding'),
      guidance(vid, pid, p),
      h('span', { class: 'label' }, 'Exploitation suspected'),
      checklist(app.vocab.exploitation_type, p.sets.exploitation_types, T.person(pid, 'exploitation_types'), vid, 'exploitation_types'),
      choice('County lines', f.county_lines, YES_NO, set('county_lines'), 'county_lines'),
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
      h('a', { href: `#/visit/${vid}`, class: 'button primary big', 'data-up': '' }, 'Done'),
      h('button', { type: 'button', class: 'danger', onclick: () => {
        if (confirm('Remove this person from the visit? (kept in the record history)')) {
          edit((now) => app.store.setField(now, vid, T.person(pid, 'removed'), V.bool(true)), { rerender: false }).then(() => { location.hash = `#/visit/${vid}`; });
        }
      } }, 'Remove person')));
}
