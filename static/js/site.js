// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // "Held for you for 12:41": count down from the server-rendered deadline (unix seconds).
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("[data-countdown]").forEach(function (el) {
      var left = Math.max(0, Math.floor(Number(el.getAttribute("data-countdown")) - now));
      el.textContent = left > 0 ? Math.floor(left / 60) + ":" + pad(left % 60) : "0:00 (hold ended)";
      el.setAttribute("aria-label", left > 0 ? Math.ceil(left / 60) + " minutes" : "hold ended");
    });
  }

  // Sort menus submit on change; their Sort button is only for visitors without JS.
  function autosubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.documentElement.classList.add("js");
  }

  // Gallery thumbnails swap the main photo instead of opening the file.
  function gallery() {
    var main = document.querySelector(".gallery-main img");
    if (!main) return;
    document.querySelectorAll("[data-gallery-thumb]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        main.src = link.getAttribute("href");
        var img = link.querySelector("img");
        if (img) main.alt = img.alt;
      });
    });
  }

  // Double-click guard for forms that must be sent once (checkout): disable the button after submit.
  function onceForms() {
    document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("button[type=submit]").forEach(function (b) {
          setTimeout(function () { b.disabled = true; b.textContent = "Placing your order…"; }, 0);
        });
      });
    });
  }

  // Escape closes the search suggestions (htmx fills them as the shopper types) and returns to the box;
  // a second Escape is the browser's own (clears the box).
  function searchSuggestions() {
    var box = document.getElementById("site-search-suggestions");
    var input = document.getElementById("site-search-q");
    if (!box || !input) return;
    box.parentNode.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !box.firstElementChild) return;
      event.preventDefault();
      box.textContent = "";
      input.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    autosubmit(); gallery(); onceForms(); searchSuggestions(); tick();
    setInterval(tick, 1000);  // also picks up countdowns that htmx swaps in
  });
})();
