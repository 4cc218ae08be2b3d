#!/usr/bin/env bash
# The command line end to end on the GPU (a phase of device-check.sh; JAVA, CP and JVM_FLAGS come from
# it): S1 and S2 training on CUDA on the bundled photos, restore on CUDA and on the CPU, and the
# PSNR between the two restorations (they should agree to float32 round-off).
set -euo pipefail
D=/tmp/diffir-cli
rm -rf "$D" && mkdir -p "$D/data"
cp app/src/main/resources/samples/*.png "$D/data/"
diffir() { "$JAVA" $JVM_FLAGS -cp "$CP" diffir.cli.Main "$@"; }
ARCH=(--dim 16 --blocks 1,1,1,1 --refinement 1 --heads 1,1,2,2 --encoder-res 1)
diffir train --device cuda --task deblur --stage s1 --data "$D/data" --out "$D/s1" --steps 40 --batch 4 --patch 64 \
  "${ARCH[@]}" --lr 1e-3 --val-every 20 --save-every 20
diffir train --device cuda --task deblur --stage s2 --s1 "$D/s1/model.safetensors" --data "$D/data" --out "$D/s2" \
  --steps 40 --encoder-steps 10 --batch 4 --patch 64 --lr 1e-3 --val-every 20 --save-every 20
diffir train --device cuda --task deblur --stage s2 --data "$D/data" --out "$D/s2" --steps 50 --resume
diffir degrade --task deblur --input "$D/data" --output "$D/blur" --seed 3
diffir restore --device cuda --weights "$D/s2/model.safetensors" --input "$D/blur" --output "$D/gpu"
diffir restore --device cpu --weights "$D/s2/model.safetensors" --input "$D/blur" --output "$D/cpu"
echo "-- GPU restorations against CPU restorations (8-bit PNGs):"
diffir eval --pred "$D/gpu" --gt "$D/cpu"
echo "-- GPU restorations against the sharp photos:"
diffir eval --pred "$D/gpu" --gt "$D/data"
tail -3 "$D/s2/log.csv"
