// The form widgets of the visit and person screens: text fields, choices,
// selects and checklists, each with its conflict box when officers differ.

import { h, label, indicatorGroup, hhmm, plain, showValue } from './common.js';
import { app, edit } from './state.js';
import { $, V } from './ui.js';

export function who(replica) {
  return replica === app.store.replicaId() ? 'this phone' : `device …${replica.slice(-4)}`;
}

// ------------------------------------------------------------ field widgets

/** A field's conflict: the competing values, each one tap to keep. */
export function conflictBox(fv, onPick) {
  if (!fv || !fv.conflict || fv.conflict.length === 0) return null;
  const all = [{ value: fv.value, by: fv.by, at_ms: fv.at_ms }, ...fv.conflict];
  return h('div', { class: 'conflict', role: 'group', 'data-test': 'conflict' },
    h('strong', null, '⚠ Conflict: officers recorded different values'),
    all.map((c) => h('button', { type: 'button', class: 'pick', onclick: () => onPick(c.value) },
      `Keep “${showValue(c.value)}”`, h('small', null, ` ${who(c.by)}, ${hhmm(c.at_ms)}`))));
}

export function textField(fv, text, opts = {}) {
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
  return h('div', { class: 'field' }, h('label', { for: id }, text), input, limitHint(input, opts.max),
    conflictBox(fv, (val) => edit((now) => opts.set(now, JSON.stringify(val)))));
}

/**
 * Says how close a text is to its limit where the officer types (from four
 * fifths of it), and that the limit is reached: the field never cuts text
 * without a word.
 */
export function limitHint(input, max) {
  if (!max || input.type === 'number') return null;
  const hint = h('small', { class: 'limit', id: `${input.id || input.name}-limit`, 'aria-live': 'polite', 'data-test': 'limit' });
  input.setAttribute('aria-describedby', hint.id);
  const show = () => {
    const n = input.value.length;
    hint.textContent = n >= max ? `Limit reached: ${max} characters. Anything longer is not kept.`
      : n >= max * 0.8 ? `${n} of ${max} characters` : '';
    hint.classList.toggle('full', n >= max);
  };
  input.addEventListener('input', show);
  show();
  return hint;
}

/** Big buttons for a small closed choice (age group, yes/no …). */
export function choice(text, fv, options, set, name) {
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

export function select(text, fv, ids, set, name) {
  const cur = plain(fv?.value) ?? '';
  const id = `s-${name}`;
  return h('div', { class: 'field' }, h('label', { for: id }, text),
    h('select', { id, name, onchange: (e) => edit((now) => set(now, V.text(e.target.value))) },
      h('option', { value: '' }, '—'),
      ids.map((i) => h('option', { value: i, selected: i === cur ? 'selected' : undefined }, label(i)))),
    conflictBox(fv, (val) => edit((now) => set(now, JSON.stringify(val)))));
}

/** A checklist over an add-wins set. */
export function checklist(ids, current, setJson, vid, name, groups = false) {
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
export function section(key, title, open, ...kids) {
  const isOpen = app.open[key] ?? open;
  return h('details', {
    class: 'card', open: isOpen ? 'open' : undefined, 'data-section': key,
    ontoggle: (e) => { app.open[key] = e.target.open; },
  }, h('summary', null, title), ...kids);
}
