'use strict';
// The watch page: keyboard shortcuts for the player, the publisher's trust button, and a report
// of what the player did in the video element's data-report attribute (w= decoded width,
// t= position, ttff= milliseconds to the first frame), which the end-to-end scripts read.
const v = document.getElementById('v');
if (v) {
  let ttff = '';
  const report = () => {
    v.dataset.report = 'w=' + (v.videoWidth || 0) + ' t=' + v.currentTime.toFixed(2) + ttff;
  };
  if (v.requestVideoFrameCallback) {
    v.requestVideoFrameCallback(() => {
      ttff = ' ttff=' + performance.now().toFixed(0);
      report();
    });
  }
  for (const e of ['timeupdate', 'loadedmetadata', 'seeked']) v.addEventListener(e, report);
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement || e.altKey || e.ctrlKey || e.metaKey) return;
    // The interactive player keeps a seek inside the clip that plays (story.js).
    const seek = (s) => (v.bitflixSeek ? v.bitflixSeek(s) : (v.currentTime = Math.max(0, v.currentTime + s)));
    const keys = {
      ' ': () => (v.paused ? v.play() : v.pause()),
      k: () => (v.paused ? v.play() : v.pause()),
      ArrowLeft: () => seek(-5),
      ArrowRight: () => seek(5),
      j: () => seek(-10),
      l: () => seek(10),
      m: () => { v.muted = !v.muted; },
      f: () => (document.fullscreenElement ? document.exitFullscreen() : v.requestFullscreen()),
    };
    const act = keys[e.key];
    if (act && e.target !== v) {
      e.preventDefault();
      Promise.resolve(act()).catch(() => {});
    }
  });
}
// Trust (pin) or stop trusting a publisher; only this page's own origin may (see trust.rs).
for (const b of document.querySelectorAll('button.pin')) {
  b.addEventListener('click', () => {
    const method = b.dataset.action === 'trust' ? 'POST' : 'DELETE';
    fetch('/api/trust/' + encodeURIComponent(b.dataset.key), {
      method,
      headers: { 'x-bitflix-action': 'trust' },
    }).then((r) => {
      if (r.ok) location.reload();
      else b.textContent = 'could not change trust (' + r.status + ')';
    });
  });
}
