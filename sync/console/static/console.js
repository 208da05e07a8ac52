// crmsync console: small helpers of our own; every page works without them.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input.pick").forEach(function (box) { box.checked = all.checked; });
    });
  }
  document.querySelectorAll("button.confirm").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.textContent + "?")) { event.preventDefault(); }
    });
  });
});
