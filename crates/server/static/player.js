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

  const film = async () => {
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
    } else if (r.status === 503) {
      // A film on BitTorrent waiting for peers (or a gateway busy for a moment): it starts when
      // the first checked bytes are announced.
      say((await reason(r)) + '.');
      listen();
    } else {
      fail('This film cannot be played: ' + (await reason(r)) + '.');
    }
  };

  // Live mode: chunks (one fragment each, times from 0) placed at their timestamps, the newest
  // first for a viewer who joins late; chunks behind the playhead are never appended (a gap is
  // stepped over, a reorg never replays); after a stall the playhead jumps to the live edge.
  // When the `end` record's recording is complete, the page turns into the film, seekable.
  const live = async () => {
    const badge = document.getElementById('live');
    const CATCH_UP_S = 8;
    let lms = null;
    let lsb = null;
    let origin = null;
    let edge = 0;
    let lastAppended = -1;
    const queue = [];
    let pumping = false;
    let playing = false;
    let es = null;
    // Set when the page turns into the recording: the live handlers below stop for good.
    let over = false;
    // When each chunk was announced (the event that listed it reached the page) and appended to
    // the buffer, in Unix ms, for latency measurements (scripts/bench-glass.sh reads it); the
    // newest few thousand.
    const times = new Map();
    window.bitflixLiveTimes = () => Array.from(times, ([index, t]) => Object.assign({ index }, t));
    const note = (index, key) => {
      let t = times.get(index);
      if (!t) {
        t = {};
        times.set(index, t);
        if (times.size > 4000) times.delete(times.keys().next().value);
      }
      if (t[key] === undefined) t[key] = Date.now();
    };

    const lappend = (buf, offset) => new Promise((resolve, reject) => {
      const done = () => { lsb.removeEventListener('error', err); resolve(); };
      const err = () => { lsb.removeEventListener('updateend', done); reject(new Error('the browser could not read a chunk')); };
      lsb.addEventListener('updateend', done, { once: true });
      lsb.addEventListener('error', err, { once: true });
      try {
        lsb.timestampOffset = offset;
        lsb.appendBuffer(buf);
      } catch (e) {
        reject(e);
      }
    });
    const show = () => {
      if (failed || over) return;
      const delay = origin === null ? null : Date.now() - origin - v.currentTime * 1000;
      if (delay !== null) v.dataset.delayMs = String(Math.round(delay));
      if (badge) badge.hidden = false;
      v.dataset.live = '1';
      say('LIVE' + (delay === null ? '' : ': ' + (Math.max(0, delay) / 1000).toFixed(1) + ' s behind the publisher') + '.');
    };
    const lpump = async () => {
      if (pumping || !lsb || over) return;
      pumping = true;
      try {
        while (queue.length && !over) {
          const c = queue.shift();
          if (c.index <= lastAppended && c.timestamp_ms / 1000 < v.currentTime) continue;
          if (playing && (c.timestamp_ms + c.duration_ms) / 1000 <= v.currentTime) continue;
          let buf;
          try {
            buf = await fetchBytes(base + '/live/' + c.index);
          } catch (e) {
            continue; // gone since announced: a gap
          }
          if (over) break;
          await lappend(buf, c.timestamp_ms / 1000);
          note(c.index, 'appended_unix_ms');
          lastAppended = Math.max(lastAppended, c.index);
          if (!playing) {
            playing = true;
            v.currentTime = c.timestamp_ms / 1000;
            v.play().catch(() => say('LIVE. Press play to start.'));
          }
        }
        // Behind the live edge after a stall: jump to the newest chunk's start.
        const b = v.buffered;
        if (!over && b.length && b.end(b.length - 1) - v.currentTime > CATCH_UP_S) {
          v.currentTime = Math.max(b.start(b.length - 1), b.end(b.length - 1) - 2);
        }
      } catch (e) {
        fail('Playback stopped: ' + e.message + '.');
      } finally {
        pumping = false;
      }
    };
    // Step over a gap: waiting at the end of one buffered range with a later one.
    v.addEventListener('waiting', () => {
      if (over) return;
      const b = v.buffered;
      for (let i = 0; i < b.length; i++) {
        if (b.start(i) > v.currentTime) { v.currentTime = b.start(i); break; }
      }
    });
    v.addEventListener('timeupdate', () => { if (lsb) show(); });
    const toRecording = () => {
      if (es) es.close();
      over = true;
      queue.length = 0;
      const at = v.currentTime;
      delete v.dataset.live;
      delete v.dataset.delayMs;
      if (badge) badge.hidden = true;
      v.removeAttribute('src');
      v.load();
      // The page says it is the recording only once the film holds the viewer's place: a seek
      // made before that would be undone by this one.
      return film().then(() => {
        if (at > 0 && !failed) v.currentTime = at;
        v.dataset.recording = '1';
      });
    };
    const onLive = async (m) => {
      if (m.origin_unix_ms !== null && m.origin_unix_ms !== undefined) origin = m.origin_unix_ms;
      edge = m.edge_ms;
      if (!lms) {
        if (!window.MediaSource || !MediaSource.isTypeSupported(m.mime)) {
          fail('This browser cannot play this live stream (' + m.mime + ').');
          return;
        }
        lms = new MediaSource();
        v.src = URL.createObjectURL(lms);
        await new Promise((resolve) => lms.addEventListener('sourceopen', resolve, { once: true }));
        lsb = lms.addSourceBuffer(m.mime);
        lsb.mode = 'segments';
        await lappend(await fetchBytes(base + '/live/init'), 0);
        // A late viewer starts at the newest chunk (each starts with a keyframe).
        const playable = m.chunks.filter((c) => c.playable);
        if (playable.length) queue.push(playable[playable.length - 1]);
      } else {
        for (const c of m.chunks) if (c.playable) queue.push(c);
      }
      show();
      lpump();
    };
    say('Joining the live stream\u2026');
    es = new EventSource(base + '/live/events');
    let chain = Promise.resolve();
    es.addEventListener('live', (e) => {
      const m = JSON.parse(e.data);
      for (const c of m.chunks) note(c.index, 'announced_unix_ms');
      chain = chain.then(() => onLive(m)).catch((err) => fail('Playback stopped: ' + err.message + '.'));
    });
    es.addEventListener('ended', (e) => {
      const m = JSON.parse(e.data);
      if (m.recording) chain = chain.then(toRecording);
      else if (m.state === 'verified') say('The stream has ended; its recording plays once confirmed.');
      else say('The stream has ended; parts of it are missing, so it stays unverified.');
    });
    es.addEventListener('gone', () => {
      es.close();
      fail('This stream left the chain view of this gateway.');
    });
  };

  if (v.dataset.live === '1') live();
  else film();
})();
