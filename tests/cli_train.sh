#!/bin/bash
# End-to-end `weldnet train` on the sample photos: a tiny network reaches a fixed balanced
# accuracy, writes the model, log and state; same seed gives the same run; --resume continues a
# stopped run exactly; `weldnet info` prints the header.
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
common=(--config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/test" --batch 32 --lr 0.003 --threads 2 -q)

expect 0 "best epoch" -- "$WN" train "${common[@]}" --epochs 6 --out "$TMP/a.wnet"
check "[[ -s $TMP/a.wnet && -s $TMP/a.state ]]" "model and state written"
check "[[ \$(wc -l < $TMP/a.log.csv) -eq 7 ]]" "log has a header and 6 epochs"
best=$(awk -F, 'NR > 1 && $7 > m { m = $7 } END { print m + 0 }' "$TMP/a.log.csv")
check "awk 'BEGIN { exit !($best >= 0.90) }'" "tiny net reaches balanced accuracy 0.90 on the sample test photos (got $best)"
loss1=$(awk -F, 'NR == 2 { print $3 }' "$TMP/a.log.csv"); loss6=$(awk -F, 'NR == 7 { print $3 }' "$TMP/a.log.csv")
check "awk 'BEGIN { exit !($loss6 < $loss1) }'" "training loss falls ($loss1 -> $loss6)"

expect 0 "classes" -- "$WN" info "$TMP/a.wnet"
info=$("$WN" info "$TMP/a.wnet")
for cls in ok bag sandal; do check "grep -q '$cls' <<<\"\$info\"" "info lists class $cls"; done
check "grep -qi 'conv' <<<\"\$info\"" "info shows the network definition"

# same seed, same run (CPU): every loss and accuracy column identical
expect 0 "" -- "$WN" train "${common[@]}" --epochs 6 --out "$TMP/b.wnet"
check "diff <(cut -d, -f1-7 $TMP/a.log.csv) <(cut -d, -f1-7 $TMP/b.log.csv) >/dev/null" "same seed gives the same log"
expect 0 "" -- "$WN" train "${common[@]}" --epochs 2 --seed 7 --out "$TMP/c.wnet"
check "! diff <(cut -d, -f1-3 $TMP/a.log.csv | head -3) <(cut -d, -f1-3 $TMP/c.log.csv) >/dev/null" "another seed gives another run"

# resume: 3 epochs, stop, resume to 6 == 6 straight epochs
expect 0 "" -- "$WN" train "${common[@]}" --epochs 3 --out "$TMP/r.wnet"
expect 0 "resuming after epoch 3" -- "$WN" train "${common[@]}" --epochs 6 --resume --out "$TMP/r.wnet"
check "diff <(cut -d, -f1-7 $TMP/a.log.csv) <(cut -d, -f1-7 $TMP/r.log.csv) >/dev/null" "resumed run matches the straight run"
# the figures do not depend on the thread count (fixed chunks for the gradient sums, no OpenBLAS
# threads): one epoch of the 3-conv net with crop and flip on 1 and on 2 threads
fm=(--config "$ROOT/samples/nets/fmnist_small.ini" --data "$SAMPLE/train" --val "$SAMPLE/val" --epochs 1
    --batch 32 --crop 2 --flip 1 --plots 0 -q)
expect 0 "" -- "$WN" train "${fm[@]}" --threads 1 --out "$TMP/t1.wnet"
expect 0 "" -- "$WN" train "${fm[@]}" --threads 2 --out "$TMP/t2.wnet"
check "cmp -s $TMP/t1.state $TMP/t2.state" "1 and 2 threads give the same training state, byte for byte"
check "cmp -s <(cut -d, -f1-7,10- $TMP/t1.log.csv) <(cut -d, -f1-7,10- $TMP/t2.log.csv)" "1 and 2 threads give the same log"
# outputs that would destroy a photo, a file of another kind or an input are refused up front
photo=$(ls "$SAMPLE"/train/bag/*.png | head -1)
cp "$photo" "$TMP/photo.png"
cp "$TMP/a.wnet" "$TMP/keep.wnet"
expect 2 "photo.png: is a PNG photo; refusing to overwrite it with the training log" -- \
  "$WN" train "${common[@]}" --epochs 1 --out "$TMP/g.wnet" --log "$TMP/photo.png"
expect 2 "is a weldnet model; refusing to overwrite it with the training state" -- \
  "$WN" train "${common[@]}" --epochs 1 --out "$TMP/g.wnet" --state "$TMP/a.wnet"
expect 2 "is a weldnet training state; refusing to overwrite it with the model" -- \
  "$WN" train "${common[@]}" --epochs 1 --out "$TMP/a.state"
expect 2 "the --config file" -- "$WN" train "${common[@]}" --epochs 1 --out "$TMP/g.wnet" --log "$NET"
check "cmp -s $TMP/photo.png $photo && cmp -s $TMP/a.wnet $TMP/keep.wnet" "the photo and the model are untouched"
check "[[ ! -e $TMP/g.wnet ]]" "a refused run writes no model"
finish
