// 亮证 page: renews the signed code every few seconds, counts down its life, keeps a live clock
// (so a still screenshot is recognisable). No inline script: the CSP forbids it.
(() => {
  "use strict";
  const card = document.getElementById("show");
  if (!card) {
    return;
  }
  const qr = document.getElementById("qr");
  const box = document.getElementById("qr-box");
  const clock = document.getElementById("clock");
  const left = document.getElementById("seconds-left");
  const bar = document.getElementById("bar");
  const statusLine = document.getElementById("status-line");
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const refreshMs = Number(card.dataset.refresh) * 1000;
  let ttl = Number(card.dataset.ttl);
  // Counted on this device's clock from when the code arrived, so a phone whose clock is off
  // still counts the right number of seconds.
  let expiresAt = Date.now() + ttl * 1000;
  let busy = false;

  const pad = (n) => String(n).padStart(2, "0");

  function tick() {
    const now = new Date();
    clock.textContent = `${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
    const remaining = Math.max(0, Math.ceil((expiresAt - Date.now()) / 1000));
    left.textContent = String(remaining);
    bar.style.width = `${Math.round((remaining / ttl) * 100)}%`;
    box.classList.toggle("expired", remaining <= 0);
    if (remaining <= 0) {
      refresh();
    }
  }

  async function refresh() {
    if (busy) {
      return;
    }
    busy = true;
    try {
      const response = await fetch("/api/show-codes", {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "X-CSRF-Token": csrf ? csrf.content : "",
        },
        body: JSON.stringify({ ecert: card.dataset.ecert, refresh: true }),
      });
      const data = await response.json();
      if (!response.ok) {
        throw new Error(data.message || `HTTP ${response.status}`);
      }
      qr.src = data.png;
      qr.dataset.text = data.text;
      ttl = data.ttl_seconds;
      expiresAt = Date.now() + ttl * 1000;
      statusLine.textContent = "";
      card.dataset.refreshed = String(Number(card.dataset.refreshed || 0) + 1);
      tick();
    } catch (error) {
      statusLine.textContent = `无法更新亮证码：${error.message}`;
    } finally {
      busy = false;
    }
  }

  tick();
  setInterval(tick, 1000);
  setInterval(refresh, refreshMs);
  // A phone coming back from the lock screen gets a fresh code at once.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") {
      refresh();
    }
  });
})();
