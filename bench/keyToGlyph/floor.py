#!/usr/bin/python3
"""
The floor for key → glyph: the same xterm on a plain X server (Xvfb, no VNC), a key sent with
XTest, the same 640×400 area read back (XGetImage) in a tight loop until it changes — what a
local X session costs. Keys alternate `x` and BackSpace, as in the browser benchmark.
Usage: floor.py KEYS (DISPLAY set); prints one latency in milliseconds per line.
"""
import sys
import time

from Xlib import X, XK, display
from Xlib.ext import xtest

keys = int(sys.argv[1])
d = display.Display()
root = d.screen().root
codes = [d.keysym_to_keycode(XK.string_to_keysym(name)) for name in ('x', 'BackSpace')]


def grab():
    return root.get_image(0, 0, 640, 400, X.ZPixmap, 0xFFFFFFFF).data


# The pointer in the terminal: with no window manager, the focus follows it.
xtest.fake_input(d, X.MotionNotify, x=300, y=200)
d.sync()
time.sleep(0.3)
for i in range(keys):
    code = codes[i % 2]
    before = grab()
    t0 = time.perf_counter()
    xtest.fake_input(d, X.KeyPress, code)
    d.flush()
    while grab() == before:
        if time.perf_counter() - t0 > 2:
            break
    else:
        print(f'{(time.perf_counter() - t0) * 1000:.3f}', flush=True)
    xtest.fake_input(d, X.KeyRelease, code)
    d.sync()
    time.sleep(0.04)
