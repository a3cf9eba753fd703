/* One click, one action: a form that changes something disables its buttons once sent (the
   server also refuses a second use of the form's one-time id). And the Print buttons. */
(function () {
  "use strict";
  document.querySelectorAll("form.decide, form.act").forEach(function (f) {
    f.addEventListener("submit", function () {
      f.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    });
  });
  document.querySelectorAll("button[data-print]").forEach(function (b) {
    /* a picture still being fetched (picture.js) is waited for: the paper has it */
    b.addEventListener("click", function () { (window.picturesReady || Promise.resolve()).then(function () { window.print(); }); });
  });
})();
