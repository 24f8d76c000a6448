// The Tonight page follows the evening: it reloads every 15 s, but never under a hand that is
// typing an order (a focused field, or a reason already written).
const EVERY_MS = 15000;
function busy() {
  const active = document.activeElement;
  if (active && active.closest("#orders")) return true;
  return [...document.querySelectorAll("#orders input[name=reason]")].some((i) => i.value);
}
setInterval(() => { if (!busy() && !document.hidden) location.reload(); }, EVERY_MS);
