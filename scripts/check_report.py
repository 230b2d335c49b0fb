"""Check a report.html as its readers see it, in headless Chromium:
- at 1400 px and 390 px wide, no table is wider than its container and the
  page never scrolls sideways (layout measured by the browser itself);
- every warning of the run (run_log.txt) is in the report;
- printed to PDF on A4 (the page's own size) and on US Letter, no page ends
  with a heading, and no heading or legend is on another page than the
  start of the block it belongs to (paragraph, table, map).
Saves report_1400.png, report_390.png, report.pdf and report_letter.pdf
beside the report.
Usage: check_report.py OUT_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

out = sys.argv[1]
page = os.path.abspath(os.path.join(out, "report.html"))
problems = []
profile = tempfile.mkdtemp()
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}"]

# The browser measures its own layout: a copy of the page with a script
# that writes what overflows into the DOM, read back with --dump-dom.
probe = r"""
<script>
window.addEventListener('load', () => {
  const bad = [];
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    bad.push('the page is ' + document.documentElement.scrollWidth + ' px wide in a ' + vw + ' px window');
  for (const t of document.querySelectorAll('table')) {
    const box = t.parentElement;
    const over = t.getBoundingClientRect().width - box.clientWidth;
    if (over > 1) {
      let h = null;
      for (const x of document.querySelectorAll('h2, h3'))
        if (x.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING) h = x;
      bad.push('a table under "' + (h ? h.textContent.trim() : '?') + '" is ' + Math.round(over) + ' px wider than its container');
    }
  }
  // What each heading and legend belongs to: the first text of the block
  // after it (a paragraph, a table's head, a map's title), checked on the
  // printed pages below.
  const pairs = [];
  for (const h of document.querySelectorAll('h2, h3, div.legend')) {
    let n = h.nextElementSibling;
    while (n && !(n.textContent || '').trim()) n = n.nextElementSibling;
    if (n) pairs.push([h.tagName.toLowerCase(), h.textContent.trim(), n.textContent.trim().slice(0, 200)]);
  }
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify({bad: bad, warnings: document.querySelectorAll('div.warnings li').length,
    headings: [...document.querySelectorAll('h2, h3')].map(h => h.textContent.trim()), pairs: pairs});
  document.body.appendChild(pre);
});
</script>
"""
html = open(page, encoding="utf-8").read()
with tempfile.NamedTemporaryFile("w", suffix=".html", dir=os.path.dirname(page), delete=False, encoding="utf-8") as f:
    f.write(html.replace("</body>", probe + "</body>"))
    probed = f.name
headings = []
pairs = []
warnings_shown = -1
try:
    for width in (1400, 390):
        dom = subprocess.run(["chromium", *flags, f"--window-size={width},2000", "--dump-dom", f"file://{probed}"],
                             capture_output=True, text=True, timeout=180).stdout
        m = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
        if not m:
            problems.append(f"{width} px: the layout probe did not run (page failed to load?)")
            continue
        got = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
        headings = got["headings"]
        pairs = got["pairs"]
        for b in got["bad"]:
            problems.append(f"at {width} px: {b}")
        print(f"{width} px: {len(got['bad'])} overflow(s); {got['warnings']} warning(s) listed")
        warnings_shown = got["warnings"]
        subprocess.run(["chromium", *flags, f"--window-size={width},3000", f"--screenshot={out}/report_{width}.png",
                        f"file://{page}"], capture_output=True, timeout=180)
finally:
    os.unlink(probed)

# Every warning the run printed is in the report.
log = open(os.path.join(out, "run_log.txt"), encoding="utf-8").read()
m = re.search(r"^warnings: (\d+)", log, re.M)
want = int(m.group(1)) if m else 0
if warnings_shown != want:
    problems.append(f"the report lists {warnings_shown} warning(s), run_log.txt {want}")

# Printed: on A4 (the page's own size) and, for a reader whose printer holds
# US Letter, with the size overridden to Letter. On each, no page ends on a
# heading, and no heading or legend is on another page than the start of
# what it belongs to.
try:
    import logging
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from pypdf import PdfReader
except ImportError:
    sys.exit("pypdf is missing: run scripts/setup.sh")
# (NFKC: the PDF's text has the font's ligatures, "eﬃciency" for "efficiency")
norm = lambda t: re.sub(r"\s+", " ", unicodedata.normalize("NFKC", t)).strip()
bare = lambda t: re.sub(r"[^0-9A-Za-z]", "", unicodedata.normalize("NFKC", t))


def print_pdf(src, pdf):
    subprocess.run(["chromium", *flags, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", f"file://{src}"],
                   capture_output=True, timeout=300)
    return PdfReader(pdf)


def check_print(reader, paper, want_mm):
    box = reader.pages[0].mediabox
    size_mm = (float(box.width) / 72 * 25.4, float(box.height) / 72 * 25.4)
    if abs(size_mm[0] - want_mm[0]) > 2 or abs(size_mm[1] - want_mm[1]) > 2:
        problems.append(f"{paper}: the PDF's pages are {size_mm[0]:.0f} x {size_mm[1]:.0f} mm, not {want_mm[0]} x {want_mm[1]}")
    texts = [p.extract_text() or "" for p in reader.pages]
    heads = {norm(h) for h in headings}
    for k, t in enumerate(texts[:-1]):
        lines = [norm(l) for l in t.splitlines() if norm(l)]
        if lines and lines[-1] in heads:
            problems.append(f"{paper} page {k + 1} ends with the heading '{lines[-1]}' alone")
    # Each heading or legend, then the start of its block, found in reading
    # order (letters and digits only: the PDF's text breaks lines and
    # spaces its own way).
    pages = [bare(t) for t in texts]
    page, at, split, found = 0, 0, 0, 0

    def find(needle, page, at):
        for k in range(page, len(pages)):
            i = pages[k].find(needle, at if k == page else 0)
            if i >= 0:
                return k, i + len(needle)
        return None

    missed = []
    for kind, head, nxt in pairs:
        h, n = bare(head)[:40], bare(nxt)[:24]
        if len(h) < 4 or len(n) < 8:
            missed.append(f"{norm(head)[:30]!r} (too short to find)")
            continue
        where_h = find(h, page, at)
        if where_h is None:
            missed.append(f"{norm(head)[:30]!r} (not in the text)")
            continue
        where_n = find(n, *where_h)
        if where_n is None:
            missed.append(f"{norm(head)[:30]!r} (its block {norm(nxt)[:30]!r} not in the text)")
            continue
        found += 1
        if where_n[0] != where_h[0]:
            split += 1
            what = "legend" if kind == "div" else "heading"
            problems.append(f"{paper} page {where_h[0] + 1}: the {what} '{norm(head)[:60]}' is split from what follows it (page {where_n[0] + 1}: '{norm(nxt)[:40]}')")
        page, at = where_h
    print(f"{paper} PDF: {len(reader.pages)} pages, {size_mm[0]:.0f} x {size_mm[1]:.0f} mm; {found} of {len(pairs)} headings and legends found with their blocks, {split} split")
    if missed and os.environ.get("VERBOSE"):
        print(f"{paper}: not checked: " + "; ".join(missed))
    if found < 0.75 * len(pairs):
        problems.append(f"{paper}: only {found} of {len(pairs)} headings and legends found in the PDF's text (the check cannot see the layout)")


pdf = os.path.join(out, "report.pdf")
check_print(print_pdf(page, pdf), "A4", (210, 297))
letter_src = page.replace("report.html", ".report_letter.html")
with open(letter_src, "w", encoding="utf-8") as f:
    f.write(html.replace("</style>", "@page { size: letter; }</style>", 1))
try:
    check_print(print_pdf(letter_src, os.path.join(out, "report_letter.pdf")), "US Letter", (216, 279))
finally:
    os.unlink(letter_src)
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"report layout checked; screenshots {out}/report_1400.png and {out}/report_390.png, {pdf}, {out}/report_letter.pdf")
