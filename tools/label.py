"""A printable label for the pole's box: the unit's id, its commune and a QR code of both, as one SVG file beside
the bundle (`<bundle>-label.svg`, never inside it: the bundle goes onto the card, the label onto the box). It holds
no secret: the status-page password is printed once by `loa provision` and written down by hand.

Uses segno, a technician-tool dependency (extra `[tools]`), imported only here and only when a label is made: where
it is missing (a unit running a benchmark) the bundle is made without its label. Must not import the agent's adapters.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.sax.saxutils import escape

from province.files import write_public

SUFFIX = "-label.svg"
WIDTH_MM, HEIGHT_MM = 90, 40  # fits a common adhesive label; text stays legible at arm's length


def label_path(bundle: Path) -> Path:
    return bundle.with_name(bundle.name + SUFFIX)


def payload(device_id: str, commune: str) -> str:
    """What the QR code holds: small JSON a phone shows as text and a tool can read."""
    return json.dumps({"loa": device_id, "commune": commune}, ensure_ascii=False, separators=(",", ":"))


def available() -> bool:
    try:
        import segno  # noqa: F401
    except ImportError:
        return False
    return True


def write_label(bundle: Path, device_id: str, commune: str) -> Path | None:
    """The label's path; None when segno is not installed (`pip install 'loa[tools]'`)."""
    if not available():
        return None
    path = label_path(bundle)
    write_public(path, svg(device_id, commune))
    return path


def svg(device_id: str, commune: str) -> str:
    import segno

    qr = segno.make(payload(device_id, commune), error="m")
    code = io.BytesIO()
    qr.save(code, kind="svg", xmldecl=False, svgns=False, nl=False, omitsize=True)  # a viewBox, no size: we place it
    body = code.getvalue().decode("ascii").replace("<svg ", '<svg x="2" y="2" width="36" height="36" ', 1)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH_MM}mm" '
            f'height="{HEIGHT_MM}mm" viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}">'
            f'<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#fff" stroke="#000" stroke-width="0.3"/>{body}'
            f'<g font-family="DejaVu Sans, Arial, sans-serif" fill="#000">'
            f'<text x="41" y="10" font-size="3.5">Loa · Cụm loa / Unit</text>'
            f'<text x="41" y="19" font-size="6" font-weight="bold">{escape(device_id)}</text>'
            f'<text x="41" y="27" font-size="3.5">Xã / Commune</text>'
            f'<text x="41" y="34" font-size="5">{escape(commune)}</text></g></svg>\n')
