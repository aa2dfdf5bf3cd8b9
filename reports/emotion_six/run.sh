#!/usr/bin/env bash
# reports/emotion_six: how its records were made (2-core CPU, KDSUITE_THREADS=1)
set -eu
STORE=${STORE:-store}
# 1. the six scratch Kim CNNs (TensorFlow, 60 epochs, patience 4): seeds 0-2 are reports/emotion_quad's members
kdsuite run reports/emotion_pair/suite.toml --students cnn --out "$STORE"
for s in 3 4 5; do
  kdsuite distill emotion --student cnn --no-kd --seed $s --epochs 60 --patience 4 --backend tensorflow --out "$STORE"
done
M="$STORE/models"   # run folders: the cells' keys (seeds 0-5 in this order)
T="student:$M/84f34e2fe8fd70d5+student:$M/b3c1052200943f5f+student:$M/4b934ffbbf73cdbd"
T="$T+student:$M/f31dc9666ad7649f+student:$M/7486a5c23450c8fc+student:$M/5a129da73e3605c8"
# 2. their ensemble, weights chosen on validation (teacher.json), and their labels of tang:30 (cached; the
#    1-epoch mlp fit only triggers the labelling in a TensorFlow process and is discarded)
kdsuite teacher emotion --teacher "$T" --json > teacher.json
kdsuite teacher emotion --teacher "$T" --out "$STORE"   # its leaderboard row (the cached ensemble)
kdsuite distill emotion --student mlp --teacher "$T" --transfer tang:30 --backend tensorflow --epochs 1 --out prelabel
# 3. mlp-quad on JAX, 100 epochs, patience 8, distilled; its scratch twins are reports/emotion_quad's
for s in 0 1 2; do
  kdsuite distill emotion --student mlp-quad --backend jax --epochs 100 --patience 8 --seed $s --out "$STORE" \
    --teacher "$T" --transfer tang:30
done
# trials/: the same cells at T = 2 (seeds 0-2)
for s in 0 1 2; do
  kdsuite distill emotion --student mlp-quad --backend jax --epochs 100 --patience 8 --temperature 2 --seed $s \
    --out trials-store --teacher "$T" --transfer tang:30
done
# 4. mlp-tri, the same recipe, distilled and from labels (records in results/)
for s in 0 1 2; do
  kdsuite distill emotion --student mlp-tri --backend jax --epochs 100 --patience 8 --seed $s --out "$STORE" \
    --teacher "$T" --transfer tang:30
  kdsuite distill emotion --student mlp-tri --backend jax --epochs 100 --patience 8 --seed $s --out "$STORE" --no-kd
done
