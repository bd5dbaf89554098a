/**
 * The console page's three assets, plain HTML, CSS and browser JavaScript with no framework and
 * no network beyond the gateway's own /console/events. The script builds every cell with
 * textContent (never innerHTML): measurements, addresses and messages come from peers' evidence.
 * The same script renders the static report, reading its data from an inline JSON element.
 */

/** A shield, so the browser asks the gateway for an icon instead of a 404 at /favicon.ico. */
export const CONSOLE_ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1l6 2v5c0 3.5-2.6 6-6 7-3.4-1-6-3.5-6-7V3z" fill="#202833"/></svg>';

export const CONSOLE_CSS = `
:root { --ok: #1b7f3b; --bad: #b3261e; --warn: #a15c00; --bg: #fafafa; --fg: #1c1c1c; --mute: #666; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; background: var(--bg); color: var(--fg); }
header { padding: 10px 16px; background: #202833; color: #fff; display: flex; gap: 24px; align-items: baseline; }
header h1 { font-size: 17px; margin: 0; }
header .counts span { margin-right: 14px; }
main { display: grid; grid-template-columns: 2fr 1fr; gap: 12px; padding: 12px 16px; }
section { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: 8px 10px; overflow: auto; }
section h2 { font-size: 14px; margin: 0 0 6px; }
#live { grid-row: span 3; max-height: 80vh; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #eee; vertical-align: top; }
th { font-weight: 600; color: var(--mute); }
tr.decision { cursor: pointer; }
tr.decision:hover { background: #f0f4ff; }
tr.accepted td.reason { color: var(--ok); }
tr.refused td.reason { color: var(--bad); }
tr.mismatch { background: #fde8e6; font-weight: 600; }
tr.mismatch td.reason::before { content: "\\26A0  "; }
tr.waived td.reason { color: var(--warn); }
tr.waived td.reason::after { content: " (waiver)"; }
.fields { font-family: ui-monospace, monospace; font-size: 12px; color: var(--bad); font-weight: 600; }
#detail-why { margin: 0 0 6px; }
tr.expired td { color: var(--mute); text-decoration: line-through; }
tr.selected { outline: 2px solid #3b6fd6; }
.mono { font-family: ui-monospace, monospace; font-size: 12px; word-break: break-all; }
.why { color: var(--bad); font-weight: 400; }
.stale { color: var(--bad); font-weight: 600; }
.soon { color: var(--warn); font-weight: 600; }
#detail pre { white-space: pre-wrap; word-break: break-all; font-size: 12px; max-height: 50vh; overflow: auto; }
#chart svg { width: 100%; height: 120px; }
#chart .a { fill: var(--ok); }
#chart .d { fill: var(--bad); }
.note { color: var(--mute); font-size: 12px; }
`;

export const CONSOLE_BODY = `
<header><h1>ratls incident console</h1><div class="counts" id="counts"></div><div class="note" id="mode"></div></header>
<main>
  <section id="live"><h2>Decisions (newest first)</h2>
    <table><thead><tr><th>time</th><th>listener</th><th>peer</th><th>TEE</th><th>outcome</th><th>identity / closest</th><th>why</th></tr></thead>
    <tbody id="decisions"></tbody></table></section>
  <section id="detail"><h2>Decision detail</h2><p class="note" id="detail-hint">Select a decision to see its whole audit event and trace.</p><div id="detail-why"></div><pre id="detail-json"></pre></section>
  <section id="ids"><h2>Identities</h2>
    <table><thead><tr><th>identity</th><th>allowed</th><th>refused</th><th>last seen</th><th>TEE</th><th>TCB</th></tr></thead><tbody id="identities"></tbody></table></section>
  <section id="policy"><h2>Policy</h2><div>hash <span class="mono" id="policy-hash">-</span></div>
    <table><thead><tr><th>time</th><th>reload</th><th>hash</th><th>parts applied / refused</th></tr></thead><tbody id="reloads"></tbody></table></section>
  <section id="waivers"><h2>Waivers</h2>
    <table><thead><tr><th>waiver</th><th>identities</th><th>admits</th><th>until</th><th>time left</th><th>accepted under it</th></tr></thead><tbody id="waiver-rows"></tbody></table><div class="note" id="waiver-note"></div></section>
  <section id="early"><h2>Identities at risk under early TCB</h2>
    <table><thead><tr><th>identity</th><th>accepted peers</th><th>at risk</th><th>TCB today</th><th>under update=early</th></tr></thead><tbody id="early-rows"></tbody></table><div class="note" id="early-note"></div></section>
  <section id="collateral"><h2>Collateral freshness</h2>
    <table><thead><tr><th>collateral</th><th>nextUpdate</th><th>time left</th><th>from</th></tr></thead><tbody id="collateral-rows"></tbody></table><div class="note" id="collateral-note"></div></section>
  <section id="chart"><h2>Decisions over time (per minute)</h2><div id="chart-box"></div></section>
</main>`;

export const CONSOLE_JS = `
(function () {
  'use strict';
  var MAX = 500;
  var st = { summary: null, recent: [], health: null, waivers: null, selected: null, at: null };
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(n) { while (n.firstChild) n.removeChild(n.firstChild); }
  function row(body, cells) {
    var tr = el('tr');
    for (var i = 0; i < cells.length; i++) {
      var c = cells[i];
      tr.appendChild(typeof c === 'object' && c !== null && c.nodeType ? c : el('td', '', c));
    }
    body.appendChild(tr);
    return tr;
  }
  function mix(m) {
    var out = [];
    for (var k in m) if (Object.prototype.hasOwnProperty.call(m, k)) out.push(k + ' ' + m[k]);
    return out.join(', ');
  }
  function peer(ev) {
    var s = ev.source || {};
    return s.ip ? s.ip + (s.port !== undefined ? ':' + s.port : '') : '';
  }
  function whyCell(en) {
    return el('td', 'why', (en.why && en.why.text) || '');
  }
  function left(iso, now) {
    var ms = Date.parse(iso) - now;
    var days = Math.floor(ms / 86400000), hours = Math.floor((ms % 86400000) / 3600000);
    return { ms: ms, text: ms <= 0 ? 'EXPIRED' : days + 'd ' + hours + 'h', cls: ms <= 0 ? 'stale' : ms < 3 * 86400000 ? 'soon' : '' };
  }
  function renderDecisions() {
    var body = $('decisions');
    clear(body);
    for (var i = st.recent.length - 1; i >= 0; i--) {
      var en = st.recent[i], ev = en.ev, a = ev.attestation || {}, w = en.why || {};
      var ok = ev.event.outcome === 'success';
      var mism = ev.event.reason === 'measurement_mismatch';
      var waived = ok && w.waivers && w.waivers.length > 0;
      var tr = row(body, [
        ev['@timestamp'], (ev.labels && ev.labels.listener) || '', peer(ev), a.tee || '',
        el('td', 'reason', ok ? 'accepted' : ev.event.reason),
        ok ? (w.identity || '') : (w.identity ? 'closest: ' + w.identity : ''),
        whyCell(en),
      ]);
      tr.className = 'decision ' + (ok ? 'accepted' : 'refused') + (mism ? ' mismatch' : '') + (waived ? ' waived' : '') + (st.selected === en.id ? ' selected' : '');
      if (w.differs && w.differs.length) tr.setAttribute('data-differs', w.differs.join(','));
      tr.setAttribute('data-id', en.id);
      tr.setAttribute('data-reason', ev.event.reason);
      tr.addEventListener('click', select.bind(null, en.id));
    }
  }
  function select(id) {
    st.selected = id;
    renderDecisions();
    renderDetail();
  }
  function renderDetail() {
    var pre = $('detail-json');
    var en = null;
    for (var i = 0; i < st.recent.length; i++) if (st.recent[i].id === st.selected) en = st.recent[i];
    var box = $('detail-why');
    clear(box);
    if (!en) { pre.textContent = ''; return; }
    $('detail-hint').textContent = 'audit event ' + en.id;
    var w = en.why || {};
    var facts = [];
    if (w.identity) facts.push([en.ev.event.outcome === 'success' ? 'identity' : 'closest identity', w.identity]);
    if (w.differs && w.differs.length) facts.push(['fields that differed', w.differs.join(', '), 'fields']);
    if (w.conditions && w.conditions.length) facts.push(['conditions that refused', w.conditions.join(', ')]);
    if (w.decidedBy) facts.push(['decided by', w.decidedBy]);
    if (w.failedStep) facts.push(['failed step', w.failedStep.step + (w.failedStep.code ? ' ' + w.failedStep.code : '')]);
    if (w.waivers && w.waivers.length) facts.push(['waivers', w.waivers.join(', ') + (w.validUntil ? ' until ' + w.validUntil : '')]);
    for (var k = 0; k < facts.length; k++) {
      var d = el('div');
      d.appendChild(el('span', 'note', facts[k][0] + ': '));
      d.appendChild(el('span', facts[k][2] || 'mono', facts[k][1]));
      box.appendChild(d);
    }
    pre.textContent = JSON.stringify(en.ev, null, 2);
  }
  function renderSummary() {
    var s = st.summary;
    if (!s) return;
    var c = $('counts');
    clear(c);
    c.appendChild(el('span', '', 'decisions ' + s.total));
    c.appendChild(el('span', '', 'allowed ' + s.allowed));
    c.appendChild(el('span', '', 'refused ' + s.denied));
    c.appendChild(el('span', '', 'measurement_mismatch ' + (s.reasons.measurement_mismatch || 0)));
    c.firstChild.id = 'count-total';
    c.children[1].id = 'count-allowed';
    c.children[2].id = 'count-denied';
    c.children[3].id = 'count-mismatch';
    var ib = $('identities');
    clear(ib);
    for (var i = 0; i < s.identities.length; i++) {
      var r = s.identities[i];
      var tr = row(ib, [r.name, r.allowed, r.denied, r.lastSeen, mix(r.tee), mix(r.tcb)]);
      tr.setAttribute('data-identity', r.name);
    }
    $('policy-hash').textContent = s.policyHash || '-';
    var rb = $('reloads');
    clear(rb);
    for (var j = s.reloads.length - 1; j >= 0; j--) {
      var x = s.reloads[j];
      var parts = x.parts || [{ ok: x.ok, message: x.message }];
      var pc = el('td');
      for (var p = 0; p < parts.length; p++) {
        pc.appendChild(el('div', parts[p].ok ? '' : 'why', (parts[p].ok ? 'applied: ' : 'refused' + (parts[p].code ? ' (' + parts[p].code + ')' : '') + ': ') + parts[p].message));
      }
      var applied = 0;
      for (var q = 0; q < parts.length; q++) if (parts[q].ok) applied++;
      var rr = row(rb, [x.at, x.ok ? 'reloaded' : applied > 0 ? 'in part' : 'refused', el('td', 'mono', (x.hash || '').slice(0, 16)), pc]);
      rr.className = 'reload';
    }
    renderWaivers();
    renderCollateral();
    renderChart();
  }
  function renderWaivers() {
    var body = $('waiver-rows');
    clear(body);
    var waived = (st.summary && st.summary.waived) || {};
    var ws = st.waivers;
    var now = st.at || Date.now();
    var listed = {};
    if (ws) {
      for (var i = 0; i < ws.length; i++) {
        var w = ws[i], l = left(w.until, now);
        listed[w.name] = true;
        var admits = w.tcbStatus.concat(w.advisories).join(', ');
        var tr = row(body, [w.name + ' (' + w.policy + ')', w.identities.length ? w.identities.join(', ') : 'every identity', admits, w.until, el('td', l.cls, w.active ? l.text : 'EXPIRED'), waived[w.name] || 0]);
        tr.className = w.active ? 'waiver' : 'waiver expired';
        tr.setAttribute('data-waiver', w.name);
        tr.title = w.reason;
      }
    }
    for (var k in waived) {
      if (!Object.prototype.hasOwnProperty.call(waived, k) || listed[k]) continue;
      var t2 = row(body, [k, '', k === 'outOfDateGrace' ? 'OutOfDate (grace window)' : '', '', '', waived[k]]);
      t2.className = 'waiver';
      t2.setAttribute('data-waiver', k);
    }
    $('waiver-note').textContent = ws ? (ws.length ? '' : 'no waivers in the policies in force') : 'the policies are not in the audit log: waivers named by accepted decisions only';
  }
  function renderCollateral() {
    var body = $('collateral-rows');
    clear(body);
    var h = st.health;
    var col = h && h.collateral;
    var now = st.at || Date.now();
    var held = {};
    var es = (col && col.entries) || [];
    for (var i = 0; i < es.length; i++) {
      var e = es[i], key = (e.tee ? e.tee + '/' : '') + e.fmspc;
      held[key] = true;
      var l = left(e.nextUpdate, now);
      var tr = row(body, [key, e.nextUpdate, el('td', l.cls, l.text), col.source === 'pccs' ? 'PCCS cache' : 'file']);
      tr.setAttribute('data-collateral', key);
    }
    // What the decisions relied on (the trace's collateral window): SNP products, and the whole panel offline.
    var seen = (st.summary && st.summary.collateral) || [];
    for (var j = 0; j < seen.length; j++) {
      var c = seen[j];
      var fm = c.key.slice(c.key.indexOf('/') + 1);
      if (held[c.key] || held[fm]) continue;
      var l2 = left(c.notAfter, now);
      var tr2 = row(body, [c.key, c.notAfter, el('td', l2.cls, l2.text), 'decisions (last ' + c.lastSeen + ')']);
      tr2.setAttribute('data-collateral', c.key);
    }
    $('collateral-note').textContent = col
      ? 'source: ' + (col.source || '?') + (col.healthy === false ? ' (last fetch failed)' : '')
      : seen.length ? 'from the decision traces (end of each collateral window)' : 'no collateral data';
  }
  // What Intel's update=early TCB evaluation data would make of the accepted peers (earlyTcb: true):
  // the demotion coming before it lands. From /healthz's earlyTcb block; absent when it is off.
  function renderEarly() {
    var body = $('early-rows');
    clear(body);
    var e = st.health && st.health.earlyTcb;
    var ids = (e && e.identities) || [];
    for (var i = 0; i < ids.length; i++) {
      var x = ids[i];
      var tr = row(body, [x.identity, x.peers, x.atRisk, x.status || '', x.earlyStatus || 'refused']);
      tr.setAttribute('data-early', x.identity);
      if (x.atRisk > 0) tr.className = 'soon';
    }
    $('early-note').textContent = e ? (ids.length ? '' : 'no accepted SGX/TDX peer assessed yet') : 'early TCB warning is off (earlyTcb: true in gateway.yaml)';
  }
  function renderChart() {
    var box = $('chart-box');
    clear(box);
    var tl = (st.summary && st.summary.timeline) || [];
    if (!tl.length) return;
    var NS = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(NS, 'svg');
    var n = tl.length, w = 600, h = 120, max = 1;
    for (var i = 0; i < n; i++) max = Math.max(max, tl[i].allowed + tl[i].denied);
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('preserveAspectRatio', 'none');
    var bw = w / n;
    for (var k = 0; k < n; k++) {
      var b = tl[k], ha = (b.allowed / max) * (h - 10), hd = (b.denied / max) * (h - 10);
      var ra = document.createElementNS(NS, 'rect');
      ra.setAttribute('class', 'a'); ra.setAttribute('x', String(k * bw)); ra.setAttribute('width', String(Math.max(1, bw - 1)));
      ra.setAttribute('y', String(h - ha)); ra.setAttribute('height', String(ha));
      var rd = document.createElementNS(NS, 'rect');
      rd.setAttribute('class', 'd'); rd.setAttribute('x', String(k * bw)); rd.setAttribute('width', String(Math.max(1, bw - 1)));
      rd.setAttribute('y', String(h - ha - hd)); rd.setAttribute('height', String(hd));
      var t = document.createElementNS(NS, 'title');
      t.textContent = new Date(b.t).toISOString() + ': ' + b.allowed + ' allowed, ' + b.denied + ' refused';
      rd.appendChild(t);
      svg.appendChild(ra); svg.appendChild(rd);
    }
    box.appendChild(svg);
  }
  function apply(d) {
    if (d.summary) st.summary = d.summary;
    if (d.recent) st.recent = d.recent.slice(-MAX);
    if (d.health) st.health = d.health;
    if (d.waivers) st.waivers = d.waivers;
    if (d.at) st.at = d.at;
    renderSummary(); renderDecisions(); renderCollateral(); renderEarly(); renderDetail();
  }
  function boot() {
    var inline = $('ratls-data');
    if (inline) {
      $('mode').textContent = 'static report';
      apply(JSON.parse(inline.textContent));
      document.body.setAttribute('data-ready', '1');
      return;
    }
    $('mode').textContent = 'live';
    var es = new EventSource('/console/events');
    es.addEventListener('hello', function (m) { apply(JSON.parse(m.data)); document.body.setAttribute('data-ready', '1'); });
    es.addEventListener('decision', function (m) {
      st.recent.push(JSON.parse(m.data));
      if (st.recent.length > MAX) st.recent.shift();
      renderDecisions();
    });
    es.addEventListener('summary', function (m) { st.summary = JSON.parse(m.data); renderSummary(); });
    es.addEventListener('health', function (m) { st.health = JSON.parse(m.data); renderCollateral(); renderEarly(); });
    es.addEventListener('waivers', function (m) { st.waivers = JSON.parse(m.data); renderWaivers(); });
  }
  boot();
})();
`;

/**
 * The live page: assets by URL, so the CSP can be `default-src 'self'` with nothing inline.
 * @example res.end(consolePage())
 */
export function consolePage(): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>ratls console</title><link rel="icon" href="/console/favicon.svg"><link rel="stylesheet" href="/console/app.css"></head><body>${CONSOLE_BODY}<script src="/console/app.js"></script></body></html>`;
}
