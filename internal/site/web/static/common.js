// govpulse pages' shared helpers, loaded before each page's script: the language of the page, the
// element builder and the number format. Text from data is set with textContent only.
(function () {
  'use strict';

  // pickLang returns 'zh' or 'en': the reader's saved choice, else the browser's language.
  function pickLang() {
    var saved = null;
    try { saved = window.localStorage.getItem('govpulse.lang'); } catch (e) { /* storage disabled */ }
    if (saved === 'zh' || saved === 'en') { return saved; }
    return (navigator.language || '').toLowerCase().indexOf('zh') === 0 ? 'zh' : 'en';
  }
  // num formats a score with two decimals, or a dash when there is none.
  function num(x) { return typeof x === 'number' ? x.toFixed(2) : '–'; }
  // el creates an element with an optional class and text (none when text is undefined or null).
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  window.govpulse = { pickLang: pickLang, num: num, el: el };
})();
