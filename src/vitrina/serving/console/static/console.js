// vitrina console: "/" moves the focus to the page's first text box (search or user id).
document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
  var active = document.activeElement;
  if (active && (active.tagName === "INPUT" || active.tagName === "TEXTAREA" || active.tagName === "SELECT")) return;
  var box = document.querySelector("main input[type=search], main input[type=text]");
  if (box) { event.preventDefault(); box.focus(); }
});
