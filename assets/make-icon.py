#!/usr/bin/env python3
"""Draws Homeline's icon (a white headset on a teal disc) as RGBA PNGs, with no dependencies.

Source of the artwork: this script; it is the only source, so the icon is licence-clean.
Run: python3 assets/make-icon.py  (writes src-tauri/icons/*.png)
"""
import math
import os
import struct
import zlib


def png(path, size, pixels):
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)
    def chunk(tag, data):
        c = struct.pack(">I", len(data)) + tag + data
        return c + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def coverage(size, x, y, inside, ss=4):
    hits = 0
    for i in range(ss):
        for j in range(ss):
            if inside((x + (i + 0.5) / ss) / size, (y + (j + 0.5) / ss) / size):
                hits += 1
    return hits / (ss * ss)


def disc(u, v):
    return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.47 ** 2


def handset(u, v):
    # A headset: a thick band with two rounded ear pads, upright.
    cx, cy = 0.5, 0.5
    a = 0.0
    x = (u - cx) * math.cos(a) - (v - cy) * math.sin(a)
    # -0.185 centres the shape, which spans y in [-0.49, 0.12] before the shift.
    y = (u - cx) * math.sin(a) + (v - cy) * math.cos(a) - 0.185
    r = math.hypot(x, y + 0.18)
    arc = 0.24 <= r <= 0.31 and y < 0.02
    pad1 = (x + 0.24) ** 2 / 0.07 ** 2 + (y - 0.02) ** 2 / 0.10 ** 2 <= 1
    pad2 = (x - 0.24) ** 2 / 0.07 ** 2 + (y - 0.02) ** 2 / 0.10 ** 2 <= 1
    return arc or pad1 or pad2


def draw(size):
    rows = []
    for y in range(size):
        row = []
        for x in range(size):
            d = coverage(size, x, y, disc)
            h = coverage(size, x, y, handset)
            teal = (0x0F, 0x76, 0x6E)
            r, g, b = [int(c * (1 - h) + 255 * h) for c in teal]
            row += [r, g, b, int(255 * d)]
        rows.append(row)
    return rows


out = os.path.join(os.path.dirname(__file__), "..", "src-tauri", "icons")
os.makedirs(out, exist_ok=True)
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    png(os.path.join(out, name), size, draw(size))
