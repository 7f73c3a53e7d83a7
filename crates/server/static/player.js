'use strict';
// The streaming player (Media Source Extensions). It reads the film's manifest, appends the WebM
// init segment, then the fragments around the playhead, fetched one at a time as playback needs
// them (so seeking anywhere in a complete film fetches only what is shown from there). A film
// still arriving grows in place: the server announces each newly verified part (server-sent
// events) and the player appends it. Errors are said in words under the video.
(() => {
  const v = document.getElementById('v');
  const status = document.getElementById('status');
  if (!v || !v.dataset.id) return;
  const id = v.dataset.id;
  const base = '/api/content/' + id;
  const AHEAD_MS = 30000;
  let manifest = null;
  let ms = null;
  let sb = null;
  let busy = false;
  let failed = false;
  let starting = false;

  const say = (text, kind) => {
    status.textContent = text;
    status.className = 'status' + (kind ? ' ' + kind : '');
  };
  const fail = (text) => {
    failed = true;
    say(text, 'error');
    v.dataset.error = text;
  };

  const reason = async (r) => {
    try {
      return (await r.json()).error || 'HTTP ' + r.status;
    } catch (e) {
      return 'HTTP ' + r.status;
    }
  };
  const fetchBytes = async (url) => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(await reason(r));
    return r.arrayBuffer();
  };
  // Started with the manifest, not after it: the init segment and the first fragment are what
  // every playback needs first, and fetching them in parallel saves two round trips.
  const early = new Map();
  const prefetch = (url) => {
    const p = fetchBytes(url);
    p.catch(() => {});
    early.set(url, p);
  };
  const take = (url) => {
    const p = early.get(url);
    early.delete(url);
    // A prefetch that failed (a fragment not closed yet then) is simply asked again.
    return p ? p.catch(() => fetchBytes(url)) : fetchBytes(url);
  };

  // Append one buffer and wait for the browser to take it.
  const append = (buf) =>
    new Promise((resolve, reject) => {
      const done = () => { off(); resolve(); };
      const err = () => { off(); reject(new Error('the browser could not read this part of the film')); };
      const off = () => {
        sb.removeEventListener('updateend', done);
        sb.removeEventListener('error', err);
      };
      sb.addEventListener('updateend', done);
      sb.addEventListener('error', err);
      try {
        sb.appendBuffer(buf);
      } catch (e) {
        off();
        reject(e);
      }
    });

  const idle = () => new Promise((resolve) => {
    if (!sb.updating) resolve();
    else sb.addEventListener('updateend', () => resolve(), { once: true });
  });

  // Whether fragment f is in the buffer (its middle is inside a buffered range).
  const buffered = (f) => {
    const mid = (f.start_ms + f.end_ms) / 2000;
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= mid && mid < v.buffered.end(i)) return true;
    }
    return false;
  };

  const usable = (f) => f.closed || manifest.complete;

  const next = () => {
    const t = v.currentTime * 1000;
    for (const f of manifest.fragments) {
      if (!usable(f)) return null;
      if (f.end_ms <= t) continue;
      if (f.start_ms > t + AHEAD_MS) return null;
      if (!buffered(f)) return f;
    }
    return null;
  };

  // Free what lies well behind the playhead when the browser's buffer is full.
  const trim = async () => {
    const behind = v.currentTime - 10;
    if (behind > 0) {
      await idle();
      sb.remove(0, behind);
      await idle();
    }
  };

  const setDuration = async () => {
    const d = (manifest.complete ? Math.max(manifest.duration_ms, manifest.declared_duration_ms || 0) : manifest.duration_ms) / 1000;
    if (ms.readyState !== 'open' || !(d > 0)) return;
    await idle();
    if (ms.readyState === 'open' && Math.abs(ms.duration - d) > 0.001 && !(ms.duration > d && !manifest.complete)) {
      try { ms.duration = d; } catch (e) { /* the buffer holds more than d: keep it */ }
    }
  };

  const maybeEnd = async () => {
    if (!manifest.complete || ms.readyState !== 'open') return;
    if (!manifest.fragments.every(buffered)) return;
    await idle();
    if (ms.readyState === 'open') ms.endOfStream();
  };

  const pump = async () => {
    if (busy || !sb || failed) return;
    busy = true;
    try {
      for (let f = next(); f; f = next()) {
        const buf = await take(base + '/media/' + f.index);
        try {
          await append(buf);
        } catch (e) {
          if (e.name !== 'QuotaExceededError') throw e;
          await trim();
          await append(buf);
        }
      }
      await maybeEnd();
    } catch (e) {
      fail('Playback stopped: ' + e.message + '.');
    } finally {
      busy = false;
    }
  };

  const progress = () => {
    if (failed) return;
    const n = manifest.segment_count;
    const parts = manifest.complete
      ? ''
      : 'Still arriving: ' + manifest.segments_verified + (n ? ' of ' + n : '') + ' segments verified; more plays as it is mined or relayed.';
    const audio = manifest.audio_left_out ? ' Its audio (Codec 2) does not play in browsers: bitflix extract gives it.' : '';
    say((parts + audio).trim());
  };

  const update = async (m) => {
    manifest = m;
    progress();
    await setDuration();
    pump();
  };

  const listen = () => {
    const es = new EventSource(base + '/events');
    es.addEventListener('manifest', (e) => {
      const m = JSON.parse(e.data);
      if (sb) update(m);
      else if (!starting) start(m);
      else manifest = m;
      if (m.complete) es.close();
    });
    es.addEventListener('gone', () => {
      es.close();
      fail('This content left the chain view of this gateway (a reorganisation or an eviction from the mempool).');
    });
    es.addEventListener('error', (e) => {
      if (e.data) say('The gateway could not read the new part: ' + e.data, 'error');
    });
  };

  const start = async (m) => {
    starting = true;
    manifest = m;
    if (!window.MediaSource) {
      v.src = base + '/file';
      say('This browser has no Media Source Extensions: it plays the whole file once it is loaded.');
      return;
    }
    if (!MediaSource.isTypeSupported(m.mime)) {
      fail('This browser cannot play this film\'s format (' + m.mime + ': AV1 video, Opus audio).');
      return;
    }
    ms = new MediaSource();
    v.src = URL.createObjectURL(ms);
    await new Promise((resolve) => ms.addEventListener('sourceopen', resolve, { once: true }));
    try {
      sb = ms.addSourceBuffer(m.mime);
      await append(await take(base + '/media/init'));
    } catch (e) {
      fail('This film cannot be played: ' + e.message + '.');
      return;
    }
    await update(manifest);
    v.play().catch(() => { if (!failed) say((status.textContent + ' Press play to start.').trim()); });
  };

  v.addEventListener('seeking', () => pump());
  v.addEventListener('timeupdate', () => pump());
  v.addEventListener('waiting', () => {
    if (manifest && !manifest.complete && !failed) say('Waiting for the next part of the film to be verified on chain.');
  });
  v.addEventListener('playing', () => { if (manifest) progress(); });
  v.addEventListener('error', () => {
    const e = v.error;
    const words = {
      1: 'Playback was aborted.',
      2: 'The network failed while loading the film.',
      3: 'The film could not be decoded: its stream is damaged or not what its publisher declared.',
      4: 'This film\'s format is not supported by this browser.',
    };
    fail((e && words[e.code]) || 'The film could not be played.');
  });

  (async () => {
    say('Loading\u2026');
    prefetch(base + '/media/init');
    prefetch(base + '/media/0');
    let r;
    try {
      r = await fetch(base + '/media');
    } catch (e) {
      fail('The gateway cannot be reached.');
      return;
    }
    if (r.ok) {
      const m = await r.json();
      await start(m);
      if (!m.complete) listen();
    } else if (r.status === 404) {
      say('Nothing of this film is verified yet: it starts as soon as its first part is.');
      listen();
    } else {
      fail('This film cannot be played: ' + (await reason(r)) + '.');
    }
  })();
})();
