// govpulse drill-down page (/units/{code}): a unit, the units above it (breadcrumb), where it ranks
// and the rankings of the units directly under it. Loads /api/v1/units/{code} and
// /api/v1/groups/{group}, then follows /api/v1/stream?group=...; text from data is set with
// textContent only.
(function () {
  'use strict';
  var pickLang = window.govpulse.pickLang, num = window.govpulse.num, el = window.govpulse.el;

  var TEXT = {
    en: {
      skip: 'Skip to the units', back: 'govpulse · ranking', code: 'Code', details: 'scores, history and events',
      places: 'Where it ranks', leaf: 'No units are ranked below this one.', foot: 'Read API:',
      all: 'All provincial units', live: 'live', connecting: 'connecting…', reconnecting: 'reconnecting…',
      provincial: 'provincial unit', prefecture: 'prefecture-level unit', county: 'county-level unit',
      g_provinces: 'the 32 provincial units', g_key_cities: 'the 32 key cities',
      g_cities: 'the cities of {name}', g_counties: 'the county-level units of {name}',
      h_cities: 'Cities of {name}', h_counties: 'County-level units of {name}',
      caption: 'Ranked by their composite index; units without events rank last. The table updates live.',
      rank: 'Rank', unit: 'Unit', composite: 'Composite', grade: 'Grade', change: 'Change', below: 'Below',
      of: 'of {n}', down: '{n} below ›', noEvents: 'no events', unranked: 'no events yet: ranked last',
      g_very_high: 'very high', g_high: 'high', g_medium: 'medium', g_low: 'low',
      up: 'up', downBy: 'down', same: 'unchanged', moved: '{name} moved {dir} {n} to rank {rank}', waiting: 'not ranked yet'
    },
    zh: {
      skip: '跳到单位', back: 'govpulse · 排名', code: '代码', details: '得分、历史与事件',
      places: '排名位置', leaf: '该单位之下没有参与排名的单位。', foot: '数据接口：',
      all: '全部省级单位', live: '实时', connecting: '正在连接…', reconnecting: '正在重新连接…',
      provincial: '省级单位', prefecture: '地级单位', county: '县级单位',
      g_provinces: '32 个省级单位', g_key_cities: '32 个重点城市',
      g_cities: '{name}地级单位', g_counties: '{name}县级单位',
      h_cities: '{name}地级单位', h_counties: '{name}县级单位',
      caption: '按总体指数排名；没有事件的单位排在最后。表格实时更新。',
      rank: '排名', unit: '单位', composite: '总体指数', grade: '等级', change: '变化', below: '下辖',
      of: '共 {n} 个', down: '下辖 {n} ›', noEvents: '暂无事件', unranked: '暂无事件：排在最后',
      g_very_high: '非常高', g_high: '高', g_medium: '中', g_low: '低',
      up: '上升', downBy: '下降', same: '不变', moved: '{name}{dir} {n} 位，现排第 {rank}', waiting: '尚未排名'
    }
  };

  var HIGHLIGHT_MS = 4000; // how long a row that moved stays marked
  var code = decodeURIComponent(window.location.pathname.split('/')[2] || '');
  var lang = pickLang();
  var unit = null; // /api/v1/units/{code}
  var childCount = new Map(); // child code -> units directly under it
  var rankings = new Map(); // group name -> the latest ranking shown
  var tables = new Map(); // child group name -> table parts

  function t(key) { return (TEXT[lang] && TEXT[lang][key]) || TEXT.en[key] || key; }
  function nameOf(u) { return lang === 'zh' ? u.name_zh : u.name_en; }
  function otherName(u) { return lang === 'zh' ? u.name_en : u.name_zh; }
  function unitLink(region) { return '/units/' + encodeURIComponent(region); }
  // scored reports whether a ranking entry comes from a score: a unit without events has none
  // and is ranked last.
  function scored(e) { return e.score_version > 0; }

  // groupLabel names a group in the current language ("the cities of Zhejiang").
  function groupLabel(g, heading) {
    if (g.group === 'provinces') { return t('g_provinces'); }
    if (g.group === 'key-cities') { return t('g_key_cities'); }
    var kind = g.group.indexOf('cities-') === 0 ? 'cities' : 'counties';
    return t((heading ? 'h_' : 'g_') + kind).replace('{name}', g.parent ? nameOf(g.parent) : '');
  }

  var statusState = 'connecting';
  function setStatus(state) {
    statusState = state;
    var s = document.getElementById('status');
    s.setAttribute('data-state', state === 'live' ? 'live' : 'connecting');
    s.textContent = t(state);
  }

  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.querySelectorAll('[data-i18n]').forEach(function (e) { e.textContent = t(e.getAttribute('data-i18n')); });
    document.querySelectorAll('.lang button').forEach(function (b) {
      b.setAttribute('aria-pressed', String(b.getAttribute('data-lang') === lang));
    });
    setStatus(statusState);
    if (!unit) { return; }
    document.title = 'govpulse · ' + nameOf(unit);
    document.getElementById('name').textContent = nameOf(unit);
    var other = document.getElementById('other-name');
    other.textContent = otherName(unit);
    other.setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
    document.getElementById('level').textContent = t(unit.level);
    fillCrumbs();
    fillPlaces();
    tables.forEach(function (tb) { fillTable(tb); });
  }

  // fillCrumbs shows the way up: the ranking of the provincial units, then each unit above.
  function fillCrumbs() {
    var ol = document.getElementById('crumbs');
    ol.textContent = '';
    var li = el('li');
    var a = el('a', '', t('all'));
    a.href = '/';
    li.append(a);
    ol.append(li);
    unit.ancestors.forEach(function (u) {
      var li = el('li');
      var a = el('a', '', nameOf(u));
      a.href = unitLink(u.region);
      a.setAttribute('data-region', u.region);
      li.append(a);
      ol.append(li);
    });
    var cur = el('li');
    var span = el('span', '', nameOf(unit));
    span.setAttribute('aria-current', 'page');
    cur.append(span);
    ol.append(cur);
  }

  // fillPlaces shows the unit's rank in each group it is ranked in.
  function fillPlaces() {
    var ul = document.getElementById('places');
    ul.textContent = '';
    unit.groups.forEach(function (name) {
      var g = rankings.get(name);
      var li = el('li');
      li.setAttribute('data-group', name);
      if (!g) { li.append(el('span', 'place-of', t('waiting'))); ul.append(li); return; }
      var e = null;
      g.ranking.forEach(function (x) { if (x.region === code) { e = x; } });
      if (!e) { return; }
      var link = el('a', '', groupLabel(g, false));
      link.href = g.group === 'provinces' || g.group === 'key-cities' ? (g.group === 'provinces' ? '/' : '/?group=key-cities') : unitLink(g.parent.region);
      li.append(el('span', 'place-rank', String(e.rank)), document.createTextNode(' '),
        el('span', 'place-of', t('of').replace('{n}', String(g.ranking.length))), document.createTextNode(' · '), link);
      if (scored(e)) {
        li.append(el('span', 'chip grade-' + e.grade, num(e.composite) + ' · ' + t('g_' + e.grade)));
      } else {
        li.append(el('span', 'chip no-events', t('unranked')));
      }
      li.setAttribute('data-rank', String(e.rank));
      ul.append(li);
    });
  }

  // makeTable builds the section of one group of units directly under this one.
  function makeTable(name) {
    var sec = el('section');
    sec.setAttribute('data-group', name);
    var h2 = el('h2');
    h2.id = 'group-' + name;
    sec.setAttribute('aria-labelledby', h2.id);
    var wrap = el('div', 'table-wrap');
    var table = el('table', 'ranking drill');
    var caption = el('caption');
    var thead = el('thead');
    var hr = el('tr');
    var heads = [['rank', 'num'], ['unit', ''], ['composite', 'num'], ['grade', 'grade-col'], ['change', 'num'], ['below', '']];
    var ths = heads.map(function (h) { var th = el('th', h[1]); th.setAttribute('scope', 'col'); th.setAttribute('data-key', h[0]); hr.append(th); return th; });
    thead.append(hr);
    var tbody = el('tbody');
    table.append(caption, thead, tbody);
    wrap.append(table);
    sec.append(h2, wrap);
    document.getElementById('groups').append(sec);
    var tb = { name: name, h2: h2, caption: caption, ths: ths, tbody: tbody, rows: new Map() };
    tables.set(name, tb);
    return tb;
  }

  function fillTable(tb) {
    var g = rankings.get(tb.name);
    tb.caption.textContent = t('caption');
    tb.ths.forEach(function (th) { th.textContent = t(th.getAttribute('data-key')); });
    if (!g) { return; }
    tb.h2.textContent = groupLabel(g, true) + ' (' + g.ranking.length + ')';
    var oldRank = new Map();
    tb.rows.forEach(function (tr, region) { oldRank.set(region, Number(tr.getAttribute('data-rank'))); });
    var seen = new Set();
    var announcements = [];
    g.ranking.forEach(function (e) {
      var tr = tb.rows.get(e.region);
      if (!tr) { tr = el('tr'); tr.setAttribute('data-region', e.region); tb.rows.set(e.region, tr); }
      seen.add(e.region);
      tr.textContent = '';
      tr.setAttribute('data-rank', String(e.rank));
      tr.classList.toggle('unranked', !scored(e));
      tr.append(el('td', 'rank num', String(e.rank)));
      var th = el('th');
      th.setAttribute('scope', 'row');
      var a = el('a', 'name-main', nameOf(e));
      a.href = unitLink(e.region);
      var other = el('span', 'name-other', otherName(e));
      other.setAttribute('lang', lang === 'zh' ? 'en' : 'zh-CN');
      th.append(a, other);
      tr.append(th);
      tr.append(el('td', 'composite num' + (scored(e) ? ' g-' + e.grade : ''), scored(e) ? num(e.composite) : '–'));
      var gc = el('td', 'grade-col');
      gc.append(scored(e) ? el('span', 'chip grade-' + e.grade, t('g_' + e.grade)) : el('span', 'chip no-events', t('noEvents')));
      tr.append(gc);
      var ch = el('td', 'change num');
      var s;
      if (e.change > 0) { s = el('span', 'up', '▲' + e.change); s.setAttribute('aria-label', t('up') + ' ' + e.change); }
      else if (e.change < 0) { s = el('span', 'down', '▼' + (-e.change)); s.setAttribute('aria-label', t('downBy') + ' ' + (-e.change)); }
      else { s = el('span', 'same', '='); s.setAttribute('aria-label', t('same')); }
      ch.append(s);
      tr.append(ch);
      var below = el('td', 'children');
      var n = childCount.get(e.region) || 0;
      if (n > 0) {
        var d = el('a', '', t('down').replace('{n}', String(n)));
        d.href = unitLink(e.region);
        below.append(d);
      }
      tr.append(below);
      var before = oldRank.get(e.region);
      if (before && before !== e.rank) {
        tr.classList.remove('moved-up', 'moved-down');
        tr.classList.add(before > e.rank ? 'moved-up' : 'moved-down');
        clearTimeout(tr.govpulseTimer);
        tr.govpulseTimer = setTimeout(function () { tr.classList.remove('moved-up', 'moved-down'); }, HIGHLIGHT_MS);
        announcements.push(t('moved').replace('{name}', nameOf(e)).replace('{dir}', before > e.rank ? t('up') : t('downBy'))
          .replace('{n}', String(Math.abs(before - e.rank))).replace('{rank}', String(e.rank)));
      }
      tb.tbody.append(tr); // appending in rank order moves the row
    });
    tb.rows.forEach(function (tr, region) { if (!seen.has(region)) { tr.remove(); tb.rows.delete(region); } });
    if (announcements.length) { document.getElementById('announce').textContent = announcements.slice(0, 5).join('. '); }
  }

  // show keeps ranking g of its group when it is newer than the one shown, and redraws.
  function show(g) {
    if (!g || !Array.isArray(g.ranking)) { return; }
    var have = rankings.get(g.group);
    if (have && g.version <= have.version && have.version > 0) { return; }
    rankings.set(g.group, g);
    var tb = tables.get(g.group);
    if (tb) { fillTable(tb); }
    if (unit.groups.indexOf(g.group) >= 0) { fillPlaces(); }
    var v = 0;
    rankings.forEach(function (r) { v = Math.max(v, r.version); });
    document.body.setAttribute('data-version', String(v));
  }

  function getJSON(path) {
    return fetch(path, { headers: { Accept: 'application/json' } }).then(function (res) {
      if (!res.ok) { throw new Error(path + ': HTTP ' + res.status); }
      return res.json();
    });
  }

  // A page left for another (and maybe kept in the back-forward cache) closes its stream, so that
  // the streams of pages left behind never hold the browser's connections; it opens a new one,
  // which brings it up to date, when it is shown again.
  var es = null;
  window.addEventListener('pagehide', function () { if (es) { es.close(); es = null; } });
  window.addEventListener('pageshow', function (ev) { if (ev.persisted && unit) { connect(); } });

  function connect() {
    if (!window.EventSource || es) { return; }
    var follow = unit.groups.concat(unit.child_groups).filter(function (g) { return g !== 'provinces'; });
    var q = '?region=' + encodeURIComponent(code) + (follow.length ? '&group=' + follow.map(encodeURIComponent).join(',') : '');
    es = new EventSource('/api/v1/stream' + q);
    es.addEventListener('open', function () { setStatus('live'); });
    es.addEventListener('error', function () { setStatus('reconnecting'); });
    es.addEventListener('group', function (ev) { show(JSON.parse(ev.data)); });
    if (unit.groups.indexOf('provinces') >= 0) {
      es.addEventListener('ranking', function (ev) {
        var r = JSON.parse(ev.data);
        r.group = 'provinces';
        r.parent = null;
        show(r);
      });
    }
  }

  document.querySelectorAll('.lang button').forEach(function (b) {
    b.addEventListener('click', function () {
      lang = b.getAttribute('data-lang');
      try { window.localStorage.setItem('govpulse.lang', lang); } catch (e) { /* storage disabled */ }
      applyLang();
    });
  });

  applyLang();
  document.getElementById('code').textContent = code;
  document.getElementById('details').href = '/region/' + encodeURIComponent(code);
  var api = document.getElementById('api');
  api.href = '/api/v1/units/' + encodeURIComponent(code);
  api.textContent = api.getAttribute('href');
  getJSON('/api/v1/units/' + encodeURIComponent(code))
    .then(function (u) {
      unit = u;
      u.children.forEach(function (c) { childCount.set(c.region, c.children); });
      u.child_groups.forEach(makeTable);
      document.getElementById('leaf').hidden = u.child_groups.length > 0;
      applyLang();
      return Promise.all(u.groups.concat(u.child_groups).map(function (g) {
        return getJSON('/api/v1/groups/' + encodeURIComponent(g)).then(show);
      }));
    })
    .then(function () { document.body.setAttribute('data-loaded', 'true'); connect(); })
    .catch(function () { setStatus('reconnecting'); });
}());
