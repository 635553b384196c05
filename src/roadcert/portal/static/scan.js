// roadcert 扫码核验: show the camera (rear one preferred), send a frame every ~400 ms to
// POST /api/scan, and open the result page of the first code of this system it finds.
// The server reads the code (zxing-cpp), so every phone browser with a camera works alike.
(() => {
  "use strict";
  const root = document.getElementById("scan");
  if (!root) return;
  const video = document.getElementById("scan-video");
  const canvas = document.getElementById("scan-canvas");
  const status = document.getElementById("scan-status");
  const errorBox = document.getElementById("scan-error");
  const errorText = document.getElementById("scan-error-text");
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";
  const frameMs = Number(root.dataset.frameMs) || 400;
  const maxBytes = Number(root.dataset.maxBytes) || 2 * 1024 * 1024;
  // Frames are scaled down to this longest side: enough for a dense code filling the view,
  // small enough to send several times a second over a phone connection.
  const MAX_SIDE = 1280;
  let stream = null;
  let done = false;

  function fail(message) {
    done = true;
    stop();
    status.textContent = "";
    errorText.textContent = message;
    errorBox.hidden = false;
  }

  function stop() {
    if (stream) {
      stream.getTracks().forEach((track) => track.stop());
      stream = null;
    }
  }

  function cameraError(error) {
    const name = error && error.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "未获得摄像头使用权限。请在浏览器设置中允许本网站使用摄像头后刷新页面，或改用上传图片核验。";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
      return "没有找到可用的摄像头，请改用上传图片核验。";
    }
    if (name === "NotReadableError") {
      return "摄像头被其他应用占用，请关闭其他应用后刷新页面，或改用上传图片核验。";
    }
    return "无法打开摄像头（" + (name || "未知错误") + "），请改用上传图片核验。";
  }

  function frameBlob() {
    const width = video.videoWidth;
    const height = video.videoHeight;
    if (!width || !height) return Promise.resolve(null);
    const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
  }

  async function sendFrame() {
    const blob = await frameBlob();
    if (!blob) return;
    if (blob.size > maxBytes) {
      status.textContent = "画面过大，无法识别";
      return;
    }
    const response = await fetch("/api/scan", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "image/jpeg", "X-CSRF-Token": csrf },
      body: blob,
    });
    let answer = {};
    try {
      answer = await response.json();
    } catch (ignored) {
      answer = {};
    }
    if (response.status === 401) {
      window.location.assign("/login?next=" + encodeURIComponent("/officer/scan"));
      done = true;
      return;
    }
    if (!response.ok) {
      if (response.status === 403) {
        fail(answer.message || "无权使用扫码核验");
      } else {
        status.textContent = answer.message || "识别出错，继续扫描…";
      }
      return;
    }
    if (answer.found && typeof answer.path === "string" && answer.path.charAt(0) === "/") {
      done = true;
      status.textContent = "已识别二维码，正在核验…";
      root.dataset.found = answer.path;
      stop();
      window.location.assign(answer.path);
      return;
    }
    status.textContent = answer.message ? answer.message + "，继续扫描…" : "正在扫描，请将二维码对准画面…";
  }

  async function loop() {
    if (done) return;
    const started = Date.now();
    try {
      await sendFrame();
    } catch (error) {
      status.textContent = "网络异常，正在重试…";
    }
    if (!done) {
      setTimeout(loop, Math.max(0, frameMs - (Date.now() - started)));
    }
  }

  async function start() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail("此浏览器无法使用摄像头（页面须通过 HTTPS 打开），请改用上传图片核验。");
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      });
    } catch (error) {
      fail(cameraError(error));
      return;
    }
    video.srcObject = stream;
    try {
      await video.play();
    } catch (ignored) {
      // autoplay is allowed for a muted video; the frames are drawn either way.
    }
    status.textContent = "正在扫描，请将二维码对准画面…";
    root.dataset.scanning = "1";
    loop();
  }

  window.addEventListener("pagehide", stop);
  start();
})();
