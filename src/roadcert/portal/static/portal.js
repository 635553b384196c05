// roadcert portal: small behaviours shared by every page (no inline scripts: the CSP forbids them).
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-print]");
  if (target) {
    event.preventDefault();
    window.print();
  }
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.dataset.confirm)) {
    event.preventDefault();
  }
});
