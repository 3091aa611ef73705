// Aidant admin pages: operations, users and devices, review, conflicts,
// quarantine, the day summary with charts, and exports. No framework, no
// build step. Every piece of server text is inserted with textContent (the
// `h` helper), never as markup; the enrolment QR code (SVG from the server)
// is shown as an <img> data URL, where it cannot run anything.

import { h, fill, toast, label, showValue } from '../common.js';
import { renderReview, visitLine } from './review.js';

const TOKEN_KEY = 'aidant.admin.token';
const USER_KEY = 'aidant.admin.user';
const OP_KEY = 'aidant.admin.operation';

export const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  user: JSON.parse(sessionStorage.getItem(USER_KEY) || 'null'),
  operations: [],
  operation: sessionStorage.getItem(OP_KEY),
  names: null, // device id → display name (admins only)
  users: null, // user id → display name (admins only)
};

const $ = (id) => document.getElementById(id);
const isAdmin = () => state.user?.role === 'admin';

const SVG = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

const london = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London', weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
});
export const when = (ms) => (ms === null || ms === undefined ? '—' : london.format(new Date(ms)));
const dayLabel = (iso) => new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short' })
  .format(new Date(`${iso}T12:00:00Z`));

/** A sync-core Value (JSON) as text, times with the date (desks look across days). */
export const valueText = (v) => showValue(v, when);

// ---------------------------------------------------------------------------
// The API.

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(method, path, body) {
  const headers = {};
  if (state.token) headers.authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, 'network', `The server could not be reached (${e.message}).`);
  }
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!r.ok) {
    const err = new ApiError(r.status, data?.code || 'http', data?.message || `${r.status} ${r.statusText}`);
    if (r.status === 401 && path !== '/api/v1/login') signOut(err.message);
    throw err;
  }
  return data;
}

/** Runs `f`; shows any error's message in `where` (an element) or a toast. */
export async function guard(f, where) {
  if (where) where.textContent = '';
  try {
    return await f();
  } catch (e) {
    const msg = e instanceof ApiError ? e.message : `Something went wrong: ${e.message}`;
    if (where) where.textContent = msg;
    else toast(msg, 'error');
    return undefined;
  }
}

// ---------------------------------------------------------------------------
// Session.

function signOut(message) {
  state.token = null;
  state.user = null;
  state.names = null;
  state.users = null;
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
  showSignIn();
  if (message) $('signin-error').textContent = message;
}

function showSignIn() {
  $('signin').hidden = false;
  $('who').hidden = true;
  $('nav').hidden = true;
  $('opbar').hidden = true;
  $('view').replaceChildren();
  $('username').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const err = $('signin-error');
  const button = ev.target.querySelector('button');
  button.disabled = true;
  const r = await guard(() => api('POST', '/api/v1/login', {
    username: $('username').value.trim(), password: $('password').value,
  }), err);
  button.disabled = false;
  if (!r) return;
  if (r.user.role === 'officer') {
    err.textContent = 'These pages are for supervisors and admins; officers use the field app on their phone.';
    return;
  }
  state.token = r.token;
  state.user = r.user;
  sessionStorage.setItem(TOKEN_KEY, r.token);
  sessionStorage.setItem(USER_KEY, JSON.stringify(r.user));
  $('password').value = '';
  await start();
}

async function start() {
  $('signin').hidden = true;
  $('who').hidden = false;
  $('who-name').textContent = `${state.user.display_name} (${state.user.role})`;
  $('nav').hidden = false;
  for (const a of document.querySelectorAll('#nav a[data-admin]')) a.hidden = !isAdmin();
  await loadOperations();
  route();
}

async function loadOperations() {
  const ops = await guard(() => api('GET', '/api/v1/operations'));
  if (!ops) return;
  state.operations = ops;
  if (!ops.some((o) => o.id === state.operation)) state.operation = ops[0]?.id || null;
  const sel = $('operation');
  sel.replaceChildren(...ops.map((o) => h('option', { value: o.id, selected: o.id === state.operation },
    `${o.name} · ${o.force_area} · ${o.starts_on} to ${o.ends_on}`)));
  $('opbar').hidden = ops.length === 0;
  if (state.operation) sessionStorage.setItem(OP_KEY, state.operation);
}

const currentOp = () => state.operations.find((o) => o.id === state.operation);

/** Device id → "PC 4521 Jones" (admins can list devices and users). */
async function names() {
  if (state.names || !isAdmin()) return state.names || new Map();
  const [devices, users] = await Promise.all([api('GET', '/api/v1/devices'), api('GET', '/api/v1/users')]);
  const byUser = new Map(users.map((u) => [u.id, u.display_name]));
  state.names = new Map(devices.map((d) => [d.id, byUser.get(d.user_id) || d.label]));
  return state.names;
}
/** User id → display name (admins; others see ids). */
async function userNames() {
  if (!isAdmin()) return new Map([[state.user.id, state.user.display_name]]);
  if (!state.users) state.users = new Map((await api('GET', '/api/v1/users')).map((u) => [u.id, u.display_name]));
  return state.users;
}
const who = (map, replica) => map.get(replica) || (replica ? `device ${replica.slice(0, 8)}` : 'unknown');

// ---------------------------------------------------------------------------
// Routing.

const SECTIONS = {
  summary: renderSummary,
  review: renderReview,
  conflicts: renderConflicts,
  exports: renderExports,
  operations: renderOperations,
  people: renderPeople,
  quarantine: renderQuarantine,
};
const ADMIN_ONLY = new Set(['operations', 'people', 'quarantine']);

function route() {
  if (!state.token) return;
  let name = location.hash.slice(1) || 'summary';
  if (!SECTIONS[name] || (ADMIN_ONLY.has(name) && !isAdmin())) name = 'summary';
  if (!state.operation && !ADMIN_ONLY.has(name)) name = isAdmin() ? 'operations' : 'summary';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = $('view');
  view.replaceChildren();
  const section = h('section', { id: `section-${name}` });
  view.append(section);
  SECTIONS[name](section);
}

export function needOperation(section) {
  if (state.operation) return false;
  section.append(h('h1', null, 'No operation yet'),
    h('p', { class: 'hint' }, isAdmin() ? 'Create an operation first (Operations).' : 'You are not a member of any operation yet.'));
  return true;
}

function rangeInputs(prefix) {
  const op = currentOp();
  const from = h('input', { type: 'date', id: `${prefix}-from`, value: op?.starts_on || '' });
  const to = h('input', { type: 'date', id: `${prefix}-to`, value: op?.ends_on || '' });
  const el = h('div', { class: 'grid' },
    h('div', { class: 'field' }, h('label', { for: from.id }, 'From'), from),
    h('div', { class: 'field' }, h('label', { for: to.id }, 'To'), to));
  return { el, from, to };
}

// ---------------------------------------------------------------------------
// Summary and charts.

/** A horizontal bar chart as inline SVG. `series` = [{ key, label, cls }]. */
function barChart(caption, rows, series = [{ key: 'value', label: caption, cls: '' }]) {
  const fig = h('figure', { class: 'chart' }, h('figcaption', null, caption));
  if (!rows.length) {
    fig.append(h('p', { class: 'hint' }, 'Nothing recorded.'));
    return fig;
  }
  const W = 320;
  const rowH = 20 + 14 * series.length;
  const max = Math.max(1, ...rows.flatMap((r) => series.map((sr) => r[sr.key] || 0)));
  const svg = s('svg', { viewBox: `0 0 ${W} ${rows.length * rowH + 4}`, role: 'img', 'aria-label': caption });
  rows.forEach((r, i) => {
    const y = i * rowH;
    svg.append(s('text', { x: 0, y: y + 14 }, r.label));
    series.forEach((sr, j) => {
      const v = r[sr.key] || 0;
      const w = Math.max(v > 0 ? 2 : 0, Math.round((v / max) * (W - 44)));
      const by = y + 19 + j * 14;
      const bar = s('rect', { class: `bar ${sr.cls}`, x: 0, y: by, width: w, height: 11, rx: 2 });
      bar.append(s('title', {}, `${r.label}: ${v} ${sr.label}`));
      svg.append(bar, s('text', { class: 'v', x: w + 4, y: by + 10 }, String(v)));
    });
  });
  fig.append(svg);
  if (series.length > 1) {
    fig.append(h('div', { class: 'legend' }, series.map((sr) => h('span', null,
      h('i', { class: `key-${sr.cls || 'main'}`, style: `background:${sr.cls === 'alt' ? '#b3261e' : sr.cls === 'alt2' ? '#7a4100' : '#0b2545'}` }),
      sr.label))));
  }
  return fig;
}

const entries = (obj) => Object.entries(obj || {}).sort((a, b) => b[1] - a[1]);
const sum = (obj) => Object.values(obj || {}).reduce((a, b) => a + b, 0);

function tiles(t) {
  const pv = t.potential_victims || {};
  const items = [
    ['Visits', t.visits], ['Vehicles stopped', t.vehicles_stopped], ['People spoken to', t.people_spoken_to],
    ['Potential victims', (pv.adult || 0) + (pv.child || 0) + (pv.unknown || 0)],
    ['of whom children', pv.child || 0], ['Safeguarded', t.safeguarded], ['NRM referrals', t.nrm_referrals],
    ['Duty to Notify', t.duty_to_notify], ['Arrests', sum(t.arrests_by_offence)],
    ['Officers on duty', (t.officers_on_duty || []).length], ['Voided', t.voided],
    ['Visits with conflicts', t.visits_with_conflicts],
  ];
  return h('div', { class: 'tiles', id: 'summary-tiles' }, items.map(([k, v]) => h('div', { class: 'tile' },
    h('div', { class: 'n' }, String(v ?? 0)), h('div', { class: 't' }, k))));
}

function renderSummary(section) {
  if (needOperation(section)) return;
  const range = rangeInputs('sum');
  const err = h('p', { class: 'error', role: 'alert' });
  const out = h('div', { id: 'summary-out' });
  const load = async () => {
    out.replaceChildren(h('p', { class: 'hint' }, 'Loading…'));
    const q = new URLSearchParams({ from: range.from.value, to: range.to.value });
    const r = await guard(() => api('GET', `/api/v1/operations/${state.operation}/summary?${q}`), err);
    if (!r) { out.replaceChildren(); return; }
    const t = r.total || {};
    const days = r.days || [];
    const agencies = t.partner_agencies || [];
    const byTeam = Object.entries(r.by_team || {});
    const byForce = Object.entries(r.by_force_area || {});
    const pvDay = (d) => ({
      label: dayLabel(d.date), adult: d.potential_victims?.adult || 0, child: d.potential_victims?.child || 0,
      unknown: d.potential_victims?.unknown || 0,
    });
    const outside = r.outside_operation_dates || [];
    const outsideCount = outside.reduce((n, d) => n + d.visits, 0);
    fill(out,
      h('p', { class: 'hint' }, `${r.from} to ${r.to}. Voided visits are not counted; provisional until every device has synced.`),
      outsideCount ? h('p', { class: 'warn-note', 'data-test': 'outside-dates', role: 'note' },
        `${outsideCount} visit${outsideCount === 1 ? ' was' : 's were'} recorded on days outside the operation's dates `,
        `(${outside.map((d) => `${d.day}: ${d.visits}`).join(', ')}). `,
        'They are not in a summary of the operation\'s days: choose those days above to include them.') : null,
      tiles(t),
      h('div', { class: 'charts' },
        barChart('Visits per day', days.map((d) => ({ label: dayLabel(d.date), visits: d.visits, vehicles: d.vehicles_stopped })),
          [{ key: 'visits', label: 'visits', cls: '' }, { key: 'vehicles', label: 'of which vehicle stops', cls: 'alt2' }]),
        barChart('Premises visited by kind', entries(t.visits_by_kind).map(([k, v]) => ({ label: label(k), value: v }))),
        barChart('Potential victims per day', days.map(pvDay),
          [{ key: 'adult', label: 'adults', cls: '' }, { key: 'child', label: 'children', cls: 'alt' }, { key: 'unknown', label: 'age unknown', cls: 'alt2' }]),
        barChart('Arrests by offence', entries(t.arrests_by_offence).map(([k, v]) => ({ label: label(k), value: v }))),
        barChart('People spoken to, by team', byTeam.map(([k, v]) => ({ label: k, value: v.people_spoken_to || 0 }))),
      ),
      h('h2', null, 'Partner agencies'),
      h('p', null, agencies.length ? agencies.map(label).join(', ') : 'None recorded.'),
      byForce.length > 1 ? [h('h2', null, 'By force area'), summaryTable(byForce)] : null,
      byTeam.length ? [h('h2', null, 'By team'), summaryTable(byTeam)] : null,
    );
  };
  section.append(h('h1', null, 'Summary'), h('div', { class: 'panel' }, range.el,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'button', id: 'summary-load', onclick: load }, 'Show summary')), err), out);
  load();
}

function summaryTable(rows) {
  const pv = (d) => (d.potential_victims?.adult || 0) + (d.potential_victims?.child || 0) + (d.potential_victims?.unknown || 0);
  return h('div', { class: 'scroll' }, h('table', null,
    h('thead', null, h('tr', null, h('th', null, 'Name'), ['Visits', 'People', 'Potential victims', 'NRM', 'DtN', 'Arrests']
      .map((c) => h('th', { class: 'num' }, c)))),
    h('tbody', null, rows.map(([name, d]) => h('tr', null, h('td', null, name),
      [d.visits, d.people_spoken_to, pv(d), d.nrm_referrals, d.duty_to_notify, sum(d.arrests_by_offence)]
        .map((v) => h('td', { class: 'num' }, String(v ?? 0))))))));
}

// ---------------------------------------------------------------------------
// Conflicts.

/** Every field in conflict in a VisitView: { target, name, versions[] }. */
function conflictsOf(v, personLabel) {
  const out = [];
  const add = (target, name, fv) => {
    if (!fv?.conflict?.length) return;
    out.push({ target, name, versions: [{ value: fv.value, by: fv.by, at_ms: fv.at_ms }, ...fv.conflict] });
  };
  for (const [k, fv] of Object.entries(v.fields || {})) add({ visit: k }, label(k), fv);
  for (const [k, fv] of Object.entries(v.arrests || {})) add({ arrests: k }, `Arrests for ${label(k).toLowerCase()}`, fv);
  (v.persons || []).forEach((p, i) => {
    for (const [k, fv] of Object.entries(p.fields || {})) add({ person: [p.id, k] }, `${personLabel(p, i)}: ${label(k).toLowerCase()}`, fv);
  });
  return out;
}

async function renderConflicts(section) {
  if (needOperation(section)) return;
  const err = h('p', { class: 'error', role: 'alert' });
  const list = h('ul', { class: 'list', id: 'conflict-list' });
  section.append(h('h1', null, 'Conflicts to resolve'),
    h('p', { class: 'hint' }, 'Two phones changed the same field offline. Both values are kept until you choose one; your choice replaces every competing value on every phone.'),
    err, list);
  const rows = await guard(() => api('GET', `/api/v1/visits?operation=${state.operation}&limit=5000`), err);
  if (!rows) return;
  const todo = rows.filter((v) => v.conflicts > 0);
  if (!todo.length) { list.replaceWith(h('p', { class: 'ok' }, 'No conflicts.')); return; }
  const nameMap = await guard(names) || new Map();
  for (const v of todo) {
    const li = h('li', { 'data-visit': v.id });
    const reason = h('input', { class: 'open-reason', placeholder: 'Why are you opening this record? (audited)', 'aria-label': 'Reason for reading', value: 'Resolving a sync conflict' });
    const rowErr = h('p', { class: 'error', role: 'alert' });
    const body = h('div');
    const open = async () => {
      const view = await guard(() => api('GET', `/api/v1/visits/${v.id}?reason=${encodeURIComponent(reason.value.trim())}`), rowErr);
      if (!view) return;
      showConflicts(li, v, view, body, nameMap);
    };
    li.append(visitLine(v), h('div', { class: 'actions' }, reason,
      h('button', { type: 'button', class: 'show-conflicts', onclick: open }, 'Show competing values')), rowErr, body);
    list.append(li);
  }
}

function showConflicts(li, row, view, body, nameMap) {
  const personLabel = (p, i) => {
    const n = p.fields?.name?.value?.text;
    return n ? `Person ${i + 1} (${n})` : `Person ${i + 1}`;
  };
  const fields = conflictsOf(view, personLabel);
  if (!fields.length) {
    body.replaceChildren(h('p', { class: 'ok' }, 'No conflict left on this visit.'));
    return;
  }
  body.replaceChildren();
  fields.forEach((c, fi) => {
    const group = `c-${row.id}-${fi}`;
    const box = h('fieldset', { class: 'panel conflict' }, h('legend', { class: 'title' }, c.name));
    c.versions.forEach((ver, vi) => {
      box.append(h('label', { class: 'choice' },
        h('input', { type: 'radio', name: group, value: String(vi), checked: vi === 0 }),
        h('span', null, h('span', { class: 'val' }, valueText(ver.value)), h('br'),
          h('span', { class: 'hint' }, `${who(nameMap, ver.by)}, ${when(ver.at_ms)}${vi === 0 ? ' — shown now' : ''}`))));
    });
    const why = h('input', { class: 'resolve-reason', placeholder: 'Why this value? (audited)', 'aria-label': 'Reason for the choice' });
    const err = h('p', { class: 'error', role: 'alert' });
    const btn = h('button', {
      type: 'button', class: 'primary resolve',
      onclick: async () => {
        const picked = box.querySelector(`input[name="${group}"]:checked`);
        if (!why.value.trim()) { err.textContent = 'Give a reason for the choice: it is kept in the audit trail.'; why.focus(); return; }
        btn.disabled = true;
        const r = await guard(() => api('POST', `/api/v1/visits/${row.id}/resolve`, {
          reason: why.value.trim(), target: c.target, value: c.versions[Number(picked.value)].value,
        }), err);
        btn.disabled = false;
        if (!r) return;
        toast(`${c.name}: set to ${valueText(c.versions[Number(picked.value)].value)}.`);
        row.conflicts = r.conflicts;
        li.firstChild.replaceWith(visitLine(row));
        showConflicts(li, row, r, body, nameMap);
      },
    }, 'Keep this value');
    box.append(h('div', { class: 'actions' }, why, btn), err);
    body.append(box);
  });
}

// ---------------------------------------------------------------------------
// Exports.

function renderExports(section) {
  if (needOperation(section)) return;
  const range = rangeInputs('exp');
  // A CSV holds one table: visits (no names), or persons (with names and
  // dates of birth when an admin asks for them). The other formats hold both.
  const formats = [['csv', 'CSV — visits'], ['csv-persons', 'CSV — persons'], ['xlsx', 'XLSX'], ['json', 'JSON'], ['html', 'HTML']];
  const format = h('select', { id: 'exp-format' }, formats.map(([v, label]) => h('option', { value: v }, label)));
  const reason = h('input', { id: 'exp-reason', placeholder: 'e.g. Weekly return to the NCA', maxlength: '500' });
  const identifying = h('input', { type: 'checkbox', id: 'exp-identifying' });
  const tableNote = h('p', { class: 'hint', id: 'exp-table-note', role: 'status' });
  // Names are in the persons table: asking for them with the visits CSV
  // would give a file marked identifying that holds none.
  const matchTable = () => {
    const switched = identifying.checked && format.value === 'csv';
    if (switched) format.value = 'csv-persons';
    tableNote.textContent = switched ? 'Names and dates of birth are in the persons table: switched to CSV — persons.' : '';
  };
  identifying.addEventListener('change', matchTable);
  format.addEventListener('change', matchTable);
  const err = h('p', { class: 'error', role: 'alert' });
  const done = h('p', { class: 'ok', id: 'exp-done', role: 'status' });
  const list = h('div', { id: 'exports-list' });
  const go = h('button', { type: 'button', class: 'primary', id: 'exp-go' }, 'Export');
  go.addEventListener('click', async () => {
    done.textContent = '';
    err.textContent = '';
    if (!reason.value.trim()) { err.textContent = 'Say why you are exporting: the reason is audited with the export.'; reason.focus(); return; }
    const [fmt, table] = format.value === 'csv-persons' ? ['csv', 'persons'] : [format.value, null];
    const q = new URLSearchParams({ from: range.from.value, to: range.to.value, format: fmt, reason: reason.value.trim() });
    if (table) q.set('table', table);
    if (identifying.checked) q.set('identifying', 'true');
    go.disabled = true;
    done.textContent = 'Preparing the file…';
    await guard(async () => {
      const r = await fetch(`/api/v1/operations/${state.operation}/export?${q}`, { headers: { authorization: `Bearer ${state.token}` } });
      if (!r.ok) {
        let b = null;
        try { b = await r.json(); } catch { /* not JSON */ }
        if (r.status === 401) signOut(b?.message);
        throw new ApiError(r.status, b?.code, b?.message || `${r.status} ${r.statusText}`);
      }
      const blob = await r.blob();
      const cd = r.headers.get('content-disposition') || '';
      const name = (cd.match(/filename="([^"]+)"/) || [])[1] || `aidant-export.${fmt}`;
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      done.textContent = `Saved ${name} (${blob.size.toLocaleString('en-GB')} bytes).`;
    }, err);
    if (err.textContent) done.textContent = '';
    go.disabled = false;
    loadExports(list);
  });
  section.append(h('h1', null, 'Exports'),
    h('div', { class: 'panel' }, range.el,
      h('div', { class: 'grid' },
        h('div', { class: 'field' }, h('label', { for: format.id }, 'Format'), format),
        h('div', { class: 'field' }, h('label', { for: reason.id }, 'Reason (audited)'), reason)),
      isAdmin() ? h('label', { class: 'check', for: identifying.id }, identifying, 'Include names and dates of birth (victim-identifying)') : null,
      tableNote,
      h('p', { class: 'hint' }, 'Exports leave out names and dates of birth unless an admin asks for them. Every export is logged with who, when and why.'),
      h('div', { class: 'actions' }, go), err, done),
    h('h2', null, 'Stored exports'), list);
  loadExports(list);
}

async function loadExports(list, tries = 0) {
  const err = h('p', { class: 'error', role: 'alert' });
  const rows = await guard(() => api('GET', `/api/v1/exports?operation=${state.operation}&limit=50`), err);
  if (!rows) { list.replaceChildren(err); return; }
  // The newest export finishes (and gets its hash) just after the download.
  if (rows[0]?.status === 'running' && tries < 20) setTimeout(() => loadExports(list, tries + 1), 500);
  if (!rows.length) { list.replaceChildren(h('p', { class: 'hint' }, 'No exports yet.')); return; }
  const users = await guard(userNames) || new Map();
  const actor = (a) => a.replace(/user:([0-9a-f-]{36})/, (m, id) => users.get(id) || m);
  fill(list, h('ul', { class: 'list' }, rows.map((x) => h('li', { class: 'export' },
    h('div', { class: 'row' },
      h('span', { class: 'title' }, `${x.format.toUpperCase()} · ${x.from} to ${x.to}`),
      h('span', { class: `badge ${x.completed ? 'good' : x.status === 'running' ? 'warn' : 'bad'}` }, x.status),
      x.identifying ? h('span', { class: 'badge bad' }, 'identifying') : null,
      h('span', null, new Date(x.created_at).toLocaleString('en-GB', { timeZone: 'Europe/London' }))),
    h('dl', { class: 'kv' },
      h('dt', null, 'Reason'), h('dd', null, x.reason),
      h('dt', null, 'By'), h('dd', null, actor(x.actor)),
      h('dt', null, 'Rows, size'), h('dd', null, `${x.rows ?? '—'} rows, ${x.bytes === null || x.bytes === undefined ? '—' : `${x.bytes.toLocaleString('en-GB')} bytes`}`),
      h('dt', null, 'SHA-256'), h('dd', { class: 'mono sha' }, x.sha256 || '—'))))));
}

// ---------------------------------------------------------------------------
// Operations (admins).

async function renderOperations(section) {
  const err = h('p', { class: 'error', role: 'alert' });
  const f = {
    name: h('input', { id: 'op-name', required: true, maxlength: '200', placeholder: 'Operation Aidant — labour exploitation week' }),
    force: h('input', { id: 'op-force', required: true, maxlength: '100', placeholder: 'Thames Valley' }),
    starts: h('input', { id: 'op-starts', type: 'date', required: true }),
    ends: h('input', { id: 'op-ends', type: 'date', required: true }),
  };
  const form = h('form', { class: 'panel' }, h('h2', null, 'New operation'),
    h('div', { class: 'grid' },
      h('div', { class: 'field' }, h('label', { for: 'op-name' }, 'Name'), f.name),
      h('div', { class: 'field' }, h('label', { for: 'op-force' }, 'Force area'), f.force),
      h('div', { class: 'field' }, h('label', { for: 'op-starts' }, 'First day'), f.starts),
      h('div', { class: 'field' }, h('label', { for: 'op-ends' }, 'Last day'), f.ends)),
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Create operation')), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const op = await guard(() => api('POST', '/api/v1/operations', {
      name: f.name.value.trim(), force_area: f.force.value.trim(), starts_on: f.starts.value, ends_on: f.ends.value,
    }), err);
    if (!op) return;
    toast(`Operation ${op.name} created.`);
    state.operation = op.id;
    await loadOperations();
    route();
  });
  const list = h('ul', { class: 'list', id: 'operations-list' }, state.operations.map((o) => h('li', null,
    h('div', { class: 'row' }, h('span', { class: 'title' }, o.name), h('span', null, o.force_area),
      h('span', null, `${o.starts_on} to ${o.ends_on}`),
      o.id === state.operation ? h('span', { class: 'badge good' }, 'selected')
        : h('button', { type: 'button', class: 'small', onclick: () => { selectOperation(o.id); route(); } }, 'Select')))));
  section.append(h('h1', null, 'Operations'), state.operations.length ? list : h('p', { class: 'hint' }, 'No operations yet.'), form);
}

function selectOperation(id) {
  state.operation = id;
  sessionStorage.setItem(OP_KEY, id);
  $('operation').value = id;
}

// ---------------------------------------------------------------------------
// Users and devices (admins).

async function renderPeople(section) {
  const err = h('p', { class: 'error', role: 'alert' });
  section.append(h('h1', null, 'Users and devices'), err);
  const data = await guard(() => Promise.all([api('GET', '/api/v1/users'), api('GET', '/api/v1/devices')]), err);
  if (!data) return;
  const [users, devices] = data;
  const byUser = new Map(users.map((u) => [u.id, u]));

  // New user.
  const f = {
    username: h('input', { id: 'u-username', required: true, autocapitalize: 'none', spellcheck: 'false', placeholder: 'pc4521', pattern: '[a-z0-9._\\-]{3,64}' }),
    display: h('input', { id: 'u-display', required: true, placeholder: 'PC 4521 Jones' }),
    role: h('select', { id: 'u-role' }, ['officer', 'supervisor', 'admin'].map((r) => h('option', { value: r }, label(r)))),
    password: h('input', { id: 'u-password', type: 'password', autocomplete: 'new-password', placeholder: 'Supervisors and admins: 12+ characters' }),
    member: h('input', { id: 'u-member', type: 'checkbox', checked: !!state.operation }),
  };
  const formErr = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'panel', id: 'new-user' }, h('h2', null, 'New user'),
    h('div', { class: 'grid' },
      h('div', { class: 'field' }, h('label', { for: 'u-username' }, 'Username'), f.username),
      h('div', { class: 'field' }, h('label', { for: 'u-display' }, 'Name shown'), f.display),
      h('div', { class: 'field' }, h('label', { for: 'u-role' }, 'Role'), f.role),
      h('div', { class: 'field' }, h('label', { for: 'u-password' }, 'Password (not for officers)'), f.password)),
    state.operation ? h('label', { class: 'check', for: 'u-member' }, f.member, `Add to ${currentOp()?.name || 'the selected operation'}`) : null,
    h('div', { class: 'actions' }, h('button', { class: 'primary', type: 'submit' }, 'Create user')), formErr);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { username: f.username.value.trim(), display_name: f.display.value.trim(), role: f.role.value };
    if (f.password.value) body.password = f.password.value;
    const u = await guard(async () => {
      const created = await api('POST', '/api/v1/users', body);
      if (f.member.checked && state.operation) await api('POST', `/api/v1/operations/${state.operation}/members`, { user_id: created.id });
      return created;
    }, formErr);
    if (!u) return;
    toast(`User ${u.username} created.`);
    state.names = null;
    state.users = null;
    route();
  });

  // Users with "issue enrolment code".
  const userList = h('ul', { class: 'list', id: 'users-list' }, users.map((u) => {
    const out = h('div');
    const rowErr = h('p', { class: 'error', role: 'alert' });
    const issue = h('button', {
      type: 'button', class: 'small issue-code',
      onclick: async () => {
        const c = await guard(() => api('POST', `/api/v1/users/${u.id}/enrolment-codes`), rowErr);
        if (!c) return;
        const expires = h('p', { class: 'hint' }, `One use only; expires ${new Date(c.expires_at).toLocaleString('en-GB', { timeZone: 'Europe/London' })}.`);
        // A QR code only when the server knows its public address; otherwise
        // the code as text and the server's reason (`qr_message`).
        if (c.qr_svg) {
          const img = h('img', { class: 'qr-img', alt: `QR code to enrol a phone for ${u.display_name}`,
            src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(c.qr_svg)}` });
          out.replaceChildren(h('div', { class: 'panel qr' }, img, h('div', null,
            h('p', null, 'Scan with the phone, or type the code in the field app:'),
            h('p', { class: 'code enrol-code' }, c.code), expires,
            h('p', { class: 'mono' }, c.enrol_url))));
        } else {
          out.replaceChildren(h('div', { class: 'panel qr' }, h('div', null,
            h('p', null, 'Type the code in the field app:'),
            h('p', { class: 'code enrol-code' }, c.code), expires,
            h('p', { class: 'hint no-qr', role: 'note' }, c.qr_message || 'No QR code: the server has no public address (--public-url).'))));
        }
      },
    }, 'Issue enrolment code');
    return h('li', { 'data-user': u.username },
      h('div', { class: 'row' }, h('span', { class: 'title' }, u.display_name), h('span', { class: 'mono' }, u.username),
        h('span', { class: 'badge' }, u.role), issue), rowErr, out);
  }));

  // Devices with "recovery code" and "revoke" (lost or reassigned).
  const deviceList = h('ul', { class: 'list', id: 'devices-list' }, devices.map((d) => {
    const rowErr = h('p', { class: 'error', role: 'alert' });
    const owner = byUser.get(d.user_id);
    const li = h('li', { 'data-device': d.id });
    const panel = h('div');
    const revoke = d.revoked_at ? h('span', { class: 'badge bad' }, `revoked${d.revoke_mode === 'reassigned' ? ' (reassigned)' : d.revoke_mode === 'lost' ? ' (lost or stolen)' : ''} ${new Date(d.revoked_at).toLocaleDateString('en-GB')}`)
      : h('button', { type: 'button', class: 'small danger revoke', onclick: () => fill(panel, revokeChoice(d, rowErr, panel)) }, 'Revoke…');
    const recovery = h('button', { type: 'button', class: 'small recovery', onclick: () => fill(panel, recoveryForm(d, rowErr)) }, 'Recovery code');
    li.append(h('div', { class: 'row' }, h('span', { class: 'title' }, d.label), h('span', null, owner ? owner.display_name : d.user_id),
      h('span', { class: 'hint' }, d.last_seen_at ? `last seen ${new Date(d.last_seen_at).toLocaleString('en-GB', { timeZone: 'Europe/London' })}` : 'never seen'),
      recovery, revoke), rowErr, panel);
    return li;
  }));
  section.append(form, h('h2', null, `Users (${users.length})`), userList, h('h2', null, `Devices (${devices.length})`),
    devices.length ? deviceList : h('p', { class: 'hint' }, 'No devices enrolled yet.'));
}

/**
 * Revoking a phone says why: lost or stolen (it erases itself at its next
 * request, sending nothing more) or reassigned (it hands in its unsynced
 * changes first, then erases itself).
 */
function revokeChoice(d, rowErr, panel) {
  const go = (mode, done) => async () => {
    const ok = await guard(() => api('POST', `/api/v1/devices/${d.id}/revoke`, { mode }), rowErr);
    if (ok !== undefined) { toast(done); route(); }
  };
  return h('div', { class: 'panel revoke-choice' },
    h('p', null, `Revoke ${d.label}? It stops syncing at its next request.`),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'small danger', 'data-mode': 'lost', onclick: go('lost', `${d.label} revoked as lost: it erases itself at its next request.`) },
        'Lost or stolen: erase it at once'),
      h('button', { type: 'button', class: 'small', 'data-mode': 'reassigned', onclick: go('reassigned', `${d.label} revoked as reassigned: it hands in its unsynced changes, then erases itself.`) },
        'Reassigned: hand in its changes, then erase'),
      h('button', { type: 'button', class: 'small', onclick: () => panel.replaceChildren() }, 'Cancel')));
}

/**
 * The phone's recovery code, read with a reason (audited): the officer
 * types it on a phone locked out by wrong PINs, or that forgot its PIN.
 */
function recoveryForm(d, rowErr) {
  const reason = h('input', { class: 'recovery-reason', placeholder: 'Why? e.g. officer locked out, PIN forgotten (audited)', 'aria-label': 'Reason for the recovery code', maxlength: '500' });
  const out = h('div');
  const show = async () => {
    if (!reason.value.trim()) { rowErr.textContent = 'Say why you need the recovery code: the reason is kept in the audit trail.'; reason.focus(); return; }
    const r = await guard(() => api('POST', `/api/v1/devices/${d.id}/recovery-code`, { reason: reason.value.trim() }), rowErr);
    if (!r) return;
    fill(out, h('p', null, `Read this to the officer of ${d.label}; they type it on the phone's lock screen and choose a new PIN:`),
      h('p', { class: 'code recovery-code' }, r.code),
      h('p', { class: 'hint' }, 'Your read of this code is in the audit trail. It unlocks only that phone, only its own copy.'));
  };
  return h('div', { class: 'panel recovery-panel' },
    h('div', { class: 'actions' }, reason, h('button', { type: 'button', class: 'small', onclick: show }, 'Show recovery code')), out);
}

// ---------------------------------------------------------------------------
// Quarantine (admins).

async function renderQuarantine(section) {
  const err = h('p', { class: 'error', role: 'alert' });
  section.append(h('h1', null, 'Quarantined ops'),
    h('p', { class: 'hint' }, 'Ops the server refused, newest first. They never stopped the rest of their batch; each says why.'), err);
  const rows = await guard(() => api('GET', '/api/v1/admin/quarantine?limit=200'), err);
  if (!rows) return;
  if (!rows.length) { section.append(h('p', { class: 'ok' }, 'Nothing in quarantine.')); return; }
  section.append(h('ul', { class: 'list', id: 'quarantine-list' }, rows.map((q) => h('li', null,
    h('div', { class: 'row' }, h('span', { class: 'badge bad' }, q.code), h('span', null, q.message),
      h('span', { class: 'hint' }, new Date(q.received_at).toLocaleString('en-GB', { timeZone: 'Europe/London' }))),
    h('div', { class: 'mono' }, `device ${q.device_id || '—'} · op ${q.replica ? `${q.replica}:${q.seq}` : 'unreadable'}`),
    h('pre', { class: 'body' }, q.body)))));
}

// ---------------------------------------------------------------------------
// Start.

$('signin-form').addEventListener('submit', signIn);
$('sign-out').addEventListener('click', () => signOut());
$('operation').addEventListener('change', (e) => { selectOperation(e.target.value); route(); });
window.addEventListener('hashchange', route);
if (state.token && state.user) {
  api('GET', '/api/v1/me').then((me) => { state.user = me.user; return start(); }).catch(() => { /* signOut already shown */ });
} else {
  showSignIn();
}
