// govpulse unit page: the unit's latest score with the counts behind each term, its history as an
// SVG chart, its platform facts and recent events; follows /api/v1/stream?region=<code>. Text from
// data is set with textContent only.
(function () {
  'use strict';
  var pickLang = window.govpulse.pickLang, num = window.govpulse.num, el = window.govpulse.el;

  var TEXT = {
    en: {
      skip_unit: 'Skip to the unit', back: 'govpulse · ranking', code: 'Code', asof: 'As of', version: 'version',
      summary: 'Summary', composite: 'Composite', grade: 'Grade', rank: 'Rank', history: 'History',
      chart_caption: 'The composite and the four sub-indices (0–100) by as-of time.',
      terms: 'How the score is computed', terms_caption: 'Each index with the counts it is computed from.',
      index: 'Index', value: 'Value', counts: 'Counts', formula: 'Formula', platform: 'Platform',
      events: 'Recent events', events_caption: 'The latest events of this unit by event time.',
      time: 'Time', type: 'Type', item: 'Item', details: 'Details', foot: 'Read API:',
      live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…', none: 'none yet',
      g_very_high: 'very high', g_high: 'high', g_medium: 'medium', g_low: 'low',
      service_modes: 'Service modes', item_coverage: 'Item coverage', guide_accuracy: 'Guide accuracy',
      online_maturity: 'Online maturity', satisfaction: 'Satisfaction (not scored)',
      levels: 'Levels joined to the platform', integrated: 'Integrated platform', portals: 'Portals',
      portals_seen: 'Portals seen', multi_portal: 'Items on more than one portal',
      open_inconsistencies: 'Open inconsistencies between portals', share_inconsistent: 'Share of items described inconsistently',
      mean_open: 'Mean time an inconsistency stays open',
      yes: 'yes', no: 'no', no_history: 'No scores stored yet.',
      chart_summary: 'Composite from {a} to {b}, {n} points between {from} and {to}.',
      explain: 'Why it changed in the last 30 days'
    },
    zh: {
      skip_unit: '跳到单位', back: 'govpulse · 排名', code: '代码', asof: '截至', version: '版本',
      summary: '概要', composite: '总体指数', grade: '等级', rank: '排名', history: '历史',
      chart_caption: '总体指数与四项分项指数（0–100）随时间的变化。',
      terms: '得分如何计算', terms_caption: '每项指数及其计算所依据的计数。',
      index: '指数', value: '数值', counts: '计数', formula: '公式', platform: '平台',
      events: '最近事件', events_caption: '本单位按事件时间排列的最新事件。',
      time: '时间', type: '类型', item: '事项', details: '详情', foot: '数据接口：',
      live: '实时', connecting: '正在连接…', reconnecting: '正在重新连接…', none: '暂无',
      g_very_high: '非常高', g_high: '高', g_medium: '中', g_low: '低',
      service_modes: '服务方式完备度', item_coverage: '服务事项覆盖度', guide_accuracy: '办事指南准确度',
      online_maturity: '在线服务成熟度', satisfaction: '满意度（不计分）',
      levels: '接入平台的层级', integrated: '平台整合', portals: '门户数量',
      portals_seen: '已见门户', multi_portal: '多门户提供的事项',
      open_inconsistencies: '门户间未解决的不一致', share_inconsistent: '描述不一致的事项占比',
      mean_open: '不一致的平均持续时间',
      yes: '是', no: '否', no_history: '尚无得分记录。',
      chart_summary: '总体指数从 {a} 变为 {b}，{from} 至 {to} 共 {n} 个点。',
      explain: '近 30 天为何变化'
    }
  };
  var LINES = ['composite', 'service_modes', 'item_coverage', 'guide_accuracy', 'online_maturity'];
  var SVG = 'http://www.w3.org/2000/svg';

  var code = decodeURIComponent(location.pathname.split('/')[2] || '');
  // ?method= shows the unit's score, rank and terms under another scoring method (its history
  // and the explanation of its changes stay the default method's).
  var method = new URLSearchParams(location.search).get('method') || '';
  var methodQuery = method ? '?method=' + encodeURIComponent(method) : '';
  var lang = pickLang();
  var detail = null;
  var history = null;
  var explanation = null;
  var version = 0;

  function t(key) { return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key; }
  function svg(tag, attrs, cls) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (cls) { e.setAttribute('class', cls); }
    return e;
  }
  function byId(id) { return document.getElementById(id); }
  function shortTime(iso) { return iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '–'; }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach(function (e) { e.textContent = t(e.getAttribute('data-i18n')); });
    document.querySelectorAll('.lang button').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang));
    });
    setStatus(statusState);
    renderDetail();
    renderChart();
    renderExplain();
  }
  // renderExplain shows the explanation of the last 30 days in the page's language.
  function renderExplain() {
    var p = byId('explain');
    if (!explanation) { p.textContent = '–'; return; }
    p.textContent = lang === 'zh' ? explanation.summary_zh : explanation.summary_en;
    p.setAttribute('data-to-version', String(explanation.to_version));
  }
  var statusState = 'connecting';
  function setStatus(state) {
    statusState = state;
    var s = byId('status');
    s.setAttribute('data-state', state === 'live' ? 'live' : 'connecting');
    s.textContent = t(state);
  }

  function renderDetail() {
    var d = detail;
    if (!d) { return; }
    var main = lang === 'zh' ? d.name_zh : d.name_en;
    byId('name').textContent = main;
    byId('other-name').textContent = lang === 'zh' ? d.name_en : d.name_zh;
    byId('other-name').setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
    document.title = 'govpulse · ' + main;
    byId('code').textContent = d.region;
    var api = byId('api-link');
    api.href = '/api/v1/regions/' + encodeURIComponent(d.region);
    api.textContent = api.getAttribute('href');
    var sc = d.score;
    byId('asof').textContent = sc ? shortTime(sc.as_of) : '–';
    if (sc) { byId('asof').setAttribute('datetime', sc.as_of); }
    byId('version').textContent = sc ? String(sc.version) : '–';
    byId('composite').textContent = sc ? num(sc.composite) : '–';
    var g = byId('grade');
    g.className = 'chip' + (sc ? ' grade-' + sc.grade : '');
    g.textContent = sc ? t('g_' + sc.grade) : '–';
    byId('rank').textContent = d.rank ? d.rank.rank + ' / 32' : '–';

    var tb = document.querySelector('#terms tbody');
    tb.textContent = '';
    (d.terms || []).forEach(function (term) {
      var tr = el('tr');
      var th = el('th', null, t(term.index));
      th.setAttribute('scope', 'row');
      var counts = el('ul', 'counts');
      term.counts.forEach(function (c) {
        var li = el('li');
        li.append(el('code', null, c.name), document.createTextNode(' = ' + c.value));
        counts.append(li);
      });
      var cc = el('td');
      cc.append(counts, el('p', 'formula-inline', term.formula)); // shown instead of the formula column on a phone
      tr.append(th, el('td', 'num', num(term.value)), cc, el('td', 'formula', term.formula));
      tb.append(tr);
    });

    var pf = byId('platform');
    pf.textContent = '';
    var p = d.platform;
    [['levels', p ? p.levels + ' / 4' : t('none')], ['integrated', p ? t(p.integrated ? 'yes' : 'no') : t('none')],
      ['portals', p ? p.portals : t('none')]].forEach(function (f) {
      pf.append(el('dt', null, t(f[0])), el('dd', null, f[1]));
    });
    var m = d.portal_measures;
    if (m) {
      [['portals_seen', String(m.portals)], ['multi_portal', m.multi_portal_items + ' / ' + m.published_items],
        ['open_inconsistencies', String(m.open)], ['share_inconsistent', (100 * m.share).toFixed(1) + ' %'],
        ['mean_open', m.closed ? duration(m.mean_open_seconds) : t('none')]].forEach(function (f) {
        pf.append(el('dt', null, t(f[0])), el('dd', null, f[1]));
      });
    }

    var eb = document.querySelector('#events tbody');
    eb.textContent = '';
    (d.events || []).forEach(function (e) {
      var tr = el('tr');
      var tc = el('td');
      var tm = el('time', null, shortTime(e.time));
      tm.setAttribute('datetime', e.time);
      tc.append(tm);
      tr.append(tc, el('td', null, e.type), el('td', null, [e.item_code, e.level].filter(Boolean).join(' · ')),
        el('td', 'details', describe(e)));
      eb.append(tr);
    });
  }

  // duration writes a number of seconds as hours, minutes or seconds.
  function duration(sec) {
    if (sec >= 3600) { return (sec / 3600).toFixed(1) + ' h'; }
    if (sec >= 60) { return (sec / 60).toFixed(1) + ' min'; }
    return sec.toFixed(0) + ' s';
  }

  // describe summarises an event's data as plain text.
  function describe(e) {
    var d = e.data || {};
    switch (e.type) {
      case 'service.published':
        return [d.name, d.department, (d.modes || []).length + ' modes', 'maturity ' + d.maturity].filter(Boolean).join(' — ');
      case 'catalog.item': return d.required ? 'required' : 'not required';
      case 'guide.audited': return d.consistent ? 'consistent' : 'inconsistent';
      case 'platform.updated':
        return 'levels: ' + (d.levels || []).join(', ') + '; integrated: ' + d.integrated + '; portals: ' + d.portals;
      case 'feedback.rated': return '★'.repeat(Math.max(0, Math.min(5, d.rating | 0))) + ' ' + (d.channel || '');
      case 'application.completed': return d.outcome + (d.online ? ', online' : ', in person');
      default: return JSON.stringify(d);
    }
  }

  function renderChart() {
    var box = byId('chart');
    box.textContent = '';
    var legend = byId('chart-legend');
    legend.textContent = '';
    LINES.forEach(function (k) {
      var li = el('li');
      li.append(el('span', 'swatch ' + k), document.createTextNode(k === 'composite' ? TEXT[lang].composite || 'Composite' : t(k)));
      legend.append(li);
    });
    var pts = (history && history.history) || [];
    if (!pts.length) { box.append(el('p', 'empty', t('no_history'))); return; }
    // The drawing's units are the box's pixels, so that the labels keep their size on a phone.
    var W = Math.max(300, Math.min(960, box.clientWidth || 720)), H = W < 500 ? 220 : 300, L = 36, R = 12, T = 10, B = 28;
    var xs = pts.map(function (p) { return Date.parse(p.as_of); });
    var x0 = Math.min.apply(null, xs), x1 = Math.max.apply(null, xs);
    if (x1 === x0) { x0 -= 3600e3; x1 += 3600e3; }
    function X(v) { return L + (v - x0) / (x1 - x0) * (W - L - R); }
    function Y(v) { return T + (100 - v) / 100 * (H - T - B); }
    var root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-labelledby': 'chart-title chart-desc' });
    var title = svg('title', { id: 'chart-title' });
    title.textContent = t('history');
    var desc = svg('desc', { id: 'chart-desc' });
    desc.textContent = t('chart_summary').replace('{a}', num(pts[0].composite)).replace('{b}', num(pts[pts.length - 1].composite))
      .replace('{n}', String(pts.length)).replace('{from}', shortTime(pts[0].as_of)).replace('{to}', shortTime(pts[pts.length - 1].as_of));
    root.append(title, desc);
    [0, 20, 40, 60, 80, 100].forEach(function (v) {
      root.append(svg('line', { x1: L, x2: W - R, y1: Y(v), y2: Y(v) }, 'axis'));
      var lbl = svg('text', { x: L - 6, y: Y(v) + 4, 'text-anchor': 'end' }, 'tick');
      lbl.textContent = String(v);
      root.append(lbl);
    });
    var ticks = W < 500 ? 2 : 4;
    for (var i = 0; i <= ticks; i++) {
      var v = x0 + (x1 - x0) * i / ticks;
      var lbl = svg('text', { x: X(v), y: H - 8, 'text-anchor': i === 0 ? 'start' : (i === ticks ? 'end' : 'middle') }, 'tick');
      lbl.textContent = new Date(v).toISOString().slice(0, 10);
      root.append(lbl);
    }
    LINES.slice().reverse().forEach(function (k) {
      var d = pts.map(function (p, j) { return (j ? 'L' : 'M') + X(xs[j]).toFixed(1) + ' ' + Y(p[k] || 0).toFixed(1); }).join(' ');
      root.append(svg('path', { d: d }, 'line ' + k));
    });
    var last = pts[pts.length - 1];
    root.append(svg('circle', { cx: X(xs[xs.length - 1]), cy: Y(last.composite), r: 4 }, 'dot'));
    box.append(root);
    box.setAttribute('data-points', String(pts.length));
  }

  function load() {
    return Promise.all([
      fetch('/api/v1/regions/' + encodeURIComponent(code) + methodQuery).then(function (r) { return r.ok ? r.json() : null; }),
      fetch('/api/v1/regions/' + encodeURIComponent(code) + '/history?points=400').then(function (r) { return r.ok ? r.json() : null; }),
      fetch('/api/v1/regions/' + encodeURIComponent(code) + '/explain').then(function (r) { return r.ok ? r.json() : null; })
    ]).then(function (res) {
      if (res[0]) { detail = res[0]; if (detail.score) { version = Math.max(version, detail.score.version); } }
      if (res[1]) { history = res[1]; }
      if (res[2]) { explanation = res[2]; }
      renderDetail();
      renderChart();
      renderExplain();
    });
  }

  // A new score reloads the page's data, at most once per second.
  var pending = null;
  function refresh() {
    if (pending) { return; }
    pending = setTimeout(function () { pending = null; load(); }, 1000);
  }

  function connect() {
    if (!window.EventSource) { return; }
    var es = new EventSource('/api/v1/stream?region=' + encodeURIComponent(code));
    es.addEventListener('open', function () { setStatus('live'); });
    es.addEventListener('error', function () { setStatus('reconnecting'); });
    es.addEventListener('score', function (ev) {
      var s = JSON.parse(ev.data);
      if (s.region === code && s.version > version) { version = s.version; refresh(); }
    });
    es.addEventListener('ranking', function (ev) {
      var r = JSON.parse(ev.data);
      if (!detail || method) { return; } // the stream carries the default method's rankings
      (r.ranking || []).forEach(function (e) { if (e.region === code) { detail.rank = e; } });
      byId('rank').textContent = detail.rank ? detail.rank.rank + ' / 32' : '–';
    });
  }

  document.querySelectorAll('.lang button').forEach(function (b) {
    b.addEventListener('click', function () {
      lang = b.getAttribute('data-lang');
      try { window.localStorage.setItem('govpulse.lang', lang); } catch (e) { /* storage disabled */ }
      applyLang();
    });
  });
  var resizing = null;
  window.addEventListener('resize', function () {
    clearTimeout(resizing);
    resizing = setTimeout(renderChart, 150);
  });
  applyLang();
  load().then(connect, connect);
}());
