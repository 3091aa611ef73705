// The review page of the admin pages: visits awaiting review, each with
// what a supervisor must see before opening it (place, who recorded it,
// potential victims, the checks before submit), the case in full after the
// audited reason prompt, and Mark reviewed / Return for correction.

import { h, fill, toast, label } from '../common.js';
import { state, when, valueText, api, guard, needOperation } from './admin.js';

export function visitLine(v) {
  const b = v.brief || {};
  const pv = b.potential_victims || { adult: 0, child: 0, unknown: 0 };
  const victims = pv.adult + pv.child + pv.unknown;
  return h('div', { class: 'row' },
    h('span', { class: 'title' }, label(v.location_kind || 'other'), b.place ? ` · ${b.place}` : ''),
    h('span', null, when(v.started_at)),
    b.recorded_by?.length ? h('span', { 'data-test': 'recorded-by' }, b.recorded_by.join(', ')) : null,
    pv.child ? h('span', { class: 'badge bad', 'data-test': 'child' }, `child ×${pv.child}`) : null,
    victims ? h('span', { class: 'badge warn', 'data-test': 'victims' },
      `${victims} potential victim${victims === 1 ? '' : 's'} · NRM ${b.nrm_referrals || 0} · DtN ${b.duty_to_notify || 0}`) : null,
    v.conflicts > 0 ? h('span', { class: 'badge warn' }, `${v.conflicts} conflict${v.conflicts === 1 ? '' : 's'}`) : null,
    v.voided ? h('span', { class: 'badge bad' }, 'voided') : null,
    v.round > 0 ? h('span', { class: 'badge warn' }, 'resubmitted') : null,
    h('span', { class: 'mono' }, v.id.slice(0, 8)));
}

/** sync-core's checks before submit, as the server keeps them per visit. */
function checksLine(v) {
  const all = [...(v.blocking || []), ...(v.warnings || [])];
  if (!all.length) return null;
  return h('ul', { class: 'checks', 'data-test': 'checks' }, all.map((c) => h('li', { 'data-code': c.code, class: c.severity === 'blocking' ? 'bad' : 'warn' }, c.message)));
}

/**
 * Everything a supervisor signs off: the place, each person (age group by
 * sync-core's rule, potential victim, NRM, Duty to Notify, safeguarding
 * actions, indicators), offences and arrests, agencies, officers, notes,
 * and why it was returned or voided. Shown only after the audited read.
 */
function caseDetail(v) {
  const f = v.fields || {};
  const sets = v.sets || {};
  const list = (ids) => (ids && ids.length ? ids.map(label).join(', ') : '—');
  const keys = ['premises_name', 'address', 'postcode', 'vrm', 'vehicle_make', 'vehicle_model', 'occupants', 'visit_type', 'stop_power',
    'search_conducted', 'search_found', 'premises_closed', 'intelligence_submitted', 'follow_up_required', 'summary'];
  const pf = (p, k) => p.fields?.[k]?.value;
  const yes = (x) => x?.bool === true;
  const persons = (v.persons || []).filter((p) => !p.removed);
  const arrests = Object.entries(v.arrests || {}).filter(([, fv]) => Number(valueText(fv.value)) > 0);
  return h('div', { class: 'case', 'data-test': 'case' },
    v.status === 'returned' && v.returned ? h('p', { class: 'error' }, `Returned for correction: ${v.returned.reason}`) : null,
    v.voided ? h('p', { class: 'error' }, `Voided: ${v.void_reason || ''}`) : null,
    h('dl', { class: 'kv' }, keys.filter((k) => f[k]).map((k) => [h('dt', null, label(k)), h('dd', null, valueText(f[k].value))]),
      h('dt', null, 'Indicators'), h('dd', null, list(sets.indicators)),
      h('dt', null, 'Safeguarding actions (visit)'), h('dd', null, list(sets.safeguarding_actions)),
      h('dt', null, 'Offences'), h('dd', null, list(sets.offences)),
      h('dt', null, 'Arrests'), h('dd', null, arrests.length ? arrests.map(([o, fv]) => `${label(o)}: ${valueText(fv.value)}`).join(', ') : '—'),
      h('dt', null, 'Partner agencies'), h('dd', null, list(sets.partner_agencies)),
      h('dt', null, 'Officers'), h('dd', null, (sets.officers || []).join(', ') || '—')),
    h('h3', null, `People (${persons.length})`),
    h('ul', { class: 'list persons', 'data-test': 'persons' }, persons.map((p) => h('li', { 'data-age': p.age },
      h('div', { class: 'row' },
        h('span', { class: 'title' }, pf(p, 'name') ? valueText(pf(p, 'name')) : 'No name recorded'),
        h('span', { class: `badge ${p.age === 'child' ? 'bad' : ''}` }, label(p.age || 'unknown')),
        yes(pf(p, 'potential_victim')) ? h('span', { class: 'badge warn' }, 'potential victim') : null,
        pf(p, 'nrm_consent') ? h('span', null, `NRM: ${valueText(pf(p, 'nrm_consent'))}`) : null),
      h('dl', { class: 'kv' },
        pf(p, 'date_of_birth') ? [h('dt', null, 'Date of birth'), h('dd', null, valueText(pf(p, 'date_of_birth')))] : null,
        pf(p, 'nationality') ? [h('dt', null, 'Nationality'), h('dd', null, valueText(pf(p, 'nationality')))] : null,
        h('dt', null, 'Safeguarding actions'), h('dd', null, list(p.sets?.safeguarding_actions)),
        h('dt', null, 'Indicators'), h('dd', null, list(p.sets?.indicators)),
        h('dt', null, 'Exploitation'), h('dd', null, list(p.sets?.exploitation_types)))))),
    h('h3', null, `Notes (${(v.notes || []).length})`),
    h('ul', { class: 'list notes' }, (v.notes || []).map((n) => h('li', null, `${when(n.at_ms)} · ${n.text}`))));
}

/** The visit's fields, read with a reason (the read is audited). */
function detailBlock(visit, where) {
  const reason = h('input', { placeholder: 'Why are you opening this record? (audited)', 'aria-label': 'Reason for reading' });
  const err = h('p', { class: 'error detail-error', role: 'alert' });
  const out = h('div');
  const show = async () => {
    if (!reason.value.trim()) { err.textContent = 'Say why you are opening this record: the reason is kept in the audit trail.'; reason.focus(); return; }
    err.textContent = '';
    const v = await guard(() => api('GET', `/api/v1/visits/${visit.id}?reason=${encodeURIComponent(reason.value.trim())}`), err);
    if (!v) return;
    fill(out, caseDetail(v));
    const trail = await guard(() => api('GET', `/api/v1/visits/${visit.id}/audit`), err);
    if (!trail) return;
    const reads = trail.entries.filter((e) => e.action !== 'visit.audit_read');
    out.append(h('details', { class: 'who-read', 'data-test': 'who-read' },
      h('summary', null, `Who has read this record (${reads.length})`),
      h('ul', { class: 'list' }, reads.map((e) => h('li', null,
        `${when(Date.parse(e.at))} · ${e.who || e.actor} · ${label(e.action)}${e.reason ? ` · “${e.reason}”` : ''}`))),
      h('p', { class: 'hint' }, 'On phones now: ',
        trail.holders.length ? trail.holders.map((x) => `${x.display_name} (${x.devices} phone${x.devices === 1 ? '' : 's'})`).join(', ') : 'nobody')));
  };
  where.append(h('div', { class: 'actions' }, reason, h('button', { type: 'button', class: 'small', onclick: show }, 'Show details')), err, out);
}

export async function renderReview(section) {
  if (needOperation(section)) return;
  const err = h('p', { class: 'error', role: 'alert' });
  const list = h('ul', { class: 'list', id: 'review-list' });
  section.append(h('h1', null, 'Visits awaiting review'),
    h('p', { class: 'hint' }, 'Submitted by officers and not yet reviewed: visits with a child potential victim first, then other potential victims, newest first within each. Marking a visit reviewed, or returning it for correction, syncs to every phone.'), err, list);
  const rows = await guard(() => api('GET', `/api/v1/visits?operation=${state.operation}&status=submitted&limit=500`), err);
  if (!rows) return;
  if (!rows.length) { list.replaceWith(h('p', { class: 'ok' }, 'Nothing awaits review.')); return; }
  // Children first, then other potential victims, then the rest; newest first within each.
  const rank = (v) => {
    const pv = v.brief?.potential_victims || {};
    return pv.child ? 0 : (pv.adult || pv.unknown) ? 1 : 2;
  };
  rows.sort((x, y) => rank(x) - rank(y));
  for (const v of rows) {
    const li = h('li', { 'data-visit': v.id });
    const rowErr = h('p', { class: 'error', role: 'alert' });
    const btn = h('button', {
      type: 'button', class: 'primary review',
      onclick: async () => {
        btn.disabled = true;
        const r = await guard(() => api('POST', `/api/v1/visits/${v.id}/review`), rowErr);
        if (r) {
          li.replaceChildren(visitLine(v), h('p', { class: 'ok' }, 'Reviewed.'));
          toast('Visit marked reviewed.');
        } else btn.disabled = false;
      },
    }, 'Mark reviewed');
    // Sent back for correction with a reason the officer's phone shows.
    const why = h('input', { class: 'return-reason', maxlength: '2000', placeholder: 'What must the officer correct?', 'aria-label': 'Reason for returning' });
    const back = h('button', {
      type: 'button', class: 'return',
      onclick: async () => {
        if (!why.value.trim()) { rowErr.textContent = 'Say what must be corrected: the officer sees it, and it is audited.'; why.focus(); return; }
        back.disabled = true;
        const r = await guard(() => api('POST', `/api/v1/visits/${v.id}/return`, { reason: why.value.trim() }), rowErr);
        if (r) {
          li.replaceChildren(visitLine(v), h('p', { class: 'ok' }, 'Returned for correction.'));
          toast('Visit returned to the officer.');
        } else back.disabled = false;
      },
    }, 'Return for correction');
    li.append(visitLine(v));
    const checks = checksLine(v);
    if (checks) li.append(checks);
    detailBlock(v, li);
    li.append(h('div', { class: 'actions' }, btn), h('div', { class: 'actions' }, why, back), rowErr);
    list.append(li);
  }
}

