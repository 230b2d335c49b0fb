#!/usr/bin/env bash
# Rebuild OUT/batch_summary.csv and .json from every landscape folder and the
# shards' tables (failures included). Exit 3 when a landscape failed.
set -euo pipefail
"${GREENHALO:-greenhalo}" --quiet batch-merge "${1:?usage: merge.sh OUT_DIR}"
