"""Check a report.html as its readers see it, in headless Chromium:
- at 1400 px and 390 px wide, no table is wider than its container and the
  page never scrolls sideways (layout measured by the browser itself);
- every warning of the run (run_log.txt) is in the report;
- printed to A4 PDF, no page ends with a heading whose content is on the
  next page.
Saves report_1400.png, report_390.png and report.pdf beside the report.
Usage: check_report.py OUT_DIR"""
import json
import os
import re
import subprocess
import sys
import tempfile

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
  const pre = document.createElement('pre');
  pre.id = 'layout-probe';
  pre.textContent = JSON.stringify({bad: bad, warnings: document.querySelectorAll('div.warnings li').length,
    headings: [...document.querySelectorAll('h2, h3')].map(h => h.textContent.trim())});
  document.body.appendChild(pre);
});
</script>
"""
html = open(page, encoding="utf-8").read()
with tempfile.NamedTemporaryFile("w", suffix=".html", dir=os.path.dirname(page), delete=False, encoding="utf-8") as f:
    f.write(html.replace("</body>", probe + "</body>"))
    probed = f.name
headings = []
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

# Printed on A4: no page ends on a heading.
pdf = os.path.join(out, "report.pdf")
subprocess.run(["chromium", *flags, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", f"file://{page}"],
               capture_output=True, timeout=300)
try:
    import logging
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    from pypdf import PdfReader
except ImportError:
    sys.exit("pypdf is missing: run scripts/setup.sh")
reader = PdfReader(pdf)
box = reader.pages[0].mediabox
size_mm = (float(box.width) / 72 * 25.4, float(box.height) / 72 * 25.4)
if abs(size_mm[0] - 210) > 2 or abs(size_mm[1] - 297) > 2:
    problems.append(f"the PDF's pages are {size_mm[0]:.0f} x {size_mm[1]:.0f} mm, not A4")
norm = lambda t: re.sub(r"\s+", " ", t).strip()
heads = {norm(h) for h in headings}
for k, p in enumerate(reader.pages[:-1]):
    lines = [norm(l) for l in (p.extract_text() or "").splitlines() if norm(l)]
    if lines and lines[-1] in heads:
        problems.append(f"A4 page {k + 1} ends with the heading '{lines[-1]}' alone")
print(f"A4 PDF: {len(reader.pages)} pages, {size_mm[0]:.0f} x {size_mm[1]:.0f} mm")
if problems:
    print("\n".join(problems), file=sys.stderr)
    sys.exit(1)
print(f"report layout checked; screenshots {out}/report_1400.png and {out}/report_390.png, {pdf}")
