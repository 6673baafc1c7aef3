#!/bin/sh
# Rebuild models/demo-gpt2 from scratch (Debian 12, as root, ~1 hour on 2 cores).
# Scratch files go to $WORK (default /tmp/demo-train); nothing is downloaded
# except Debian packages.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-/tmp/demo-train}
MODEL_DIR="$HERE/../../models/demo-gpt2"

apt-get update
apt-get install -y --no-install-recommends \
  python3-torch libopenblas0-pthread python3-numpy r-base-core r-cran-janeaustenr

Rscript "$HERE/export_austen.R" "$WORK/raw"
/usr/bin/python3 "$HERE/prepare_corpus.py" "$WORK/raw" "$WORK/data"
/usr/bin/python3 "$HERE/train.py" --data "$WORK/data" --out "$WORK/run" --seed 1234 | tee "$WORK/train.log"
/usr/bin/python3 "$HERE/export.py" --ckpt "$WORK/run/ckpt.pt" --out "$MODEL_DIR"
/usr/bin/python3 "$HERE/check.py" --model "$MODEL_DIR" --val "$WORK/data/val.txt" --ckpt "$WORK/run/ckpt.pt" \
  --json_out "$WORK/check.json" | tee "$WORK/check.txt"
