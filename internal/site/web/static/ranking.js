// govpulse ranking page: the live ranking of all units. Loads /api/v1/ranking, then follows
// /api/v1/stream; rows move in place (FLIP) when the order changes. Text from data is set with
// textContent only.
(function () {
  'use strict';
  var pickLang = window.govpulse.pickLang, num = window.govpulse.num, el = window.govpulse.el;

  var TEXT = {
    en: {
      skip: 'Skip to the ranking', title: 'Provincial online government service capability index',
      asof: 'As of', version: 'version', method: 'method', caption: 'The 32 assessed units, ranked by their composite index; the table updates live.',
      rank: 'Rank', unit: 'Unit', composite: 'Composite', grade: 'Grade', subs: 'Sub-indices', change: 'Change',
      waiting: 'Waiting for the first ranking…', legend: 'Grades and sub-indices',
      g_very_high: 'very high', g_high: 'high', g_medium: 'medium', g_low: 'low',
      g_very_high_band: 'composite ≥ 90', g_high_band: '80 ≤ composite < 90', g_medium_band: '60 ≤ composite < 80', g_low_band: 'composite < 60',
      s_service_modes: 'Modes', s_item_coverage: 'Coverage', s_guide_accuracy: 'Guides', s_online_maturity: 'Online',
      l_service_modes: 'service modes: how many of the eight ways of being served each published service offers',
      l_item_coverage: 'item coverage: required catalogue items that are published, weighted by level',
      l_guide_accuracy: 'guide accuracy: correct elements of the audited service guides',
      l_online_maturity: 'online maturity: depth of online service, completed online applications and satisfaction',
      foot: 'Read API:', live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…',
      up: 'up', down: 'down', moved: '{name} moved {dir} {n} to rank {rank}', same: 'unchanged', newEntry: 'new',
      compare: 'Side by side', byMethod: 'Method {id}', rankUnder: 'Rank {id}', compositeUnder: 'Composite {id}',
      diffUnder: 'Rank change under {id}', polling: 'updated every few seconds',
      compare_caption: "Each unit's rank and composite under every scoring method, and how its rank differs from the default method's.",
      provinces: 'Provincial units', key_cities: 'Key cities', drill: 'below ›', drill_title: 'The units under {name}, ranked',
      title_key: 'Online government service capability index of the 32 key cities',
      caption_key: 'The 32 key cities (the provincial capitals and the five cities specifically designated in the state plan), ranked by their composite index; the table updates live.'
    },
    zh: {
      skip: '跳到排名', title: '省级政府网上政务服务能力指数',
      asof: '截至', version: '版本', method: '方法', caption: '32 个评估单位按总体指数排名，表格实时更新。',
      rank: '排名', unit: '单位', composite: '总体指数', grade: '等级', subs: '分项指数', change: '变化',
      waiting: '正在等待第一份排名…', legend: '等级与分项指数',
      g_very_high: '非常高', g_high: '高', g_medium: '中', g_low: '低',
      g_very_high_band: '总体指数 ≥ 90', g_high_band: '80 ≤ 总体指数 < 90', g_medium_band: '60 ≤ 总体指数 < 80', g_low_band: '总体指数 < 60',
      s_service_modes: '方式', s_item_coverage: '事项', s_guide_accuracy: '指南', s_online_maturity: '成熟度',
      l_service_modes: '服务方式完备度：每项已发布服务提供八种服务方式中的几种',
      l_item_coverage: '服务事项覆盖度：按层级加权的已发布必备事项',
      l_guide_accuracy: '办事指南准确度：被核查办事指南中正确的要素',
      l_online_maturity: '在线服务成熟度：在线服务深度、网上办结率与满意度',
      foot: '数据接口：', live: '实时', connecting: '正在连接…', reconnecting: '正在重新连接…',
      up: '上升', down: '下降', moved: '{name}{dir} {n} 位，现排第 {rank}', same: '不变', newEntry: '新',
      compare: '并列比较', byMethod: '{id} 方法', rankUnder: '{id} 排名', compositeUnder: '{id} 总体指数',
      diffUnder: '{id} 排名变化', polling: '每隔几秒更新',
      compare_caption: '各单位在每种评估方法下的排名与总体指数，以及与默认方法相比的排名差。',
      provinces: '省级单位', key_cities: '重点城市', drill: '下辖 ›', drill_title: '{name}下辖单位排名',
      title_key: '32 个重点城市网上政务服务能力指数',
      caption_key: '32 个重点城市（省会城市与五个计划单列市）按总体指数排名，表格实时更新。'
    }
  };
  var SUBS = ['service_modes', 'item_coverage', 'guide_accuracy', 'online_maturity'];
  var HIGHLIGHT_MS = 4000;
  var POLL_MS = 5000;

  // The page shows the default method live (?method= absent or the default), another method read
  // from /api/v1/ranking?method= every few seconds, or every method side by side (?view=compare).
  var params = new URLSearchParams(window.location.search);
  var view = params.get('view') === 'compare' ? 'compare' : 'ranking';
  var method = params.get('method') || '';
  // ?group=key-cities shows the ranking of the 32 key cities (/api/v1/groups/key-cities) instead
  // of the provincial units, under the default method, live.
  var group = params.get('group') === 'key-cities' ? 'key-cities' : '';
  var methods = []; // /api/v1/methods
  var methodInfo = null; // the method shown, when it is not the default

  var lang = pickLang();
  var current = null; // the ranking shown
  var rows = new Map(); // region code -> row parts
  var tbody = document.querySelector('#ranking tbody');
  var reduceMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;

  function t(key) { return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key; }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach(function (e) { e.textContent = t(e.getAttribute('data-i18n')); });
    document.querySelectorAll('.lang button').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang));
    });
    document.title = 'govpulse · ' + t(group ? 'title_key' : 'title');
    setStatus(statusState);
    rows.forEach(function (row) { fillNames(row); fillGrade(row); fillBars(row); });
    if (current) { rows.forEach(function (row) { fillChange(row, row.entry.change); }); }
    fillMethods();
    if (comparison) { renderCompare(comparison); }
  }

  var statusState = 'connecting';
  function setStatus(state) {
    statusState = state;
    var s = document.getElementById('status');
    s.setAttribute('data-state', state === 'live' || state === 'polling' ? 'live' : 'connecting');
    s.textContent = t(state);
  }

  function makeRow(code) {
    var tr = el('tr');
    tr.setAttribute('data-region', code);
    var row = { tr: tr, code: code, entry: null, score: null };
    row.rank = el('td', 'rank num');
    var unit = el('th');
    unit.setAttribute('scope', 'row');
    row.link = el('a', 'name-main');
    row.link.href = '/region/' + encodeURIComponent(code) + (methodInfo ? '?method=' + encodeURIComponent(methodInfo.id) : '');
    row.other = el('span', 'name-other');
    // The units under this one, ranked (/units/{code}).
    row.down = el('a', 'drill-link');
    row.down.href = '/units/' + encodeURIComponent(code);
    unit.append(row.link, row.down, row.other);
    row.composite = el('td', 'composite num');
    row.gradeCell = el('td', 'grade-col');
    row.grade = el('span', 'chip');
    row.gradeCell.append(row.grade);
    var subs = el('td', 'subs');
    row.bars = el('ul', 'bars');
    row.bar = {};
    SUBS.forEach(function (k) {
      var li = el('li');
      var label = el('span', 'bar-label');
      var bar = el('span', 'bar');
      bar.setAttribute('aria-hidden', 'true');
      var fill = el('span', 'fill ' + k);
      bar.append(fill);
      var value = el('span', 'bar-value');
      li.append(label, bar, value);
      row.bars.append(li);
      row.bar[k] = { label: label, fill: fill, value: value };
    });
    subs.append(row.bars);
    row.change = el('td', 'change num');
    tr.append(row.rank, unit, row.composite, row.gradeCell, subs, row.change);
    return row;
  }

  function fillNames(row) {
    var e = row.entry;
    if (!e) { return; }
    row.link.textContent = lang === 'zh' ? e.name_zh : e.name_en;
    row.other.textContent = lang === 'zh' ? e.name_en : e.name_zh;
    row.other.setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
    row.down.textContent = t('drill');
    row.down.title = t('drill_title').replace('{name}', row.link.textContent);
  }
  function fillGrade(row) {
    var g = row.entry && row.entry.grade;
    row.grade.className = 'chip grade-' + g;
    row.composite.className = 'composite num g-' + g;
    row.grade.textContent = t('g_' + g);
  }
  // termLabel is the short label of term k: the page's own for the default method's terms, the
  // method's for the others.
  function termLabel(k) {
    if (TEXT.en['s_' + k] || !methodInfo) { return t('s_' + k); }
    for (var i = 0; i < methodInfo.terms.length; i++) {
      var d = methodInfo.terms[i];
      if (d.name === k) { return lang === 'zh' ? d.label_zh : d.label; }
    }
    return k;
  }
  // termValue is term k of a score or ranking entry: its named member, else its terms.
  function termValue(src, k) {
    if (typeof src[k] === 'number') { return src[k]; }
    if (!Array.isArray(src.terms)) { return undefined; }
    for (var i = 0; i < src.terms.length; i++) {
      if (src.terms[i].name === k) { return src.terms[i].value; }
    }
    return undefined;
  }
  function fillBars(row) {
    var src = row.score || row.entry;
    if (!src) { return; }
    SUBS.forEach(function (k) {
      var v = termValue(src, k);
      var b = row.bar[k];
      b.label.textContent = termLabel(k);
      b.fill.style.width = Math.max(0, Math.min(100, v || 0)) + '%';
      b.value.textContent = num(v);
    });
  }
  function fillChange(row, change) {
    row.change.textContent = '';
    var s;
    if (change > 0) { s = el('span', 'up', '▲' + change); s.setAttribute('aria-label', t('up') + ' ' + change); }
    else if (change < 0) { s = el('span', 'down', '▼' + (-change)); s.setAttribute('aria-label', t('down') + ' ' + (-change)); }
    else { s = el('span', 'same', '='); s.setAttribute('aria-label', t('same')); }
    // The last stored change of the unit's rank, in words, on hover.
    var note = row.entry && rankNotes.get(row.entry.region);
    if (note) { s.title = lang === 'zh' ? note.summary_zh : note.summary_en; }
    row.change.append(s);
  }

  // rankNotes holds the last rank change of each unit (/api/v1/rank-changes), read again after a
  // new ranking at most every two seconds.
  var rankNotes = new Map();
  var notesPending = null;
  function loadNotes() {
    if (notesPending || group) { return; }
    notesPending = setTimeout(function () {
      notesPending = null;
      fetch('/api/v1/rank-changes', { headers: { Accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (body) {
          if (!body || !Array.isArray(body.changes)) { return; }
          rankNotes = new Map();
          body.changes.forEach(function (c) { rankNotes.set(c.region, c); });
          rows.forEach(function (row) { if (row.entry) { fillChange(row, row.entry.change); } });
        })
        .catch(function () { /* the arrows keep their counts */ });
    }, current ? 2000 : 0);
  }

  // render shows ranking r if it is newer than the one shown, moving rows in place.
  function render(r) {
    if (!r || !Array.isArray(r.ranking) || (current && r.version <= current.version)) { return; }
    var first = new Map();
    var oldRank = new Map();
    rows.forEach(function (row, code) {
      first.set(code, row.tr.getBoundingClientRect().top);
      if (row.entry) { oldRank.set(code, row.entry.rank); }
    });
    var seen = new Set();
    r.ranking.forEach(function (e) {
      var row = rows.get(e.region);
      if (!row) { row = makeRow(e.region); rows.set(e.region, row); }
      seen.add(e.region);
      row.entry = e;
      if (row.score && row.score.version < e.score_version) { row.score = null; }
      row.rank.textContent = String(e.rank);
      row.composite.textContent = num(e.composite);
      fillNames(row); fillGrade(row); fillBars(row); fillChange(row, e.change);
      tbody.append(row.tr); // appending in rank order moves the row
    });
    loadNotes();
    rows.forEach(function (row, code) { if (!seen.has(code)) { row.tr.remove(); rows.delete(code); } });
    var announcements = [];
    var moved = [];
    rows.forEach(function (row, code) {
      var before = oldRank.get(code);
      if (before !== undefined && before !== row.entry.rank) {
        moved.push(row);
        var n = Math.abs(before - row.entry.rank);
        announcements.push(t('moved').replace('{name}', row.link.textContent)
          .replace('{dir}', before > row.entry.rank ? t('up') : t('down'))
          .replace('{n}', String(n)).replace('{rank}', String(row.entry.rank)));
      }
    });
    if (!reduceMotion) { flip(first); }
    moved.forEach(function (row) {
      row.tr.classList.remove('moved-up', 'moved-down');
      row.tr.classList.add(oldRank.get(row.code) > row.entry.rank ? 'moved-up' : 'moved-down');
      clearTimeout(row.timer);
      row.timer = setTimeout(function () { row.tr.classList.remove('moved-up', 'moved-down'); }, HIGHLIGHT_MS);
    });
    if (announcements.length) { document.getElementById('announce').textContent = announcements.slice(0, 5).join('. '); }
    current = r;
    document.getElementById('asof').textContent = r.as_of;
    document.getElementById('asof').setAttribute('datetime', r.as_of);
    document.getElementById('version').textContent = String(r.version);
    document.getElementById('method').textContent = r.method;
    document.getElementById('empty').hidden = true;
    document.body.setAttribute('data-version', String(r.version));
  }

  // flip animates each row from where it was (first) to where it is now.
  function flip(first) {
    var movedRows = [];
    rows.forEach(function (row, code) {
      var top = first.get(code);
      if (top === undefined) { return; }
      var dy = top - row.tr.getBoundingClientRect().top;
      if (dy !== 0) {
        row.tr.style.transition = 'none';
        row.tr.style.transform = 'translateY(' + dy + 'px)';
        movedRows.push(row.tr);
      }
    });
    if (!movedRows.length) { return; }
    void tbody.offsetHeight; // apply the inverted positions before playing
    requestAnimationFrame(function () {
      movedRows.forEach(function (tr) {
        tr.style.transition = 'transform 600ms ease';
        tr.style.transform = '';
      });
    });
  }

  // score updates the bars of one unit from a newer score.
  function score(s) {
    var row = rows.get(s.region);
    if (!row) { return; }
    var have = row.score ? row.score.version : (row.entry ? row.entry.score_version : 0);
    if (s.version <= have) { return; }
    row.score = s;
    fillBars(row);
  }

  // A page left for another (and maybe kept in the back-forward cache) closes its stream, so that
  // the streams of pages left behind never hold the browser's connections; it opens a new one,
  // which brings it up to date, when it is shown again.
  var es = null;
  var streamed = false; // the page follows the stream (the default method's or a group's ranking)
  window.addEventListener('pagehide', function () { if (es) { es.close(); es = null; } });
  window.addEventListener('pageshow', function (ev) { if (ev.persisted && streamed) { connect(); } });

  function connect() {
    if (!window.EventSource || es) { return; }
    streamed = true;
    es = new EventSource('/api/v1/stream' + (group ? '?group=' + encodeURIComponent(group) : ''));
    es.addEventListener('open', function () { setStatus('live'); });
    es.addEventListener('error', function () { setStatus('reconnecting'); });
    if (group) {
      es.addEventListener('group', function (ev) { render(JSON.parse(ev.data)); });
      return;
    }
    es.addEventListener('ranking', function (ev) { render(JSON.parse(ev.data)); });
    es.addEventListener('score', function (ev) { score(JSON.parse(ev.data)); });
  }

  document.querySelectorAll('.lang button').forEach(function (b) {
    b.addEventListener('click', function () {
      lang = b.getAttribute('data-lang');
      try { window.localStorage.setItem('govpulse.lang', lang); } catch (e) { /* storage disabled */ }
      applyLang();
    });
  });
  // fillMethods shows the method selector: one link per method and one to the side-by-side view.
  function fillMethods() {
    fillGroups();
    var nav = document.getElementById('methods');
    if (methods.length < 2 || group) { nav.hidden = true; return; }
    nav.textContent = '';
    var links = methods.map(function (m) {
      return { href: m['default'] ? '/' : '/?method=' + encodeURIComponent(m.id), text: t('byMethod').replace('{id}', m.id),
        title: m.name, current: view === 'ranking' && (m.id === method || (!method && m['default'])) };
    });
    links.push({ href: '/?view=compare', text: t('compare'), title: '', current: view === 'compare' });
    links.forEach(function (l) {
      var a = el('a', '', l.text);
      a.href = l.href;
      if (l.title) { a.title = l.title; }
      if (l.current) { a.setAttribute('aria-current', 'page'); }
      nav.append(a);
    });
    nav.hidden = false;
  }

  // fillGroups shows the group switch: the provincial units or the key cities.
  function fillGroups() {
    var nav = document.getElementById('groups');
    nav.textContent = '';
    [{ href: '/', text: t('provinces'), current: !group && view === 'ranking' && !method },
      { href: '/?group=key-cities', text: t('key_cities'), current: group === 'key-cities' }].forEach(function (l) {
      var a = el('a', '', l.text);
      a.href = l.href;
      if (l.current) { a.setAttribute('aria-current', 'page'); }
      nav.append(a);
    });
  }

  // useMethod makes the table show the scored terms of method info, and the legend its terms and
  // grade bands.
  function useMethod(info) {
    methodInfo = info;
    SUBS = info.terms.filter(function (d) { return d.weight > 0; }).map(function (d) { return d.name; });
    var dl = document.querySelector('.subs-legend');
    dl.textContent = '';
    info.terms.forEach(function (d) {
      dl.append(el('dt', '', lang === 'zh' ? d.label_zh : d.label), el('dd', '', d.label_zh + ': ' + d.formula));
    });
    var ul = document.querySelector('.grades');
    ul.textContent = '';
    info.bands.forEach(function (b) {
      var li = el('li');
      li.append(el('span', 'chip grade-' + b.grade, t('g_' + b.grade)), document.createTextNode(' ' + (b.above ? '> ' : '≥ ') + b.min));
      ul.append(li);
    });
    document.querySelectorAll('.subs-legend [data-i18n], .grades [data-i18n]').forEach(function (e) { e.removeAttribute('data-i18n'); });
  }

  // poll reads the ranking of a method other than the default every few seconds.
  function poll() {
    fetch('/api/v1/ranking?method=' + encodeURIComponent(method), { headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (res.status === 503) { document.getElementById('empty').hidden = false; return null; }
        if (!res.ok) { throw new Error('HTTP ' + res.status); }
        return res.json();
      })
      .then(function (r) { if (r) { render(r); setStatus('polling'); } })
      .catch(function () { setStatus('reconnecting'); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  // The side-by-side view: each unit's rank and composite under every method.
  var comparison = null;
  function renderCompare(c) {
    comparison = c;
    var head = document.querySelector('#compare thead tr');
    head.textContent = '';
    var th = function (text, cls) { var e = el('th', cls, text); e.setAttribute('scope', 'col'); return e; };
    head.append(th(t('unit')));
    c.methods.forEach(function (id) { head.append(th(t('rankUnder').replace('{id}', id), 'num'), th(t('compositeUnder').replace('{id}', id), 'num')); });
    c.methods.slice(1).forEach(function (id) { head.append(th(t('diffUnder').replace('{id}', id), 'num')); });
    var body = document.querySelector('#compare tbody');
    body.textContent = '';
    c.units.forEach(function (u) {
      var tr = el('tr');
      tr.setAttribute('data-region', u.region);
      var name = el('th');
      name.setAttribute('scope', 'row');
      var a = el('a', 'name-main', lang === 'zh' ? u.name_zh : u.name_en);
      a.href = '/region/' + encodeURIComponent(u.region);
      name.append(a);
      tr.append(name);
      u.places.forEach(function (p) {
        tr.append(el('td', 'num', p ? String(p.rank) : '–'), el('td', 'num' + (p ? ' g-' + p.grade : ''), p ? num(p.composite) : '–'));
      });
      u.places.slice(1).forEach(function (p) {
        var base = u.places[0];
        var d = p && base ? base.rank - p.rank : null;
        var td = el('td', 'num' + (d > 0 ? ' diff-up' : d < 0 ? ' diff-down' : ''), d === null ? '–' : d > 0 ? '+' + d : String(d));
        td.setAttribute('data-diff', d === null ? '' : String(d));
        tr.append(td);
      });
      body.append(tr);
    });
    document.body.setAttribute('data-compare', String(c.units.length));
  }
  function pollCompare() {
    fetch('/api/v1/comparison', { headers: { Accept: 'application/json' } })
      .then(function (res) { if (!res.ok) { throw new Error('HTTP ' + res.status); } return res.json(); })
      .then(function (c) { renderCompare(c); setStatus('polling'); })
      .catch(function () { setStatus('reconnecting'); })
      .then(function () { setTimeout(pollCompare, POLL_MS); });
  }

  function startDefault() {
    fetch(group ? '/api/v1/groups/' + encodeURIComponent(group) : '/api/v1/ranking', { headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (res.status === 503) { document.getElementById('empty').hidden = false; return null; }
        if (!res.ok) { throw new Error('HTTP ' + res.status); }
        return res.json();
      })
      .then(function (r) {
        if (!r) { return; }
        // The groups are ranked under the aggregator's first method, which need not be the default:
        // show that method's terms.
        methods.forEach(function (m) { if (group && m.id === r.method && !m['default'] && !methodInfo) { useMethod(m); } });
        render(r);
      })
      .catch(function () { document.getElementById('empty').hidden = false; })
      .then(connect);
  }

  if (group) {
    document.querySelector('h1').setAttribute('data-i18n', 'title_key');
    document.querySelector('#ranking caption').setAttribute('data-i18n', 'caption_key');
  }
  applyLang();
  fetch('/api/v1/methods', { headers: { Accept: 'application/json' } })
    .then(function (res) { return res.ok ? res.json() : []; })
    .catch(function () { return []; })
    .then(function (list) {
      methods = Array.isArray(list) ? list : [];
      var info = null;
      methods.forEach(function (m) { if (m.id === method && !m['default']) { info = m; } });
      fillMethods();
      if (view === 'compare') {
        document.getElementById('ranking-wrap').hidden = true;
        document.getElementById('compare-wrap').hidden = false;
        pollCompare();
      } else if (info) {
        useMethod(info);
        poll();
      } else {
        startDefault();
      }
    });
}());
