// The print buttons of the printable pages (a one-time code, a patron's own log).
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
