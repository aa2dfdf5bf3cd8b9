#!/usr/bin/env bash
# reports/emotion_quad: how its records were made (2-core CPU, KDSUITE_THREADS=1)
set -eu
STORE=${STORE:-store}
# 1. the teacher's members: the three scratch Kim CNNs of reports/emotion_pair (TensorFlow), and its row
kdsuite run reports/emotion_pair/suite.toml --students cnn --out "$STORE"
M="$STORE/models"
T="student:$M/84f34e2fe8fd70d5+student:$M/b3c1052200943f5f+student:$M/4b934ffbbf73cdbd"
# 2. the CNNs label tang:30 once, in a TensorFlow process (the labels are cached; this 1-epoch mlp fit is discarded)
kdsuite distill emotion --student mlp --teacher "$T" --transfer tang:30 --backend tensorflow --epochs 1 --out prelabel
# 3. mlp-quad on JAX, 100 epochs, patience 8: distilled and scratch, seeds 0-2
for s in 0 1 2; do
  kdsuite distill emotion --student mlp-quad --backend jax --epochs 100 --patience 8 --seed $s --out "$STORE" \
    --teacher "$T" --transfer tang:30
  kdsuite distill emotion --student mlp-quad --backend jax --epochs 100 --patience 8 --seed $s --out "$STORE" --no-kd
done
