"""Run the greenhalo executable from an algorithm: its own progress on the
Processing progress bar (`--progress-lines`: `progress<TAB>step<TAB>done<TAB>total`
lines on stderr), every other line in the log as greenhalo says it
(warnings as warnings, errors as errors), and a cancel from QGIS sent to it
as SIGTERM, on which greenhalo removes its staging folder and keeps any
earlier output."""
import queue
import signal
import subprocess
import threading

from qgis.core import QgsProcessingException

from .provider import binary


def _pump(stream, tag, q):
    for raw in iter(stream.readline, b""):
        q.put((tag, raw.decode("utf-8", "replace").rstrip("\n")))
    q.put((tag, None))


def run(args, feedback, ok_codes=(0,)):
    """Runs `greenhalo ARGS`; returns (exit code, stdout lines). Raises a
    QgsProcessingException with greenhalo's own error when it fails (exit
    code not in `ok_codes`), or when cancelled."""
    exe = binary()
    cmd = [exe, "--progress-lines"] + [str(a) for a in args]
    feedback.pushCommandInfo(" ".join(_quote(c) for c in cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)
    q = queue.Queue()
    threads = [threading.Thread(target=_pump, args=(proc.stdout, "out", q), daemon=True),
               threading.Thread(target=_pump, args=(proc.stderr, "err", q), daemon=True)]
    for t in threads:
        t.start()
    open_streams, out, errors, cancelled, step_now = 2, [], [], False, None
    while open_streams:
        if feedback.isCanceled() and not cancelled:
            cancelled = True
            feedback.pushInfo("cancelled: stopping greenhalo (its partial output is removed)")
            proc.send_signal(signal.SIGTERM)
        try:
            tag, line = q.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
            continue
        if tag == "out":
            out.append(line)
            feedback.pushConsoleInfo(line)
            continue
        if line.startswith("progress\t"):
            parts = line.split("\t")
            if len(parts) >= 4:
                step, done, total = parts[1].strip(), parts[2], parts[3]
                if step != step_now:
                    step_now = step
                    feedback.setProgressText(f"greenhalo: {step}")
                try:
                    d, n = float(done), float(total)
                    if n > 0:
                        feedback.setProgress(min(100.0, 100.0 * d / n))
                except ValueError:
                    pass
            continue
        low = line.lstrip().lower()
        if low.startswith("greenhalo:"):
            # (the CLI's last word on a failure: the exception says it)
            errors.append(line[len("greenhalo:"):].strip())
        elif low.startswith("error"):
            errors.append(line)
            feedback.reportError(line, False)
        elif low.startswith("warning") or low.startswith("note"):
            feedback.pushWarning(line)
        else:
            feedback.pushInfo(line)
    code = proc.wait()
    for t in threads:
        t.join()
    proc.stdout.close()
    proc.stderr.close()
    if cancelled:
        raise QgsProcessingException("cancelled; greenhalo stopped and removed its partial output")
    if code not in ok_codes:
        said = "\n".join(errors) if errors else f"greenhalo exited with status {code}"
        raise QgsProcessingException(said)
    return code, out


def _quote(s):
    return s if s and all(c.isalnum() or c in "-_./=:," for c in s) else "'" + s.replace("'", "'\\''") + "'"
