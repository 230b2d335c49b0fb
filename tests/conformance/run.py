"""The conformance suite: greenhalo against independent reference tools.
Run by scripts/test.sh with the project venv:
    .venv/bin/python tests/conformance/run.py [WORK_DIR]
GREENHALO names the binary (default target/debug/greenhalo)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import Results  # noqa: E402
import check_zonal  # noqa: E402
import check_zonal_peers  # noqa: E402
import check_cost_distance  # noqa: E402
import check_plan  # noqa: E402


def main():
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="greenhalo-conformance-")
    res = Results()
    check_zonal.run(res, os.path.join(work, "zonal"))
    check_zonal_peers.run(res, os.path.join(work, "zonal_peers"))
    check_cost_distance.run(res, os.path.join(work, "cost"))
    check_plan.run(res, os.path.join(work, "plan"))
    print(f"conformance: {res.passed} passed, {len(res.failed)} failed")
    if res.failed:
        print("failed: " + ", ".join(res.failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
