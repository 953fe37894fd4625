"""Check report pages in a real browser at 1280 px: nothing wider than the window, every image
inside the page, and a screenshot to look at.

    apt-get install -y chromium                       # Debian; any Chromium or Chrome will do
    python benchmarks/browser_check.py runs/annual-plan-fy2027/report.html runs/compare/compare.html
    python benchmarks/browser_check.py --out /tmp/shots PAGE...   # screenshots into /tmp/shots
    python benchmarks/browser_check.py runs/*-frontier/frontier.png runs/*-tornado/tornado.png   # figures

For each page it writes ``<page>.1280.png`` (the first 4000 px of the page at 1280 px wide) beside
the page (or in ``--out``) and prints ``ok`` or what overflows; exit 1 if any page overflows.

How: a copy of the page gets a small script that, once loaded, measures the document's scroll
width and each image's and table box's right edge and writes the result into the page; headless
Chromium's ``--dump-dom`` prints the page after that script ran. No driver or extra package.
Not a test (the tests must not need a browser); ``tests/test_presentation.py`` runs it only where
Chromium is installed.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH = 1280
PROBE = """<script>
window.addEventListener('load', function () {
  var width = window.innerWidth, wide = [];
  document.querySelectorAll('img, div.wide, table, h1, h2, p').forEach(function (el) {
    var box = el.getBoundingClientRect();
    var inBox = el.closest('div.wide') && el.tagName === 'TABLE';  // tables scroll inside their box
    if (!inBox && box.right > width + 1) wide.push(el.tagName + ' right edge ' + Math.round(box.right));
  });
  var out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({innerWidth: width, scrollWidth: document.documentElement.scrollWidth,
                                    images: document.images.length, overflow: wide});
  document.body.appendChild(out);
});
</script>"""


def browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _run(exe: str, *args: str) -> subprocess.CompletedProcess:
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", f"--window-size={WIDTH},4000",
             "--virtual-time-budget=10000"]
    return subprocess.run([exe, *flags, *args], capture_output=True, text=True, timeout=180)


def check(page: Path, out_dir: Path | None = None, exe: str | None = None) -> dict:
    """Measure ``page`` at 1280 px; write its screenshot; return the measurements (``ok`` among them)."""
    exe = exe or browser()
    if exe is None:
        raise RuntimeError("no Chromium found: apt-get install -y chromium")
    if page.suffix.lower() == ".png":  # a figure (frontier.png, tornado.png, sweep.png): shown at its own size
        html = f"<!DOCTYPE html><html><body style='margin:0'><img src='{page.resolve().as_uri()}'></body></html>"
    else:
        html = page.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / f"{page.stem}.html"
        probe.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
        dom = _run(exe, "--dump-dom", probe.as_uri()).stdout
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', dom, re.S)
    if not found:
        raise RuntimeError(f"{page}: the browser did not run the check (is it a Chromium?)")
    result = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    name = f"{page.parent.name}-{page.stem}" if out_dir else page.stem  # pages of several runs side by side
    shot = (out_dir or page.parent) / f"{name}.{WIDTH}.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    if page.suffix.lower() == ".png":
        shot = page  # the figure is its own picture
    else:
        _run(exe, f"--screenshot={shot}", page.resolve().as_uri())
    result["ok"] = result["scrollWidth"] <= WIDTH and not result["overflow"]
    result["screenshot"] = str(shot)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pages", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="folder for the screenshots")
    args = parser.parse_args(argv)
    bad = 0
    for page in args.pages:
        result = check(page, args.out)
        status = "ok" if result["ok"] else "TOO WIDE: " + "; ".join(result["overflow"] or [f"scroll width {result['scrollWidth']}"])
        print(f"{page}: {status} (scroll width {result['scrollWidth']} px, {result['images']} images, "
              f"screenshot {result['screenshot']})")
        bad += not result["ok"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
