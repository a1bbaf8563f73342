// govpulse reviews (好差评): on a unit page the unit's review outputs (bad-review rate, appeals,
// rectifications with the overdue cases, follow-up satisfaction, per day) and its alerts, from
// /api/v1/regions/<code>/reviews; on the ranking page the recent alerts of every unit, from
// /api/v1/alerts. Both refresh every minute. Text from data is set with textContent only.
(function () {
  'use strict';
  var el = window.govpulse.el;

  var TEXT = {
    en: {
      reviews: 'Reviews (好差评), last 30 days', reviews_caption: 'Per day (UTC+8), newest first.',
      reviews_n: 'Reviews', bad_rate: 'Bad-review rate', appeals_upheld: 'Appeals upheld / decided',
      opened: 'Rectifications opened', closed_on_time: 'Closed on time', closed_late: 'Closed late',
      overdue: 'Overdue', on_time_rate: 'On-time rectification rate', follow_up: 'Follow-up satisfaction (1–5)',
      overdue_cases: 'Overdue cases (review ids)', day: 'Day', none: 'none', no_reviews: 'No reviews yet.',
      alerts: 'Alerts', recent_alerts: 'Recent alerts of bad reviews', no_alerts: 'No alerts.',
      raised: 'raised', ended: 'ended', window: 'window', baseline: 'baseline', top: 'items'
    },
    zh: {
      reviews: '好差评（近 30 天）', reviews_caption: '按日（北京时间），最新在前。',
      reviews_n: '评价数', bad_rate: '差评率', appeals_upheld: '申诉成立 / 已复核',
      opened: '整改立案', closed_on_time: '按期办结', closed_late: '逾期办结',
      overdue: '超期未办结', on_time_rate: '按期整改率', follow_up: '整改回访满意度（1–5）',
      overdue_cases: '超期案件（评价编号）', day: '日期', none: '无', no_reviews: '暂无评价。',
      alerts: '预警', recent_alerts: '最近的差评预警', no_alerts: '暂无预警。',
      raised: '发出', ended: '解除', window: '时段', baseline: '基线', top: '事项'
    }
  };

  function lang() { return document.documentElement.lang === 'zh-CN' ? 'zh' : 'en'; }
  function t(key) { return TEXT[lang()][key] || TEXT.en[key] || key; }
  function pct(x) { return typeof x === 'number' ? (100 * x).toFixed(1) + '%' : '–'; }
  function dec(x) { return typeof x === 'number' ? x.toFixed(2) : '–'; }
  function day(iso) { return new Date(Date.parse(iso) + 8 * 3600 * 1000).toISOString().slice(0, 10); }
  function when(iso) { return iso ? iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, ' UTC') : '–'; }

  function section(id, titleKey) {
    var s = el('section');
    s.id = id;
    s.setAttribute('aria-labelledby', id + '-title');
    var h = el('h2', null, t(titleKey));
    h.id = id + '-title';
    s.appendChild(h);
    document.getElementById('main').appendChild(s);
    return s;
  }

  function alertItem(a) {
    var li = el('li', 'alert ' + a.state);
    li.dataset.state = a.state;
    var top = (a.top_items || []).map(function (it, i) { return it + ' ×' + a.top_bad[i]; }).join(', ');
    li.textContent = a.region + ' · ' + t(a.state) + ' · ' + t('window') + ' ' + when(a.window_start) + ' – ' +
      when(a.window_end) + ' · ' + a.bad + '/' + a.reviews + ' · ' + t('baseline') + ' ' + a.baseline_bad + '/' +
      a.baseline_reviews + (top ? ' · ' + t('top') + ' ' + top : '');
    return li;
  }

  function alertList(list, alerts) {
    list.textContent = '';
    if (!alerts.length) { list.appendChild(el('li', 'none', t('no_alerts'))); }
    alerts.forEach(function (a) { list.appendChild(alertItem(a)); });
  }

  // The unit page.
  function unit(code) {
    var s = section('reviews', 'reviews');
    var facts = el('dl', 'facts');
    facts.id = 'review-facts';
    s.appendChild(facts);
    var casesTitle = el('h3', null, t('overdue_cases'));
    s.appendChild(casesTitle);
    var cases = el('ul', 'cases');
    cases.id = 'overdue-cases';
    s.appendChild(cases);
    var wrap = el('div', 'table-wrap');
    var table = el('table', 'events');
    table.id = 'review-days';
    var cap = el('caption', null, t('reviews_caption'));
    table.appendChild(cap);
    var thead = el('thead');
    var tbody = el('tbody');
    table.appendChild(thead);
    table.appendChild(tbody);
    wrap.appendChild(table);
    s.appendChild(wrap);
    var alertsTitle = el('h3', null, t('alerts'));
    s.appendChild(alertsTitle);
    var alerts = el('ul', 'alerts');
    alerts.id = 'unit-alerts';
    s.appendChild(alerts);
    var data = null;

    function render() {
      if (!data) { return; }
      s.querySelector('h2').textContent = t('reviews');
      casesTitle.textContent = t('overdue_cases');
      alertsTitle.textContent = t('alerts');
      cap.textContent = t('reviews_caption');
      facts.textContent = '';
      var r = data.rolling;
      if (!r) {
        facts.appendChild(el('dd', null, t('no_reviews')));
      } else {
        [['reviews_n', String(r.reviews)], ['bad_rate', pct(r.bad_rate)],
          ['appeals_upheld', r.appeals_upheld + ' / ' + r.appeals], ['opened', String(r.rectifications_opened)],
          ['closed_on_time', String(r.closed_on_time)], ['closed_late', String(r.closed_late)],
          ['overdue', String(r.overdue)], ['on_time_rate', pct(r.on_time_rate)],
          ['follow_up', dec(r.follow_up_mean)]].forEach(function (f) {
          var dt = el('dt', null, t(f[0]));
          var dd = el('dd', null, f[1]);
          dd.dataset.key = f[0];
          facts.appendChild(dt);
          facts.appendChild(dd);
        });
      }
      cases.textContent = '';
      var ids = r ? r.overdue_cases : [];
      if (!ids.length) { cases.appendChild(el('li', 'none', t('none'))); }
      ids.forEach(function (id) { cases.appendChild(el('li', null, id)); });
      thead.textContent = '';
      var hr = el('tr');
      ['day', 'reviews_n', 'bad_rate', 'appeals_upheld', 'opened', 'closed_on_time', 'overdue', 'on_time_rate'].forEach(function (k) {
        var th = el('th', null, t(k));
        th.scope = 'col';
        hr.appendChild(th);
      });
      thead.appendChild(hr);
      tbody.textContent = '';
      data.days.forEach(function (d) {
        var tr = el('tr');
        [day(d.start), String(d.reviews), pct(d.bad_rate), d.appeals_upheld + ' / ' + d.appeals,
          String(d.rectifications_opened), String(d.closed_on_time), String(d.overdue), pct(d.on_time_rate)].forEach(function (v) {
          tr.appendChild(el('td', null, v));
        });
        tbody.appendChild(tr);
      });
      alertList(alerts, data.alerts);
    }
    function load() {
      fetch('/api/v1/regions/' + encodeURIComponent(code) + '/reviews').then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) { data = d; render(); } }).catch(function () { /* the next refresh tries again */ });
    }
    document.addEventListener('click', function (e) {
      if (e.target.closest && e.target.closest('[data-lang]')) { setTimeout(render, 0); }
    });
    load();
    setInterval(load, 60000);
  }

  // The ranking page.
  function recent() {
    var s = section('alerts', 'recent_alerts');
    var list = el('ul', 'alerts');
    list.id = 'recent-alerts';
    s.appendChild(list);
    var alerts = null;
    function render() {
      if (!alerts) { return; }
      s.querySelector('h2').textContent = t('recent_alerts');
      alertList(list, alerts);
    }
    function load() {
      fetch('/api/v1/alerts').then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) { alerts = d.alerts; render(); } }).catch(function () { /* the next refresh tries again */ });
    }
    document.addEventListener('click', function (e) {
      if (e.target.closest && e.target.closest('[data-lang]')) { setTimeout(render, 0); }
    });
    load();
    setInterval(load, 60000);
  }

  function start() {
    var parts = location.pathname.split('/');
    if (parts[1] === 'region' && parts[2]) { unit(decodeURIComponent(parts[2])); } else { recent(); }
  }
  if (document.readyState === 'loading') { document.addEventListener('DOMContentLoaded', start); } else { start(); }
}());
