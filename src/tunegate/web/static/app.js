// Live jobs: each element with data-sse listens to its job's server-sent events, swaps in the
// fragment the server renders on every change, and reloads the page when the job ends.
(function () {
  "use strict";
  function listen(box) {
    var source = new EventSource(box.getAttribute("data-sse"));
    source.addEventListener("update", function (ev) {
      box.innerHTML = ev.data;
      if (window.htmx) { window.htmx.process(box); }
    });
    source.addEventListener("done", function () {
      source.close();
      window.location.reload();
    });
  }
  document.querySelectorAll("[data-sse]").forEach(listen);
})();
