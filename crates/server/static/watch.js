// The watch page reports what the player did in its title (scripts/e2e-browser.sh reads it):
// the decoded width, the playback position and the time to the first frame.
const v = document.getElementById('v');
let ttff = '';
function report() {
  document.title = 'w=' + v.videoWidth + ' t=' + v.currentTime.toFixed(2) + ttff;
}
if (v) {
  if (v.requestVideoFrameCallback) {
    v.requestVideoFrameCallback(() => {
      ttff = ' ttff=' + performance.now().toFixed(0);
      report();
    });
  }
  v.addEventListener('timeupdate', report);
  v.addEventListener('loadedmetadata', report);
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
