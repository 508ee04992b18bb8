#!/usr/bin/python3
"""What a window manager would do, for the end-to-end tests (Xvfb has no window manager).

  x11.py state TITLE   prints "visible", "hidden" or "none" for the top-level window(s) so named
  x11.py close TITLE   asks each such window to close, as a title bar's close button does
                       (a WM_DELETE_WINDOW client message), and prints how many were asked
  x11.py shot TITLE FILE  saves what the window shows as a PNG (read from the X server, as a
                       screenshot tool does: WebKitWebDriver's own screenshot never answers on
                       some of the app's pages)
"""
import sys

from Xlib import X, Xatom, display, error, protocol


def windows(d, title):
    found = []

    def walk(w):
        try:
            name = w.get_full_property(d.intern_atom("_NET_WM_NAME"), 0)
            name = name.value.decode() if name else w.get_wm_name()
            protocols = w.get_wm_protocols() or []
        except error.XError:
            return
        if name == title and protocols:
            found.append(w)
        try:
            children = w.query_tree().children
        except error.XError:
            return
        for c in children:
            walk(c)

    walk(d.screen().root)
    return found


def main():
    what, title = sys.argv[1], sys.argv[2]
    d = display.Display()
    ws = windows(d, title)
    if what == "state":
        if not ws:
            print("none")
        elif any(w.get_attributes().map_state == X.IsViewable for w in ws):
            print("visible")
        else:
            print("hidden")
    elif what == "shot":
        from PIL import Image

        shown = [w for w in ws if w.get_attributes().map_state == X.IsViewable]
        if not shown:
            sys.exit(f"no visible window {title!r}")
        g = shown[0].get_geometry()
        raw = shown[0].get_image(0, 0, g.width, g.height, X.ZPixmap, 0xFFFFFFFF)
        Image.frombytes("RGB", (g.width, g.height), raw.data, "raw", "BGRX").save(sys.argv[3])
        print(sys.argv[3])
    elif what == "close":
        wm_protocols = d.intern_atom("WM_PROTOCOLS")
        wm_delete = d.intern_atom("WM_DELETE_WINDOW")
        for w in ws:
            ev = protocol.event.ClientMessage(
                window=w, client_type=wm_protocols, data=(32, [wm_delete, X.CurrentTime, 0, 0, 0])
            )
            w.send_event(ev)
        d.flush()
        print(len(ws))
    else:
        sys.exit(f"unknown command {what}")


if __name__ == "__main__":
    _ = Xatom
    main()
