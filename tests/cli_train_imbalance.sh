#!/bin/bash
# End-to-end `weldnet train` on imbalanced sample photos: every loss and sampler runs, resumes
# bit-identically and repeats per seed; the data report and its warnings; per-epoch per-class
# recall, macro F1 and confusion matrix; the collapse warning fires on a set that can only be
# learnt as a constant classifier and stays quiet on a good run; --overfit-check passes and
# fails as it should and writes nothing; the PNG plots; --init and --freeze; and every bad
# value of the new options is exit 2 with a message naming the option.
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
common=(--config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/test" --batch 32 --lr 0.003 --threads 2 -q)

# ---- --help lists the new options with their defaults
help=$("$WN" train --help)
for o in "--loss NAME" "--prior P" "--tau X" "--focal-gamma X" "--sampler NAME" "--target-ratio X" \
         "--overfit-check N" "--init FILE" "--freeze LAYER" "--plots 0|1" "--sam RHO"; do
  check "grep -qF -- '$o' <<<\"\$help\"" "--help lists $o"
done
check "grep -qF 'ce|bayesian|weighted|logit-adjusted|focal [ce]' <<<\"\$help\"" "--help shows the loss default"

# ---- each loss x sampler pair: 2 epochs + resume to 4 == 4 straight; the same seed repeats
pairs=("bayesian stratified" "focal balanced" "weighted undersample --ema 0.99" "logit-adjusted oversample"
       "ce stratified --cutout 6 --mixup 0.4 --rotate 12 --zoom 0.1" "bayesian shuffle --prior train"
       "logit-adjusted oversample --sam 0.05")
i=0
for p in "${pairs[@]}"; do
  read -r loss sampler more <<<"$p"
  # shellcheck disable=SC2206
  opts=(--loss "$loss" --sampler "$sampler" $more --target-ratio 2 --crop 2 --flip 1)
  expect 0 "best epoch" -- "$WN" train "${common[@]}" "${opts[@]}" --epochs 4 --out "$TMP/s$i.wnet"
  expect 0 "" -- "$WN" train "${common[@]}" "${opts[@]}" --epochs 2 --out "$TMP/r$i.wnet"
  expect 0 "resuming after epoch 2" -- "$WN" train "${common[@]}" "${opts[@]}" --epochs 4 --resume --out "$TMP/r$i.wnet"
  check "diff <(cut -d, -f1-7,11- $TMP/s$i.log.csv) <(cut -d, -f1-7,11- $TMP/r$i.log.csv) >/dev/null" \
        "$loss + $sampler: the resumed run matches the straight run"
  if [[ $i -lt 2 ]]; then
    expect 0 "" -- "$WN" train "${common[@]}" "${opts[@]}" --epochs 4 --out "$TMP/d$i.wnet"
    check "diff <(cut -d, -f1-7,11- $TMP/s$i.log.csv) <(cut -d, -f1-7,11- $TMP/d$i.log.csv) >/dev/null" \
          "$loss + $sampler: the same seed gives the same run"
  fi
  best=$(awk -F, 'NR > 1 && $7 > m { m = $7 } END { print m + 0 }' "$TMP/s$i.log.csv")
  check "awk 'BEGIN { exit !($best >= 0.80) }'" "$loss + $sampler learns (best balanced accuracy $best)"
  i=$((i + 1))
done
# the samplers differ from each other (the stratified run is not the shuffled one)
check "! diff <(cut -d, -f3 $TMP/s4.log.csv) <(cut -d, -f3 $TMP/r5.log.csv) >/dev/null" "different samplers give different runs"
# --sam steps with the second gradient: the run differs from the same settings without it
check "! diff <(cut -d, -f3 $TMP/s3.log.csv) <(cut -d, -f3 $TMP/s6.log.csv) >/dev/null" "--sam changes the run"
out=$("$WN" train "${common[@]}" --epochs 1 --sam 0.05 --out "$TMP/sam.wnet" 2>&1)
check "grep -qF 'sharpness-aware minimisation: radius 0.05' <<<\"\$out\"" "--sam says it is on"

# ---- the report, the per-epoch figures, the log columns, the plots (from the first run)
out=$("$WN" train "${common[@]}" --epochs 2 --loss bayesian --out "$TMP/rep.wnet" 2>&1)
check "grep -q 'always answering .ok. is right for 79.8% of the training photos, uniform guessing for 33.3%' <<<\"\$out\"" "report: majority class vs uniform guessing"
check "grep -q 'warning: dangerous imbalance' <<<\"\$out\"" "report: dangerous-imbalance warning"
check "grep -q \"differ by more than 1.5x: 'ok' 79.79% vs 33.33%\" <<<\"\$out\"" "report: train/val share warning"
check "grep -q 'val recall: ok [0-9.]*% bag [0-9.]*% sandal [0-9.]*% | macro F1 0\\.[0-9]*' <<<\"\$out\"" "per-class recall and macro F1 each epoch"
check "grep -q 'true \\\\ predicted' <<<\"\$out\"" "confusion matrix printed"
check "! grep -q 'acting as a constant classifier' <<<\"\$out\"" "no collapse warning on a good run"
# the model records the priors its outputs assume: uniform for the bayesian loss, the training
# shares for ce (what calibrate divides out)
check "\"$WN\" info $TMP/rep.wnet | grep -q 'output_priors = 0.333333333,0.333333333,0.333333333'" "bayesian model: uniform output priors"
check "\"$WN\" info $TMP/s4.wnet | grep -q 'output_priors = 0.79' " "ce model: the training shares as output priors"
check "head -1 $TMP/rep.log.csv | grep -q '\"val_macro_f1\",\"collapsed\",\"recall_ok\",\"recall_bag\",\"recall_sandal\"'" "log has macro F1, collapse and per-class recall columns"
for png in loss accuracy confusion; do
  check "[[ \$(head -c 8 $TMP/rep.$png.png | od -An -tx1 | tr -d ' ') == 89504e470d0a1a0a ]]" "$png plot is a PNG"
done
size=$(python3 -c "import struct,sys; d=open(sys.argv[1],'rb').read(24); print(*struct.unpack('>II', d[16:24]))" "$TMP/rep.loss.png")
check "[[ '$size' == '800 500' ]]" "loss plot is 800 x 500 (got $size)"
expect 0 "" -- "$WN" train "${common[@]}" --epochs 1 --plots 0 --out "$TMP/np.wnet"
check "[[ ! -e $TMP/np.loss.png && ! -e $TMP/np.confusion.png ]]" "--plots 0 writes no plots"
# a plot that cannot be written is a warning, not the end of the run
mkdir -p "$TMP/pf.loss.png"
expect 0 "warning: plots: .*pf.loss.png.*training goes on without plots" -- "$WN" train "${common[@]}" --epochs 2 --out "$TMP/pf.wnet"
check "[[ -s $TMP/pf.wnet && \$(wc -l < $TMP/pf.log.csv) -eq 3 ]]" "the run finished despite the plot"
# a resumed run whose log is gone starts a new log with its header
rm "$TMP/pf.log.csv"
expect 0 "resuming after epoch 2" -- "$WN" train "${common[@]}" --epochs 3 --plots 0 --resume --out "$TMP/pf.wnet"
check "head -1 $TMP/pf.log.csv | grep -q '^\"epoch\"' && [[ \$(wc -l < $TMP/pf.log.csv) -eq 2 ]]" "new log has its header"
# select = last keeps every epoch's model
expect 0 "model of the last epoch, 3, in" -- "$WN" train "${common[@]}" --epochs 3 --select last --out "$TMP/last.wnet"
check "awk -F, 'NR > 1 { s += \$10 } END { exit !(s == 3) }' $TMP/last.log.csv" "select last: every epoch is saved"
# a class-balanced validation set gives no share warning
out=$("$WN" train "${common[@]}" --val "$SAMPLE/val" --epochs 1 --out "$TMP/v.wnet" 2>&1)
check "! grep -q 'differ by more than' <<<\"\$out\"" "no share warning when train and val shares agree"

# ---- the collapse detector: 40 copies of one photo, 95% labelled ok, can only be learnt as a
# constant classifier
one=$(find "$SAMPLE/train/ok" -name '*.png' | sort | head -1)
mkdir -p "$TMP/same/ok" "$TMP/same/bad"
for n in $(seq 1 38); do cp "$one" "$TMP/same/ok/p$n.png"; done
for n in 1 2; do cp "$one" "$TMP/same/bad/p$n.png"; done
same=(--config "$NET" --data "$TMP/same" --val "$TMP/same" --batch 8 --threads 2 -q)
expect 0 "warning: epoch 3: the model is acting as a constant classifier: 100.0% of the validation photos are predicted 'ok' \(training prior 95.0%\); try --loss bayesian or --sampler stratified" \
  -- "$WN" train "${same[@]}" --epochs 3 --out "$TMP/same.wnet"
check "awk -F, 'NR > 1 { s += \$12 } END { exit !(s == 3) }' $TMP/same.log.csv" "log marks every epoch collapsed"
# over-corrected: logit adjustment with tau 3 makes the rare class the constant answer
expect 0 "predicted 'bad' \(training prior 5.0%\); that is not the largest class, so the imbalance is over-corrected: lower --tau" \
  -- "$WN" train "${same[@]}" --epochs 2 --lr 0.01 --loss logit-adjusted --tau 3 --out "$TMP/same2.wnet"

# ---- --overfit-check
expect 0 "overfit check passed: the network fits all 24 photos" -- "$WN" train "${common[@]}" --overfit-check 24
check "[[ ! -e $TMP/ov.wnet ]]" "overfit check writes no model"
expect 1 "overfit check failed: after 300 passes the network still gets [0-9]+ of 10 photos wrong" \
  -- "$WN" train "${same[@]}" --overfit-check 10
expect 0 "training on 6 photos \(2 ok, 2 bag, 2 sandal\)" -- "$WN" train "${common[@]}" --overfit-check 6
expect 2 "--overfit-check 2: needs at least 3 photos, one per class" -- "$WN" train "${common[@]}" --overfit-check 2
expect 2 "--overfit-check 5000: the training set has only 376 readable photos" -- "$WN" train "${common[@]}" --overfit-check 5000

# ---- transfer: a two-class set starts from the three-class model; conv1 copied and frozen
mkdir -p "$TMP/two/ok" "$TMP/two/bag"
find "$SAMPLE/train/ok" -name '*.png' | sort | head -60 | xargs -I{} cp {} "$TMP/two/ok/"
find "$SAMPLE/train/bag" -name '*.png' | sort | xargs -I{} cp {} "$TMP/two/bag/"
expect 0 "" -- "$WN" train "${common[@]}" --epochs 2 --out "$TMP/base.wnet"
two=(--config "$NET" --data "$TMP/two" --batch 16 --threads 2 -q)
expect 0 "init from .*base.wnet: copied 1 layer: conv1" -- "$WN" train "${two[@]}" --epochs 1 --init "$TMP/base.wnet" --out "$TMP/t1.wnet"
expect 0 "fc \(fc.weight is 3x288 there, 2x288 here\)" -- "$WN" train "${two[@]}" --epochs 1 --init "$TMP/base.wnet" --out "$TMP/t1.wnet"
expect 0 "frozen: the 1 layer up to and including 'conv1' are not updated" \
  -- "$WN" train "${two[@]}" --epochs 2 --init "$TMP/base.wnet" --freeze conv1 --out "$TMP/t2.wnet"
tensor() { python3 -c "import sys; d=open(sys.argv[1],'rb').read(); i=d.index(sys.argv[2].encode())+len(sys.argv[2]); print(d[i:i+int(sys.argv[3])].hex())" "$@"; }
check "[[ \$(tensor $TMP/base.wnet conv1.weight 308) == \$(tensor $TMP/t2.wnet conv1.weight 308) ]]" "frozen conv1 keeps the weights of --init"
check "[[ \$(tensor $TMP/base.wnet conv1.weight 308) != \$(tensor $TMP/t1.wnet conv1.weight 308) ]]" "unfrozen conv1 trains on"
printf '[net]\nwidth = 28\nheight = 28\nchannels = 1\n[train]\nfreeze = fc\n[stem]\ntype = conv\nfilters = 2\nsize = 3\n[fc]\ntype = dense\nunits = classes\n' > "$TMP/other.ini"
expect 2 "--init .*base.wnet: no layer of that model matches this network" -- "$WN" train --config "$TMP/other.ini" --data "$TMP/two" --threads 2 -q --epochs 1 --init "$TMP/base.wnet" --out "$TMP/t3.wnet"
expect 0 "frozen: the 2 layers up to and including 'fc'" -- "$WN" train --config "$TMP/other.ini" --data "$TMP/two" --threads 2 -q --epochs 1 --out "$TMP/t4.wnet"

# ---- bad values: exit 2 and a message naming the option
expect 2 "--loss: \[train\] loss = 'hinge': expected one of ce\|bayesian\|weighted\|logit-adjusted\|focal" -- "$WN" train "${common[@]}" --loss hinge --out "$TMP/x.wnet"
expect 2 "--sampler: \[train\] sampler = 'smote': expected one of shuffle\|stratified" -- "$WN" train "${common[@]}" --sampler smote --out "$TMP/x.wnet"
expect 2 "--prior: \[train\] prior = 'test'" -- "$WN" train "${common[@]}" --prior test --out "$TMP/x.wnet"
expect 2 "--tau: \[train\] tau = '-1': expected a number from 0 to 10" -- "$WN" train "${common[@]}" --tau -1 --out "$TMP/x.wnet"
expect 2 "--focal-gamma: \[train\] focal_gamma = 'abc'" -- "$WN" train "${common[@]}" --focal-gamma abc --out "$TMP/x.wnet"
expect 2 "--target-ratio: \[train\] target_ratio = '0.5': expected a number from 1" -- "$WN" train "${common[@]}" --target-ratio 0.5 --out "$TMP/x.wnet"
expect 2 "--sam: \[train\] sam = '-0.1': expected a number from 0 to 100" -- "$WN" train "${common[@]}" --sam -0.1 --out "$TMP/x.wnet"
expect 2 "--plots: \[train\] plots = '2'" -- "$WN" train "${common[@]}" --plots 2 --out "$TMP/x.wnet"
expect 2 "--freeze: \[train\] freeze = 'a b'" -- "$WN" train "${common[@]}" --freeze 'a b' --out "$TMP/x.wnet"
expect 2 "--freeze: freeze = 'conv9' is not a layer of the network \(layers: conv1, relu1, pool1, fc\)" -- "$WN" train "${common[@]}" --freeze conv9 --out "$TMP/x.wnet"
expect 2 "--overfit-check '0': expected a number of photos" -- "$WN" train "${common[@]}" --overfit-check 0
expect 2 "--overfit-check 'x': expected a number of photos" -- "$WN" train "${common[@]}" --overfit-check x
expect 2 "--overfit-check writes nothing, so it cannot --resume" -- "$WN" train "${common[@]}" --overfit-check 5 --resume
expect 2 "--init: .*nosuch.wnet" -- "$WN" train "${common[@]}" --init "$TMP/nosuch.wnet" --out "$TMP/x.wnet"
expect 2 "--select: \[train\] select = 'f1': expected one of balanced_accuracy\|accuracy\|loss\|last" -- "$WN" train "${common[@]}" --select f1 --out "$TMP/x.wnet"
expect 2 "--rotate: \[train\] rotate = '200': expected a number from 0 to 180" -- "$WN" train "${common[@]}" --rotate 200 --out "$TMP/x.wnet"
expect 2 "--zoom: \[train\] zoom = '1': expected a number from 0 to 0.9" -- "$WN" train "${common[@]}" --zoom 1 --out "$TMP/x.wnet"
printf '[net]\nwidth = 28\nheight = 28\nchannels = 1\n[train]\nloss = bayes\n[fc]\ntype = dense\nunits = classes\n' > "$TMP/badloss.ini"
expect 2 "badloss.ini line 6: \[train\] loss = 'bayes': expected one of" -- "$WN" train --config "$TMP/badloss.ini" --data "$SAMPLE/train" --out "$TMP/x.wnet" -q
check "[[ ! -e $TMP/x.wnet ]]" "no model written by a bad command"
finish
