'use strict';
// The interactive player (docs/cvp.md, "Interactive films"). The film's stream holds every clip
// one after the other; this player appends to one Media Source buffer the clips of the viewer's
// path, each placed right after the one before (timestampOffset), so a switch is seamless. When a
// clip with a decision is near its end, the prompt and the options show over the video with a
// countdown; a click, a tap or the keys 1-8 choose, and at the timeout the default is taken. Every
// option's clip is fetched ahead, while the decision is still open. The scrubber covers the clip
// that plays; Back returns to the last decision, Restart to the beginning. Each choice is signed
// by this gateway's viewer key and kept as the viewer's path; with "record my path" the path goes
// on chain in one transaction at the end, its cost shown first.
(() => {
  const v = document.getElementById('v');
  if (!v || !v.dataset.story) return;
  const id = v.dataset.id;
  const base = '/api/content/' + id;
  const $ = (x) => document.getElementById(x);
  const status = $('status');
  // The decision shows this long before its clip ends, beyond its timeout, so that the clip that
  // follows (even the default's) is appended before the end.
  const MARGIN_S = 0.6;
  let story = null;
  let manifest = null;
  let ms = null;
  let sb = null;
  let failed = false;
  // The clips appended in this viewing's timeline: { clip, at (s, in the timeline), dur (s) }.
  let timeline = [];
  let end = 0;
  // The choices made in this viewing: { branch, option, clip (where the decision came) }.
  let path = [];
  let open = null; // the decision showing: { branch, entry, deadline, timer }
  const cache = new Map();
  // Presented frames, for the switch measurements: wall-clock gaps between frames around each
  // clip boundary, and frames that came out black.
  const switches = [];
  const gaps = [];
  let lastFrame = null;
  let blackFrames = 0;

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
  const bytes = (url) => {
    if (!cache.has(url)) {
      const p = fetch(url).then(async (r) => {
        if (!r.ok) throw new Error(await reason(r));
        return r.arrayBuffer();
      });
      p.catch(() => cache.delete(url));
      cache.set(url, p);
    }
    return cache.get(url);
  };
  const append = (buf, offset) => new Promise((resolve, reject) => {
    const done = () => { off(); resolve(); };
    const err = () => { off(); reject(new Error('the browser could not read this part of the film')); };
    const off = () => {
      sb.removeEventListener('updateend', done);
      sb.removeEventListener('error', err);
    };
    sb.addEventListener('updateend', done);
    sb.addEventListener('error', err);
    try {
      if (offset !== undefined) sb.timestampOffset = offset;
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

  const clip = (i) => story.clips.find((c) => c.index === i);
  const branchAt = (i) => story.branches.find((b) => b.at_clip === i);
  const fragments = (c) => manifest.fragments.filter((f) => f.start_ms >= c.start_ms && (c.end_ms === null || f.start_ms < c.end_ms));
  const urls = (c) => fragments(c).map((f) => base + '/media/' + f.index);
  const ahead = (c) => { for (const u of urls(c)) bytes(u); };
  const here = () => timeline.find((e) => e.at <= v.currentTime + 1e-3 && v.currentTime < e.at + e.dur) || timeline[timeline.length - 1];

  // Append clip c at the end of the timeline; fetch every option's clip of its decision ahead.
  let chain = Promise.resolve();
  const enqueue = (c) => {
    const entry = { clip: c, at: end, dur: (c.end_ms - c.start_ms) / 1000 };
    end += entry.dur;
    timeline.push(entry);
    chain = chain.then(async () => {
      for (const u of urls(c)) await append(await bytes(u), entry.at - c.start_ms / 1000);
      const b = branchAt(c.index);
      if (!b) {
        await idle();
        if (ms.readyState === 'open') ms.endOfStream();
        return;
      }
      for (const o of b.options) ahead(clip(o.next_clip));
      if (b.options.length === 1 && b.timeout_ms === 0) enqueue(clip(b.options[0].next_clip));
    }).catch((e) => fail('Playback stopped: ' + e.message + '.'));
    showPath();
    return entry;
  };

  // A fresh timeline that starts with clip c (a load, Back, Restart).
  const begin = async (c) => {
    hide();
    await chain;
    timeline = [];
    end = 0;
    if (sb) {
      await idle();
      if (ms.readyState === 'open') sb.abort();
      if (sb.buffered.length) {
        sb.remove(0, Infinity);
        await idle();
      }
    }
    enqueue(c);
    v.currentTime = 0;
    v.play().catch(() => say('Press play to start.'));
  };

  // The decision of the clip now playing, once it is near the clip's end.
  const hide = () => {
    if (!open) return;
    clearInterval(open.timer);
    open = null;
    $('decision').hidden = true;
  };
  const decide = (b, option) => {
    if (!open || open.branch !== b) return;
    const entry = open.entry;
    hide();
    path.push({ branch: b.id, option, clip: entry.clip.index, label: b.options[option].label });
    // Only the clip chosen follows this one in the timeline.
    timeline = timeline.slice(0, timeline.indexOf(entry) + 1);
    end = entry.at + entry.dur;
    enqueue(clip(b.options[option].next_clip));
    sign(b.id, option);
  };
  const show = (b, entry) => {
    const box = $('decision');
    $('prompt').textContent = b.prompt;
    const list = $('options');
    list.textContent = '';
    b.options.forEach((o, i) => {
      const btn = document.createElement('button');
      btn.type = 'button';
      btn.textContent = (i + 1) + '. ' + o.label;
      btn.dataset.option = String(i);
      if (i === b.default_option) btn.classList.add('default');
      btn.addEventListener('click', () => decide(b, i));
      list.appendChild(btn);
    });
    const deadline = performance.now() + b.timeout_ms;
    const tick = () => {
      const left = Math.max(0, deadline - performance.now());
      $('countdown').textContent = (left / 1000).toFixed(1) + ' s';
      $('countdown-bar').value = left / b.timeout_ms;
      if (left <= 0) decide(b, b.default_option);
    };
    open = { branch: b, entry, timer: setInterval(tick, 100) };
    box.hidden = false;
    tick();
  };
  const watch = () => {
    if (!story || failed) return;
    const e = here();
    if (!e) return;
    scrub(e);
    const b = branchAt(e.clip.index);
    const last = timeline[timeline.length - 1] === e;
    if (!b || !last || open || (b.options.length === 1 && b.timeout_ms === 0)) return;
    if (v.currentTime >= e.at + e.dur - MARGIN_S - b.timeout_ms / 1000) show(b, e);
  };

  // The scrubber and the time cover the clip that plays.
  const clock = (s) => Math.floor(s / 60) + ':' + String(Math.floor(s % 60)).padStart(2, '0');
  const scrub = (e) => {
    const r = $('scrub');
    const t = Math.min(e.dur, Math.max(0, v.currentTime - e.at));
    r.max = String(e.dur);
    if (!r.matches(':active')) r.value = String(t);
    $('clip-time').textContent = clock(t) + ' / ' + clock(e.dur) + ' \u00b7 ' + e.clip.name;
  };
  const seekInClip = (s) => {
    const e = here();
    if (e) v.currentTime = Math.min(e.at + e.dur - 0.05, Math.max(e.at, s));
  };
  v.bitflixSeek = (d) => seekInClip(v.currentTime + d);
  $('scrub').addEventListener('input', () => { const e = here(); if (e) seekInClip(e.at + Number($('scrub').value)); });
  $('play').addEventListener('click', () => (v.paused ? v.play() : v.pause()));
  v.addEventListener('play', () => { $('play').textContent = 'Pause'; });
  v.addEventListener('pause', () => { $('play').textContent = 'Play'; });
  $('back').addEventListener('click', () => {
    const last = path.pop();
    if (!last) return;
    forget(last.branch);
    begin(clip(last.clip));
  });
  $('restart').addEventListener('click', () => {
    for (const p of path) forget(p.branch);
    path = [];
    begin(clip(0));
  });
  document.addEventListener('keydown', (e) => {
    if (!open || e.altKey || e.ctrlKey || e.metaKey) return;
    const n = Number(e.key);
    if (n >= 1 && n <= open.branch.options.length) {
      e.preventDefault();
      decide(open.branch, n - 1);
    }
  });

  const showPath = () => {
    const names = [];
    for (const e of timeline) {
      if (e.at <= v.currentTime + 1e-3 || names.length === 0) names.push(e.clip.name);
    }
    const chosen = path.map((p) => p.label);
    $('path').textContent = 'Your path: ' + names.join(' \u2192 ') + (chosen.length ? ' (chose ' + chosen.join(', ') + ')' : '');
  };

  // The viewer's signed choices, and recording them on chain.
  const post = (url, body, action) => fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-bitflix-action': action },
    body: JSON.stringify(body),
  });
  const sign = async (branch, option) => {
    if (!story.viewer.key) return;
    const r = await post(base + '/choices', { branch_id: branch, option }, 'choose');
    if (!r.ok) say('Your choice could not be signed: ' + (await reason(r)) + '.', 'error');
    if ($('record-on').checked) quote();
  };
  const forget = (branch) => {
    if (story.viewer.key) fetch(base + '/choices/' + branch, { method: 'DELETE', headers: { 'x-bitflix-action': 'choose' } });
  };
  let quoted = null;
  const quote = async () => {
    const r = await fetch(base + '/choices/quote');
    if (!r.ok) {
      quoted = null;
      $('record-cost').textContent = 'Recording is not available: ' + (await reason(r)) + '.';
      return;
    }
    quoted = await r.json();
    $('record-cost').textContent = quoted.choices
      ? 'Recording your ' + quoted.choices + ' choice(s) costs ' + quoted.fee_sat + ' sat (' + quoted.vbytes + ' vB at ' + quoted.feerate_sat_vb + ' sat/vB), in one transaction at the end; your wallet holds ' + quoted.balance_sat + ' sat.'
      : 'Nothing to record yet: each choice you make is signed by your key and sent at the end.';
    $('record-now').disabled = !quoted.choices;
  };
  const record = async () => {
    if (!quoted || !quoted.choices) return;
    const r = await post(base + '/choices/record', { max_fee_sat: quoted.fee_sat * 2 }, 'record');
    if (!r.ok) {
      $('record-cost').textContent = 'Your path was not recorded: ' + (await reason(r)) + '.';
      return;
    }
    const out = await r.json();
    $('record-cost').textContent = 'Recorded ' + out.choices + ' choice(s) for ' + out.fee_sat + ' sat in transaction ' + out.txid + '.';
    $('record-cost').dataset.txid = out.txid;
    refreshMine();
  };
  const refreshMine = async () => {
    const r = await fetch(base + '/story');
    if (!r.ok) return;
    const s = await r.json();
    const ul = $('mine');
    ul.textContent = '';
    for (const c of s.viewer.on_chain) {
      const b = s.branches.find((x) => x.id === c.branch_id);
      const li = document.createElement('li');
      const label = b && b.options[c.option] ? b.options[c.option].label : 'option ' + c.option;
      li.append((b ? b.prompt : 'branch ' + c.branch_id) + ': ' + label + ' \u2014 ');
      const a = document.createElement('a');
      a.href = '/api/tx/' + c.txid;
      a.textContent = c.height === null ? 'in the mempool' : 'block ' + c.height;
      li.append(a, c.counted ? '' : ' (not counted: ' + (c.flaw || 'pending') + ')');
      ul.appendChild(li);
    }
  };
  $('record-on').addEventListener('change', () => { if ($('record-on').checked) quote(); });
  $('record-now').addEventListener('click', record);
  v.addEventListener('ended', () => { if ($('record-on').checked) quote().then(record); });

  // Frames as presented: the gap at each clip boundary, and black frames.
  const probe = document.createElement('canvas');
  probe.width = 4;
  probe.height = 4;
  const pctx = probe.getContext('2d', { willReadFrequently: true });
  const onFrame = (now, meta) => {
    pctx.drawImage(v, 0, 0, 4, 4);
    const d = pctx.getImageData(0, 0, 4, 4).data;
    let sum = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
    const rgb = sum.map((x) => Math.round(x / 16));
    if (Math.max(...rgb) < 20) blackFrames++;
    const t = meta.mediaTime;
    if (lastFrame) {
      const cross = timeline.find((e) => e.at > lastFrame.t + 1e-3 && e.at <= t + 1e-3);
      if (cross) switches.push({ at_s: cross.at, clip: cross.clip.index, gap_ms: now - lastFrame.now, rgb });
      else if (t > lastFrame.t && gaps.length < 5000) gaps.push(now - lastFrame.now);
    }
    lastFrame = { now, t, rgb };
    v.requestVideoFrameCallback(onFrame);
  };
  if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(onFrame);
  // For tests and benchmarks: what the player did.
  window.bitflixStory = () => ({
    clip: here() ? here().clip.index : null,
    decision: open ? open.branch.id : null,
    path: path.map((p) => ({ branch: p.branch, option: p.option })),
    timeline: timeline.map((e) => ({ clip: e.clip.index, at: e.at, dur: e.dur })),
    switches,
    frame_gaps_ms: gaps,
    black_frames: blackFrames,
    rgb: lastFrame ? lastFrame.rgb : null,
    error: v.dataset.error || null,
  });

  const load = async () => {
    say('Loading\u2026');
    try {
      const [rs, rm] = await Promise.all([fetch(base + '/story'), fetch(base + '/media')]);
      if (!rs.ok) throw new Error(await reason(rs));
      if (!rm.ok) throw new Error(await reason(rm));
      story = await rs.json();
      manifest = await rm.json();
    } catch (e) {
      fail('This interactive film cannot be played yet: ' + e.message + '.');
      return;
    }
    if (!story.complete || !manifest.complete || story.clips.some((c) => c.end_ms === null)) {
      fail('This interactive film is not complete on chain yet: it plays once every clip is verified.');
      return;
    }
    if (!window.MediaSource || !MediaSource.isTypeSupported(manifest.mime)) {
      fail('This browser cannot play this film (' + manifest.mime + ').');
      return;
    }
    ms = new MediaSource();
    v.src = URL.createObjectURL(ms);
    await new Promise((resolve) => ms.addEventListener('sourceopen', resolve, { once: true }));
    try {
      sb = ms.addSourceBuffer(manifest.mime);
      sb.mode = 'segments';
      await append(await bytes(base + '/media/init'));
    } catch (e) {
      fail('This film cannot be played: ' + e.message + '.');
      return;
    }
    say(story.viewer.key ? 'Your choices are signed by your viewer key ' + story.viewer.key.slice(0, 16) + '.' : (story.viewer.unavailable || ''));
    refreshMine();
    await begin(clip(0));
  };
  v.addEventListener('timeupdate', () => { watch(); showPath(); });
  v.addEventListener('seeking', watch);
  load();
})();
