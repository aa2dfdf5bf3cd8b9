#!/usr/bin/env bash
# reports/amazon_imdb: how its records were made (2-core CPU, TensorFlow, KDSUITE_THREADS=1)
set -eu
STORE=${STORE:-store}
# 1. the teacher: MiniLM-L6 fine-tuned on the 6000 labelled rows, as in reports/amazon_tang (its checkpoint labels
#    the new text; it lives in $KDSUITE_CACHE)
kdsuite teacher amazon_polarity --max-train 6000 --max-length 128 --epochs 1 --checkpoint-every 50
# 2. the Kim CNN distilled with the unused rows, 6 Tang copies of each labelled row and the first 20,000 IMDb
#    unlabelled reviews as transfer text; seeds 0-2 (its scratch twins are reports/amazon_cnn's)
for s in 0 1 2; do
  kdsuite distill amazon_polarity --student cnn --teacher minilm-l6 --transfer unused+tang:6+imdb.unsup:20000 \
    --seq-len 256 --max-train 6000 --epochs 60 --patience 4 --backend tensorflow --seed $s --out "$STORE"
done
