'use strict';
// The viewer-side upscaler (issue 14): films of 96 to 180 lines shown at 720p and more are
// reconstructed by a small learned filter in a WebGL2 fragment shader instead of the browser's
// bilinear/bicubic scaling. Each output pixel takes the 6x6 source pixels around it: the output
// is their bilinear interpolation plus a weighted sum of their differences from it, the weight a
// learned function of the pixel's distance and of the local edge coherence (a structure tensor of
// the luma gradients). The 36 weights were fitted by scripts/upscale-train.py on the carphone
// clip only. The filter is drawn to a canvas laid over the video's picture at the display size
// (requestVideoFrameCallback), switched by the "Sharper upscale" box (remembered in
// localStorage); without WebGL2 the plain video stays, silently. `BitflixUpscale` exposes the
// renderer and a plain-JS reference of the same filter (for the tests and the benchmark).
(() => {
  // printed by scripts/upscale-train.py (fitted on carphone_pristine.mp4, 2x to 4x, clean and AV1)
  const ANISO = 0.0;
  const WEIGHTS = [-0.00014, 0.02442, 0.01769, -0.01767, 0.00302, -0.12387, -0.17743, -0.05631, 0.01568, 0.04309, 0.00837, 0.01123, -0.00656, 0.10342, 0.09489, -0.04426, -0.02800, -0.12221, -0.12588, -0.06058, 0.01613, 0.03603, 0.01979, 0.00358, -0.00712, 0.21805, 0.06505, -0.01642, -0.04836, -0.12722, -0.14240, -0.07382, 0.01721, 0.03896, 0.02371, 0.00701];
  const KNOTS = 12; // r = 0 to 2.75 in steps of 0.25; 0 from 3 on
  const STEP = 0.25;
  const EPS = 1e-4;
  const KEY = 'bitflix.upscale';

  const VS = `#version 300 es
in vec2 p;
void main() { gl_Position = vec4(p, 0.0, 1.0); }`;
  const FS = `#version 300 es
precision highp float;
precision highp int;
uniform sampler2D src;
uniform vec2 srcSize;
uniform vec2 dstSize;
uniform float wt[36];
uniform float aniso;
out vec4 o;
float weight(float r, float c) {
  float rr = r / ${STEP.toFixed(4)};
  if (rr >= float(${KNOTS})) return 0.0;
  int k = int(floor(rr));
  float fr = rr - float(k);
  float cl = c * 2.0;
  int j = min(int(floor(cl)), 1);
  float fc = cl - float(j);
  float w0 = wt[j * ${KNOTS} + k];
  float w1 = k + 1 < ${KNOTS} ? wt[j * ${KNOTS} + k + 1] : 0.0;
  float v0 = wt[(j + 1) * ${KNOTS} + k];
  float v1 = k + 1 < ${KNOTS} ? wt[(j + 1) * ${KNOTS} + k + 1] : 0.0;
  return mix(mix(w0, w1, fr), mix(v0, v1, fr), fc);
}
void main() {
  vec2 P = vec2(gl_FragCoord.x, dstSize.y - gl_FragCoord.y);
  vec2 xy = P * srcSize / dstSize - 0.5;
  vec2 b = floor(xy);
  vec2 f = xy - b;
  ivec2 i0 = ivec2(b);
  ivec2 hi = ivec2(srcSize) - 1;
  vec3 s[36];
  float l[36];
  for (int y = 0; y < 6; y++) for (int x = 0; x < 6; x++) {
    vec3 c = texelFetch(src, clamp(i0 + ivec2(x - 2, y - 2), ivec2(0), hi), 0).rgb;
    s[y * 6 + x] = c;
    l[y * 6 + x] = dot(c, vec3(0.299, 0.587, 0.114));
  }
  float ta = 0.0, tb = 0.0, td = 0.0;
  for (int y = 1; y < 5; y++) for (int x = 1; x < 5; x++) {
    float gx = (l[y * 6 + x + 1] - l[y * 6 + x - 1]) * 0.5;
    float gy = (l[(y + 1) * 6 + x] - l[(y - 1) * 6 + x]) * 0.5;
    float t = max(0.0, 1.0 - abs(float(x - 2) - f.x) * 0.5) * max(0.0, 1.0 - abs(float(y - 2) - f.y) * 0.5);
    ta += t * gx * gx; tb += t * gx * gy; td += t * gy * gy;
  }
  float sq = sqrt((ta - td) * (ta - td) + 4.0 * tb * tb);
  float c = min(sq / (ta + td + ${EPS.toExponential()}), 1.0);
  float th = 0.5 * atan(2.0 * tb, ta - td);
  float cs = cos(th), sn = sin(th);
  float S = 1.0 + aniso * c;
  vec3 bil = mix(mix(s[14], s[15], f.x), mix(s[20], s[21], f.x), f.y);
  vec3 acc = bil;
  for (int y = 0; y < 6; y++) for (int x = 0; x < 6; x++) {
    vec2 d = vec2(float(x - 2), float(y - 2)) - f;
    float u = d.x * cs + d.y * sn;
    float v = -d.x * sn + d.y * cs;
    acc += weight(sqrt(u * u * S + v * v / S), c) * (s[y * 6 + x] - bil);
  }
  o = vec4(clamp(acc, 0.0, 1.0), 1.0);
}`;

  // The same filter on the CPU, from RGBA bytes (top row first) to RGBA bytes at W x H.
  const reference = (px, w, h, W, H) => {
    const out = new Uint8ClampedArray(W * H * 4);
    const at = (x, y, ch) =>
      px[(Math.min(Math.max(y, 0), h - 1) * w + Math.min(Math.max(x, 0), w - 1)) * 4 + ch] / 255;
    const weight = (r, c) => {
      const rr = r / STEP;
      if (rr >= KNOTS) return 0;
      const k = Math.floor(rr);
      const fr = rr - k;
      const cl = c * 2;
      const j = Math.min(Math.floor(cl), 1);
      const fc = cl - j;
      const g = (jj, kk) => (kk < KNOTS ? WEIGHTS[jj * KNOTS + kk] : 0);
      const a = g(j, k) * (1 - fr) + g(j, k + 1) * fr;
      const bb = g(j + 1, k) * (1 - fr) + g(j + 1, k + 1) * fr;
      return a * (1 - fc) + bb * fc;
    };
    const s = new Float64Array(36 * 3);
    const l = new Float64Array(36);
    for (let Y = 0; Y < H; Y++) {
      for (let X = 0; X < W; X++) {
        const x = ((X + 0.5) * w) / W - 0.5;
        const y = ((Y + 0.5) * h) / H - 0.5;
        const bx = Math.floor(x);
        const by = Math.floor(y);
        const fx = x - bx;
        const fy = y - by;
        for (let j = 0; j < 6; j++) {
          for (let i = 0; i < 6; i++) {
            const n = j * 6 + i;
            for (let ch = 0; ch < 3; ch++) s[n * 3 + ch] = at(bx + i - 2, by + j - 2, ch);
            l[n] = 0.299 * s[n * 3] + 0.587 * s[n * 3 + 1] + 0.114 * s[n * 3 + 2];
          }
        }
        let ta = 0;
        let tb = 0;
        let td = 0;
        for (let j = 1; j < 5; j++) {
          for (let i = 1; i < 5; i++) {
            const gx = (l[j * 6 + i + 1] - l[j * 6 + i - 1]) * 0.5;
            const gy = (l[(j + 1) * 6 + i] - l[(j - 1) * 6 + i]) * 0.5;
            const t =
              Math.max(0, 1 - Math.abs(i - 2 - fx) * 0.5) * Math.max(0, 1 - Math.abs(j - 2 - fy) * 0.5);
            ta += t * gx * gx;
            tb += t * gx * gy;
            td += t * gy * gy;
          }
        }
        const sq = Math.sqrt((ta - td) * (ta - td) + 4 * tb * tb);
        const c = Math.min(sq / (ta + td + EPS), 1);
        const th = 0.5 * Math.atan2(2 * tb, ta - td);
        const cs = Math.cos(th);
        const sn = Math.sin(th);
        const S = 1 + ANISO * c;
        for (let ch = 0; ch < 3; ch++) {
          const b0 = s[14 * 3 + ch] * (1 - fx) + s[15 * 3 + ch] * fx;
          const b1 = s[20 * 3 + ch] * (1 - fx) + s[21 * 3 + ch] * fx;
          const bil = b0 * (1 - fy) + b1 * fy;
          let acc = bil;
          for (let j = 0; j < 6; j++) {
            for (let i = 0; i < 6; i++) {
              const dx = i - 2 - fx;
              const dy = j - 2 - fy;
              const u = dx * cs + dy * sn;
              const v = -dx * sn + dy * cs;
              acc += weight(Math.sqrt(u * u * S + (v * v) / S), c) * (s[(j * 6 + i) * 3 + ch] - bil);
            }
          }
          out[(Y * W + X) * 4 + ch] = Math.round(Math.min(Math.max(acc, 0), 1) * 255);
        }
        out[(Y * W + X) * 4 + 3] = 255;
      }
    }
    return out;
  };

  // A WebGL2 renderer on `canvas`, or null (no WebGL2, or the shader does not build).
  const renderer = (canvas) => {
    const gl = canvas.getContext('webgl2', { antialias: false, preserveDrawingBuffer: true });
    if (!gl) return null;
    const shader = (type, text) => {
      const sh = gl.createShader(type);
      gl.shaderSource(sh, text);
      gl.compileShader(sh);
      return gl.getShaderParameter(sh, gl.COMPILE_STATUS) ? sh : null;
    };
    const vs = shader(gl.VERTEX_SHADER, VS);
    const fs = shader(gl.FRAGMENT_SHADER, FS);
    if (!vs || !fs) return null;
    const prog = gl.createProgram();
    gl.attachShader(prog, vs);
    gl.attachShader(prog, fs);
    gl.linkProgram(prog);
    if (!gl.getProgramParameter(prog, gl.LINK_STATUS)) return null;
    gl.useProgram(prog);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 3, -1, -1, 3]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, 'p');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    const tex = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, tex);
    for (const [k, v] of [
      [gl.TEXTURE_MIN_FILTER, gl.NEAREST],
      [gl.TEXTURE_MAG_FILTER, gl.NEAREST],
      [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE],
      [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE],
    ])
      gl.texParameteri(gl.TEXTURE_2D, k, v);
    gl.pixelStorei(gl.UNPACK_FLIP_Y_WEBGL, false);
    gl.pixelStorei(gl.UNPACK_PREMULTIPLY_ALPHA_WEBGL, false);
    gl.uniform1fv(gl.getUniformLocation(prog, 'wt'), new Float32Array(WEIGHTS));
    gl.uniform1f(gl.getUniformLocation(prog, 'aniso'), ANISO);
    gl.uniform1i(gl.getUniformLocation(prog, 'src'), 0);
    const srcSize = gl.getUniformLocation(prog, 'srcSize');
    const dstSize = gl.getUniformLocation(prog, 'dstSize');
    // source: a video, image or canvas of w x h; drawn at the canvas's size.
    const draw = (source, w, h) => {
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, source);
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.uniform2f(srcSize, w, h);
      gl.uniform2f(dstSize, canvas.width, canvas.height);
      gl.drawArrays(gl.TRIANGLES, 0, 3);
    };
    // The canvas's pixels, top row first (readPixels gives the bottom row first).
    const read = () => {
      const W = canvas.width;
      const H = canvas.height;
      const raw = new Uint8Array(W * H * 4);
      gl.readPixels(0, 0, W, H, gl.RGBA, gl.UNSIGNED_BYTE, raw);
      const out = new Uint8ClampedArray(W * H * 4);
      for (let y = 0; y < H; y++) out.set(raw.subarray((H - 1 - y) * W * 4, (H - y) * W * 4), y * W * 4);
      return out;
    };
    // Wait for the frame drawn (a one-pixel read blocks until the GPU has finished it).
    const one = new Uint8Array(4);
    const finish = () => gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, one);
    // Software rendering (no GPU: SwiftShader, llvmpipe) takes a large part of a frame interval.
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    const software = /swiftshader|llvmpipe|softpipe|software/i.test(name);
    return { draw, read, finish, software };
  };

  window.BitflixUpscale = { renderer, reference, WEIGHTS };

  // The player: a canvas over the video's picture, redrawn on each video frame.
  const v = document.getElementById('v');
  if (!v || v.tagName !== 'VIDEO' || !v.parentElement) return;
  let stored = null;
  try {
    stored = localStorage.getItem(KEY);
  } catch (e) {}
  const canvas = document.createElement('canvas');
  canvas.className = 'upscale';
  canvas.hidden = true;
  const r = renderer(canvas);
  if (!r) return; // no WebGL2: the plain video, silently
  // On unless switched off; off by default without a GPU (it can still be switched on).
  let on = stored === null ? !r.software : stored === '1';
  const wrap = v.parentElement;
  wrap.classList.add('upscaled');
  v.insertAdjacentElement('afterend', canvas);
  const label = document.createElement('label');
  label.className = 'upscale-switch';
  const box = document.createElement('input');
  box.type = 'checkbox';
  box.id = 'upscale';
  box.checked = on;
  label.append(
    box,
    ' Sharper upscale (a reconstruction filter in this browser)' +
      (r.software ? ': slow here, no GPU' : '')
  );
  wrap.insertAdjacentElement('afterend', label);

  const paint = () => {
    const vw = v.videoWidth;
    const vh = v.videoHeight;
    const ew = v.clientWidth;
    const eh = v.clientHeight;
    wrap.classList.toggle('paused', v.paused);
    // The picture's box inside the element (object-fit: contain), in device pixels.
    const k = vw && vh ? Math.min(ew / vw, eh / vh) : 0;
    const cw = vw * k;
    const ch = vh * k;
    const dpr = window.devicePixelRatio || 1;
    const W = Math.round(cw * dpr);
    const H = Math.round(ch * dpr);
    // Off, nothing shown yet, or not enlarged (nothing to reconstruct): the plain video.
    if (!on || !W || !H || H <= vh || v.readyState < 2) {
      canvas.hidden = true;
      v.dataset.upscale = 'off';
      return;
    }
    if (canvas.width !== W || canvas.height !== H) {
      canvas.width = W;
      canvas.height = H;
    }
    canvas.style.left = v.offsetLeft + (ew - cw) / 2 + 'px';
    canvas.style.top = v.offsetTop + (eh - ch) / 2 + 'px';
    canvas.style.width = cw + 'px';
    canvas.style.height = ch + 'px';
    try {
      r.draw(v, vw, vh);
      canvas.hidden = false;
      v.dataset.upscale = 'on';
    } catch (e) {
      canvas.hidden = true;
      v.dataset.upscale = 'off';
    }
  };
  // Each new frame of the video (requestVideoFrameCallback), or each animation frame without it.
  const loop = () => {
    paint();
    if (v.requestVideoFrameCallback) v.requestVideoFrameCallback(loop);
    else requestAnimationFrame(loop);
  };
  box.addEventListener('change', () => {
    on = box.checked;
    try {
      localStorage.setItem(KEY, on ? '1' : '0');
    } catch (e) {}
    paint();
  });
  for (const ev of ['pause', 'play', 'seeked', 'loadeddata', 'resize']) v.addEventListener(ev, paint);
  window.addEventListener('resize', paint);
  loop();
})();
