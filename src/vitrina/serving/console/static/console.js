// vitrina console: "/" moves the focus to the page's first text box (search or user id).
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  var active = document.activeElement;
  if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT")) return;
  var box = document.querySelector("main input[type=search], main input[type=text]");
  if (box) { event.preventDefault(); box.focus(); }
});

// Search box suggestions: GET /suggest as the shopper types, shown through the box's datalist.
(function () {
  var box = document.querySelector("input[data-suggest]");
  var list = box && document.getElementById(box.getAttribute("list"));
  if (!box || !list) return;
  var timer = null;
  var asked = "";
  function fill(query, suggestions) {
    if (query !== box.value.trim()) return; // an older answer
    while (list.firstChild) list.removeChild(list.firstChild);
    suggestions.forEach(function (s) {
      var option = document.createElement("option");
      option.value = s.text;
      option.setAttribute("data-kind", s.kind);
      list.appendChild(option);
    });
  }
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = box.value.trim();
      if (!query || query === asked) return;
      asked = query;
      var user = document.getElementById("search-user");
      var url = box.getAttribute("data-suggest") + "?k=8&q=" + encodeURIComponent(query);
      if (user && user.value.trim()) url += "&user_id=" + encodeURIComponent(user.value.trim());
      fetch(url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) { fill(query, body.suggestions || []); })
        .catch(function () { fill(query, []); });
    }, 120);
  });
})();
