#!/usr/bin/env python3
"""Train the viewer-side upscaler (crates/server/static/upscale.js, issue 14 item 5).

The filter: for each output pixel, at its position (x, y) in low-res pixel units, the 6x6 low-res
pixels around it; a structure tensor of the luma gradients of the inner 4x4 (tent-weighted, so it
is continuous in x, y) gives the edge direction and its coherence c; each pixel's distance to
(x, y) is stretched across the edge (r^2 = u^2 S + v^2 / S, S = 1 + A c); the output is
    bilinear + sum_p w(r_p, c) (s_p - bilinear)
where w is piecewise linear in r (knots every 0.25 px to 3 px) and in c (3 levels). w's
36 values are fitted by least squares (ridge) on luma, over training clips only; A by a small grid.
The weights are applied to R, G and B alike.

Training data: the carphone clip (../shared/media/carphone_pristine.mp4, 176x144) downscaled 2x,
3x and 4x with ffmpeg's default (bicubic) scaler, clean and through libaom-av1 at a low rate.
Big Buck Bunny (the clip the upscaler is measured on) is never seen here.

Prints the weights as JavaScript for upscale.js (stdout) and the training Y-PSNR (stderr).
Needs numpy and ffmpeg.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

KNOTS = 13  # r = 0, 0.25, ..., 3.0 (the last one is held at 0)
STEP = 0.25
LEVELS = 3  # c = 0, 0.5, 1
EPS = 1e-4


def frames(path, w, h, vf=None, every=1):
    cmd = ["ffmpeg", "-v", "error", "-i", path]
    if vf:
        cmd += ["-vf", vf]
    cmd += ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    n = len(raw) // (w * h * 3)
    a = np.frombuffer(raw, np.uint8)[: n * w * h * 3].reshape(n, h, w, 3)
    return a[::every].astype(np.float32) / 255.0


def av1(src, w, h, kbps, out):
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", src, "-vf", f"scale={w}:{h}", "-c:v", "libaom-av1",
         "-b:v", f"{kbps}k", "-cpu-used", "8", "-row-mt", "1", "-an", out],
        check=True)


def luma(rgb):
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def geometry(lr_l, W, H, A):
    """Per output pixel: the 36 neighbour offsets' weights' basis (hat_r x tri_c) and indices."""
    h, w = lr_l.shape
    X = (np.arange(W) + 0.5) * w / W - 0.5
    Y = (np.arange(H) + 0.5) * h / H - 0.5
    x, y = np.meshgrid(X, Y)
    ix, iy = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = x - ix, y - iy

    def at(img, dx, dy):
        return img[np.clip(iy + dy, 0, h - 1), np.clip(ix + dx, 0, w - 1)]

    ta = np.zeros_like(x)
    tb = np.zeros_like(x)
    td = np.zeros_like(x)
    for dy in range(-1, 3):
        for dx in range(-1, 3):
            gx = (at(lr_l, dx + 1, dy) - at(lr_l, dx - 1, dy)) * 0.5
            gy = (at(lr_l, dx, dy + 1) - at(lr_l, dx, dy - 1)) * 0.5
            t = np.maximum(0, 1 - np.abs(dx - fx) / 2) * np.maximum(0, 1 - np.abs(dy - fy) / 2)
            ta += t * gx * gx
            tb += t * gx * gy
            td += t * gy * gy
    tr = ta + td
    s = np.sqrt((ta - td) ** 2 + 4 * tb * tb)
    c = s / (tr + EPS)
    th = 0.5 * np.arctan2(2 * tb, ta - td)
    cs, sn = np.cos(th), np.sin(th)
    S = 1 + A * c
    return x, y, ix, iy, fx, fy, c, cs, sn, S


def features(lr, W, H, A):
    """F (H*W, 36) on luma, the bilinear base of R, G, B, and the per-pixel terms to apply w."""
    h, w, _ = lr.shape
    L = luma(lr)
    x, y, ix, iy, fx, fy, c, cs, sn, S = geometry(L, W, H, A)

    def at(img, dx, dy):
        return img[np.clip(iy + dy, 0, h - 1), np.clip(ix + dx, 0, w - 1)]

    bil = ((1 - fx) * (1 - fy))[..., None] * at(lr, 0, 0) + (fx * (1 - fy))[..., None] * at(lr, 1, 0) \
        + ((1 - fx) * fy)[..., None] * at(lr, 0, 1) + (fx * fy)[..., None] * at(lr, 1, 1)
    bl = luma(bil)
    cl = c * (LEVELS - 1)
    F = np.zeros((H, W, LEVELS, KNOTS), np.float32)
    for dy in range(-2, 4):
        for dx in range(-2, 4):
            ddx, ddy = dx - fx, dy - fy
            u = ddx * cs + ddy * sn
            v = -ddx * sn + ddy * cs
            r = np.sqrt(u * u * S + v * v / S) / STEP
            diff = at(L, dx, dy) - bl
            for j in range(LEVELS):
                tc = np.maximum(0, 1 - np.abs(cl - j))
                for k in range(KNOTS - 1):
                    hk = np.maximum(0, 1 - np.abs(r - k))
                    F[..., j, k] += hk * tc * diff
    return F[..., : KNOTS - 1].reshape(H * W, -1), bil


def training_set(tmp):
    src = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "media", "carphone_pristine.mp4")
    if not os.path.exists(src):
        src = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "media", "carphone_pristine.mp4")
    hr = frames(src, 176, 144, every=6)
    sets = []
    for (w, h) in [(88, 72), (58, 48), (44, 36)]:
        sets.append(("clean %dx%d" % (w, h), hr, frames(src, w, h, f"scale={w}:{h}", every=6)))
    for (w, h, kbps) in [(88, 72, 24), (58, 48, 12)]:
        out = os.path.join(tmp, f"cp{w}.mkv")
        av1(src, w, h, kbps, out)
        sets.append(("av1 %dx%d %dk" % (w, h, kbps), hr, frames(out, w, h, every=6)))
    return sets


def fit(sets, A, ridge=1e-3):
    n = LEVELS * (KNOTS - 1)
    XtX = np.zeros((n, n))
    Xty = np.zeros(n)
    for _, hr, lr in sets:
        m = min(len(hr), len(lr))
        for f in range(m):
            F, bil = features(lr[f], hr.shape[2], hr.shape[1], A)
            t = (luma(hr[f]) - luma(bil)).reshape(-1)
            XtX += F.T.astype(np.float64) @ F
            Xty += F.T.astype(np.float64) @ t
    return np.linalg.solve(XtX + ridge * np.eye(n) * np.trace(XtX) / n, Xty)


def apply(lr, W, H, A, wts):
    F, bil = features(lr, W, H, A)  # luma features; apply the same weights to each channel
    h, w, _ = lr.shape
    L = luma(lr)
    x, y, ix, iy, fx, fy, c, cs, sn, S = geometry(L, W, H, A)
    wgrid = wts.reshape(LEVELS, KNOTS - 1)
    cl = c * (LEVELS - 1)
    out = bil.copy()
    for dy in range(-2, 4):
        for dx in range(-2, 4):
            ddx, ddy = dx - fx, dy - fy
            u = ddx * cs + ddy * sn
            v = -ddx * sn + ddy * cs
            r = np.sqrt(u * u * S + v * v / S) / STEP
            wt = np.zeros_like(r)
            for j in range(LEVELS):
                tc = np.maximum(0, 1 - np.abs(cl - j))
                for k in range(KNOTS - 1):
                    wt += wgrid[j, k] * tc * np.maximum(0, 1 - np.abs(r - k))
            p = lr[np.clip(iy + dy, 0, h - 1), np.clip(ix + dx, 0, w - 1)]
            out += wt[..., None] * (p - bil)
    return np.clip(out, 0, 1)


def psnr_y(a, b):
    a8 = np.round(a * 255)
    b8 = np.round(b * 255)
    mse = np.mean((luma(a8) - luma(b8)) ** 2)
    return 10 * np.log10(255 * 255 / mse)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        sets = training_set(tmp)
        best = None
        for A in [0.0, 1.0, 2.0, 4.0]:
            wts = fit(sets, A)
            score = []
            for name, hr, lr in sets:
                m = min(len(hr), len(lr))
                score.append(np.mean([psnr_y(apply(lr[f], hr.shape[2], hr.shape[1], A, wts), hr[f]) for f in range(m)]))
            mean = float(np.mean(score))
            print(f"A={A}: training Y-PSNR {mean:.3f} dB ({', '.join('%.2f' % s for s in score)})", file=sys.stderr)
            if best is None or mean > best[0]:
                best = (mean, A, wts)
        _, A, wts = best
        print(f"chosen A={A}", file=sys.stderr)
        print("const ANISO = %s;" % repr(A))
        print("const WEIGHTS = [" + ", ".join("%.5f" % v for v in wts) + "];")


if __name__ == "__main__":
    main()
