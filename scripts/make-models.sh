#!/usr/bin/env bash
# `make models`: regenerates both reference models from nothing.
#
#   1. training and validation data from lineside's own simulators
#      (bin/lineside sim dataset), with the seeds of the model cards;
#   2. training and ONNX export with PyTorch (Debian python3-torch, run by
#      /usr/bin/python3), writing models/*/*.onnx in place;
#   3. the Go-side figures on fresh seeds never used in training
#      (bin/lineside models eval), printed as a table and as `quality:` lines.
#
# Full training takes tens of minutes per model on two cores.
#
#   QUICK=1     proves the plumbing in a minute or two: small data, one epoch,
#               models written under $WORK/out; the committed models are not
#               touched.
#   WORK=DIR    where data and quick outputs go (default var/models).
#   ONLY=defect|pdm  rebuild one model only.
#   DEFECT_TRAIN_ARGS, PDM_TRAIN_ARGS  extra train.py arguments (e.g.
#               "--epochs 12"), appended after the recipe's.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin/lineside}
PY=${PY:-/usr/bin/python3}
WORK=${WORK:-var/models}
QUICK=${QUICK:-0}
ONLY=${ONLY:-}

log() { printf 'models: %s\n' "$*"; }

if [ ! -x "$BIN" ]; then
  echo "models: $BIN missing; run 'make build' (make models does)" >&2; exit 1
fi
if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "models: $PY lacks torch, onnx or numpy; run 'make setup' (Debian python3-torch python3-onnx python3-numpy)" >&2
  exit 1
fi

# Sizes and epochs: the model cards' recipe, or a tiny run for QUICK=1.
if [ "$QUICK" = 1 ]; then
  OUT=$WORK/out
  d_train=400 d_val=200 d_eval=200 d_args=(--epochs 1 --version 0.0.0-quick)
  p_train=600 p_val=200 p_assets=4 p_val_span=336h p_eval_span=336h p_args=(--epochs 1 --version 0.0.0-quick)
else
  OUT=models
  d_train=16000 d_val=2000 d_eval=2000 d_args=()
  p_train=16000 p_val=3000 p_assets=16 p_val_span=1008h p_eval_span=1344h p_args=()
fi
read -ra d_extra <<< "${DEFECT_TRAIN_ARGS:-}"
read -ra p_extra <<< "${PDM_TRAIN_ARGS:-}"
d_args+=("${d_extra[@]}") p_args+=("${p_extra[@]}")
DATA=$WORK/data
mkdir -p "$DATA" "$OUT/defect-cnn" "$OUT/pdm-lstm"
start=$(date +%s)

dataset() { # dataset NAME ARGS...: writes $DATA/NAME unless it is already complete
  local dir=$DATA/$1; shift
  if [ -f "$dir/meta.json" ] && [ "$(cat "$dir/.args" 2>/dev/null)" = "$*" ]; then
    log "data $dir: up to date"; return
  fi
  rm -rf "$dir"
  log "data $dir: lineside sim dataset $*"
  "$BIN" sim dataset --out "$dir" "$@" >/dev/null
  printf '%s' "$*" > "$dir/.args"
}

evaluate() { # evaluate MODEL NAME...: Go-side figures on fresh data
  local model=$1; shift
  for name in "$@"; do
    "$BIN" models eval --model "$model" --data "$DATA/$name"
    "$BIN" models eval --model "$model" --data "$DATA/$name" --format lines
    echo
  done
}

# --- defect-cnn (models/defect-cnn/README.md and TRAINING.md) ---------------
if [ -z "$ONLY" ] || [ "$ONLY" = defect ]; then
  dataset defect-train --kind defect --n "$d_train" --seed 1001
  dataset defect-val --kind defect --n "$d_val" --seed 2002
  # The recipe of TRAINING.md in two stages: 12 epochs at a peak learning
  # rate of 3e-3 from random weights, then 11 more at 2e-3 from those weights.
  # (1.0.0 ran its first stage on the previous renderer, conveyor/2; here both
  # stages use the current one.) QUICK=1 runs one short stage.
  if [ "$QUICK" = 1 ]; then
    log "training defect-cnn (${d_args[*]})"
    "$PY" models/defect-cnn/train.py --data "$DATA/defect-train" --val "$DATA/defect-val" \
      --out "$OUT/defect-cnn/defect-cnn.onnx" --weights "$WORK/defect-cnn.pt" "${d_args[@]}"
  else
    log "training defect-cnn, stage 1 of 2 (12 epochs, lr 3e-3)"
    "$PY" models/defect-cnn/train.py --data "$DATA/defect-train" --val "$DATA/defect-val" \
      --out "$WORK/defect-cnn-stage1.onnx" --weights "$WORK/defect-cnn-stage1.pt" \
      --epochs 12 --lr 3e-3 --version 1.0.0-stage1
    log "training defect-cnn, stage 2 of 2 (11 epochs, lr 2e-3) ${d_args[*]}"
    "$PY" models/defect-cnn/train.py --data "$DATA/defect-train" --val "$DATA/defect-val" \
      --init "$WORK/defect-cnn-stage1.pt" --epochs 11 --lr 2e-3 --version 1.0.0 \
      --out "$OUT/defect-cnn/defect-cnn.onnx" --weights "$WORK/defect-cnn.pt" "${d_args[@]}"
  fi
  # Fresh seeds, as the Go quality test (inference/eval) uses them.
  dataset defect-fresh --kind defect --n "$d_eval" --seed 9001
  dataset defect-lighting2 --kind defect --n "$d_eval" --seed 9002 --lighting 2
  dataset defect-noise2 --kind defect --n "$d_eval" --seed 9003 --noise 2
  dataset defect-blur1 --kind defect --n "$d_eval" --seed 9004 --blur 1
  evaluate "$OUT/defect-cnn/defect-cnn.onnx" defect-fresh defect-lighting2 defect-noise2 defect-blur1
fi

# --- pdm-lstm (models/pdm-lstm/README.md) ------------------------------------
if [ -z "$ONLY" ] || [ "$ONLY" = pdm ]; then
  dataset pdm-train --kind pdm --n "$p_train" --seed 1 --assets $((p_assets * 3 / 2))
  dataset pdm-val --kind pdm --n "$p_val" --seed 2 --assets "$p_assets" --eval-span "$p_val_span"
  log "training pdm-lstm (${p_args[*]:-train.py defaults})"
  "$PY" models/pdm-lstm/train.py --train "$DATA/pdm-train" --val "$DATA/pdm-val" \
    --out "$OUT/pdm-lstm/pdm-lstm.onnx" "${p_args[@]}"
  # Seeds 3 and 4 are the model card's test lives, never used for training or thresholds.
  dataset pdm-test3 --kind pdm --n 0 --seed 3 --assets "$p_assets" --eval-span "$p_eval_span"
  dataset pdm-test4 --kind pdm --n 0 --seed 4 --assets "$p_assets" --eval-span "$p_eval_span"
  evaluate "$OUT/pdm-lstm/pdm-lstm.onnx" pdm-test3 pdm-test4
fi

log "done in $(( $(date +%s) - start )) s; models in $OUT"
