// Changing the sort or the section re-runs the search; everything else works without JavaScript.
document.querySelectorAll("form.search select").forEach(function (el) {
  el.addEventListener("change", function () { el.form.submit(); });
});
