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
