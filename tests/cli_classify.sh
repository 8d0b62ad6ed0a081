#!/bin/bash
# End-to-end `weldnet classify` and `weldnet merge` on the sample photos: a tiny model trained and
# calibrated here; every photo in the report exactly once; the audit on the calibration set equals
# what calibrate recorded; the prior-shift warning on the (balanced) test set and not on the
# calibration set; uncalibrated models, models of the wrong kind, bad folders and a full disk
# refused with the right exit code; --resume after a cut or an interruption gives the full report;
# shards merged give it too; odd file names survive the CSV; several models in one pass.
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
PY=python3

expect 0 "" -- "$WN" train --config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/val" --epochs 4 \
  --batch 32 --lr 0.003 --threads 2 -q --out "$TMP/tiny.wnet"
expect 0 "" -- "$WN" calibrate --model "$TMP/tiny.wnet" --data "$SAMPLE/calib" --out "$TMP/cal.wnet" \
  --target-recall 0.9 --uncertified -q
M=(--model "$TMP/cal.wnet")

# the report lists each photo file of the folder exactly once, in sorted order
expect 0 "defect recall" -- "$WN" classify "${M[@]}" --report "$TMP/test.csv" -j 2 "$SAMPLE/test"
check "[[ \$(wc -l < $TMP/test.csv) -eq 301 ]]" "test report: header and 300 rows"
$PY - "$TMP/test.csv" "$SAMPLE/test" > "$TMP/listcheck.txt" <<'EOF'
import csv, os, sys
rows = list(csv.reader(open(sys.argv[1], newline='')))
paths = [r[0] for r in rows[1:]]
files = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[2]) for f in fs)
print("same" if paths == files and len(set(paths)) == len(paths) else "differ")
print("decisions", sorted(set(r[1] for r in rows[1:])))
EOF
check "grep -q '^same' $TMP/listcheck.txt" "report paths = the photo files, once each, sorted"
check "grep -q \"'pass', 'review'\" $TMP/listcheck.txt" "both decisions occur on the test set"
check "grep -q '^prior.cal.warning = 1' $TMP/test.summary.txt" "prior shift warned on the balanced test set"
check "grep -q '^audit.photos = 300' $TMP/test.summary.txt" "audit over the class folders"
check "[[ -s $TMP/test.misses.csv ]]" "misses file written"

# --tf32 only changes GPU convolutions: on the CPU the report is the same
expect 0 "" -- "$WN" classify "${M[@]}" --report "$TMP/test_tf32.csv" -j 2 --device cpu --tf32 -q "$SAMPLE/test"
check "cmp -s $TMP/test.csv $TMP/test_tf32.csv" "--tf32 on the CPU: the same report"

# on the calibration set, classify's audit is what calibrate recorded
expect 0 "" -- "$WN" classify "${M[@]}" --report "$TMP/calib.csv" -q "$SAMPLE/calib"
rec=$("$WN" info "$TMP/cal.wnet" | awk '$1 == "automation" { print $3 }')
got=$(awk -F' = ' '$1 == "audit.automation" { print $2 }' "$TMP/calib.summary.txt")
check "awk 'BEGIN { d = $rec - $got; exit !(d < 1e-5 && d > -1e-5) }'" "automation on calib: calibrate $rec, classify $got"
rec=$("$WN" info "$TMP/cal.wnet" | awk '$1 == "recall" { print $3 }')
got=$(awk -F' = ' '$1 == "audit.defect_recall" { print $2 }' "$TMP/calib.summary.txt")
check "awk 'BEGIN { d = $rec - $got; exit !(d < 1e-5 && d > -1e-5) }'" "recall on calib: calibrate $rec, classify $got"
check "grep -q '^prior.cal.warning = 0' $TMP/calib.summary.txt" "no prior-shift warning on the calibration set"

# models: uncalibrated refused unless --threshold, wrong kinds refused
expect 2 "not calibrated" -- "$WN" classify --model "$TMP/tiny.wnet" --report "$TMP/x.csv" "$SAMPLE/test"
expect 0 "" -- "$WN" classify --model "$TMP/tiny.wnet" --threshold 0.5 --report "$TMP/t.csv" -q "$SAMPLE/test"
check "grep -q '@t=0.5' $TMP/t.csv" "the threshold is part of the model id"
h1=$(sed -n 2p "$TMP/t.csv" | grep -o 'tiny-[0-9a-f]*'); h2=$(sed -n 2p "$TMP/test.csv" | grep -o 'cal-[0-9a-f]*')
check "[[ -n '$h1' && -n '$h2' && '${h1#tiny-}' != '${h2#cal-}' ]]" "model ids tell the files apart ($h1, $h2)"
expect 2 "tiny.state" -- "$WN" classify --model "$TMP/tiny.state" --report "$TMP/x.csv" "$SAMPLE/test"
expect 2 "fm" -- "$WN" classify --model "$(ls "$SAMPLE"/test/ok/*.png | head -1)" --report "$TMP/x.csv" "$SAMPLE/test"
expect 2 "threshold" -- "$WN" classify --model "$TMP/tiny.wnet" --threshold 1.5 --report "$TMP/x.csv" "$SAMPLE/test"

# usage and folders
expect 0 "--shard I/N.*default 1/1" -- "$WN" classify --help
expect 0 "--report FILE" -- "$WN" merge --help
expect 2 "no --report" -- "$WN" classify "${M[@]}" "$SAMPLE/test"
expect 2 "no such photo folder" -- "$WN" classify "${M[@]}" --report "$TMP/x.csv" "$TMP/missing"
expect 2 "inside" -- "$WN" classify "${M[@]}" --report "$TMP/x.csv" "$SAMPLE/test" "$SAMPLE/test/ok"
mkdir -p "$TMP/empty"
cp "$TMP/test.csv" "$TMP/keep.csv"
expect 2 "no photos" -- "$WN" classify "${M[@]}" --report "$TMP/keep.csv" "$TMP/empty"
check "cmp -s $TMP/keep.csv $TMP/test.csv" "an empty folder leaves an existing report alone"
expect 2 "shard" -- "$WN" classify "${M[@]}" --shard 4/3 --report "$TMP/x.csv" "$SAMPLE/test"

# several folders in one report, sorted across them; a single photo as a folder argument
one=$(ls "$SAMPLE"/val/ok/*.png | head -1)
expect 0 "" -- "$WN" classify "${M[@]}" --report "$TMP/both.csv" -q "$SAMPLE/test" "$one" "$SAMPLE/calib"
check "[[ \$(wc -l < $TMP/both.csv) -eq \$((300 + 376 + 1 + 1)) ]]" "two folders and a photo: 677 rows"
check "tail -n +2 $TMP/both.csv | cut -d, -f1 | LC_ALL=C sort -c" "rows sorted across the folders"
expect 0 "" -- "$WN" classify "${M[@]}" --report "$TMP/both.csv" --resume -q "$SAMPLE/test" "$one" "$SAMPLE/calib"
check "[[ \$(wc -l < $TMP/both.csv) -eq 678 ]]" "resume of a finished report adds nothing"

# a full disk while the report is written
expect 1 "No space left" -- "$WN" classify "${M[@]}" --report /dev/full --summary "$TMP/full.txt" "$SAMPLE/test"

# resume after a cut in the middle of a row, and after a cut right after one
size=$(stat -c %s "$TMP/test.csv")
for cut in 10 $((size / 3)) $((size / 2 + 7)) $((size - 1)); do
  head -c $cut "$TMP/test.csv" > "$TMP/cut.csv"
  expect 0 "" -- "$WN" classify "${M[@]}" --report "$TMP/cut.csv" --resume -q "$SAMPLE/test"
  check "cmp -s $TMP/cut.csv $TMP/test.csv" "resumed after a cut at byte $cut = the full report"
done
line=$(head -c $((size / 2)) "$TMP/test.csv" | wc -l)
head -n "$line" "$TMP/test.csv" > "$TMP/cut.csv"
expect 0 "resuming: $((line - 1)) photos" -- "$WN" classify "${M[@]}" --report "$TMP/cut.csv" --resume "$SAMPLE/test"
check "cmp -s $TMP/cut.csv $TMP/test.csv" "resumed after a complete row = the full report"
check "grep -q '^photos = 300' $TMP/cut.summary.txt" "resumed summary covers the whole report"
expect 2 "columns differ" -- "$WN" classify "${M[@]}" --model "$TMP/cal.wnet" --report "$TMP/cut.csv" --resume "$SAMPLE/test"
expect 2 "same folders" -- "$WN" classify "${M[@]}" --report "$TMP/cut.csv" --resume "$SAMPLE/calib"

# an interruption by SIGINT (if the run ends first, the resume is a no-op), then --resume
mkdir -p "$TMP/many"
for i in $(seq 1 10); do cp -r "$SAMPLE/test" "$TMP/many/copy$i"; done
# (one batch size throughout: the backend's sums may differ in the last bit between sizes)
expect 0 "" -- "$WN" classify "${M[@]}" --batch 8 --report "$TMP/many.csv" -q "$TMP/many"
"$WN" classify "${M[@]}" --batch 8 --report "$TMP/int.csv" -q -j 1 "$TMP/many" 2> "$TMP/int.err" &
pid=$!
sleep 0.1
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
check "[[ $rc -eq 0 || ( $rc -eq 1 && \$(grep -c 'interrupted' $TMP/int.err) -eq 1 ) ]]" "SIGINT stops cleanly (exit $rc)"
expect 0 "" -- "$WN" classify "${M[@]}" --batch 8 --report "$TMP/int.csv" --resume -q "$TMP/many"
check "cmp -s $TMP/int.csv $TMP/many.csv" "interrupted and resumed = uninterrupted"

# shards: disjoint, and merged they are the one-run report
for i in 1 2 3; do
  expect 0 "" -- "$WN" classify "${M[@]}" --shard $i/3 --report "$TMP/s$i.csv" -q "$SAMPLE/test"
done
n=$(( $(wc -l < "$TMP/s1.csv") + $(wc -l < "$TMP/s2.csv") + $(wc -l < "$TMP/s3.csv") - 3 ))
check "[[ $n -eq 300 ]]" "shards hold 300 photos together ($n)"
expect 0 "defect recall" -- "$WN" merge --report "$TMP/merged.csv" --model "$TMP/cal.wnet" "$TMP/s3.csv" "$TMP/s1.csv" "$TMP/s2.csv"
check "cmp -s $TMP/merged.csv $TMP/test.csv" "merged shards = the one-run report"
for k in photos pass review audit.missed prior.cal.warning; do
  check "[[ \"\$(grep '^$k = ' $TMP/merged.summary.txt)\" == \"\$(grep '^$k = ' $TMP/test.summary.txt)\" ]]" "merged summary: same $k"
done
expect 2 "two shard reports" -- "$WN" merge --report "$TMP/bad.csv" "$TMP/s1.csv" "$TMP/test.csv"
head -c -5 "$TMP/s2.csv" > "$TMP/s2cut.csv"
expect 2 "did not finish" -- "$WN" merge --report "$TMP/bad.csv" "$TMP/s1.csv" "$TMP/s2cut.csv"
expect 2 "columns differ" -- "$WN" merge --report "$TMP/bad.csv" "$TMP/s1.csv" "$TMP/t.csv"

# outputs that would destroy a model, a photo or an input are refused before anything is written
mkdir -p "$TMP/guard"
cp "$(ls "$SAMPLE"/test/bag/*.png | head -1)" "$TMP/guard/photo.png"
cp "$TMP/cal.wnet" "$TMP/guard/keep.wnet"
expect 2 "is a weldnet model; refusing to overwrite it with the report" -- "$WN" classify "${M[@]}" --report "$TMP/cal.wnet" "$TMP/guard"
expect 2 "is a weldnet model; refusing to overwrite it with the summary" -- "$WN" classify "${M[@]}" --report "$TMP/g.csv" --summary "$TMP/cal.wnet" "$TMP/guard"
expect 2 "is a PNG photo" -- "$WN" classify "${M[@]}" --report "$TMP/guard/photo.png" "$TMP/guard"
expect 2 "is a PNG photo" -- "$WN" classify "${M[@]}" --report "$TMP/guard/photo.png" --resume "$TMP/guard"
check "cmp -s $TMP/cal.wnet $TMP/guard/keep.wnet" "the model is untouched"
check "cmp -s $TMP/guard/photo.png $(ls "$SAMPLE"/test/bag/*.png | head -1)" "the photo is untouched"
expect 2 "are the same file" -- "$WN" classify "${M[@]}" --report "$TMP/g.csv" --summary "$TMP/./g.csv" "$TMP/guard"
expect 2 "is a folder" -- "$WN" classify "${M[@]}" --report "$TMP/guard" "$TMP/guard"
cp "$TMP/s1.csv" "$TMP/guard/s1.csv"
expect 2 "a shard report to merge) are the same file" -- "$WN" merge --report "$TMP/guard/./s1.csv" "$TMP/guard/s1.csv" "$TMP/s2.csv"
ln -f "$TMP/guard/s1.csv" "$TMP/guard/s1_link.csv"
expect 2 "are the same file" -- "$WN" merge --report "$TMP/guard/s1_link.csv" "$TMP/guard/s1.csv" "$TMP/s2.csv"
check "cmp -s $TMP/guard/s1.csv $TMP/s1.csv" "the shard report is untouched"

# odd names (comma, quote, newline, non-UTF-8, percent), a link loop, a ground-truth manifest
mkdir -p "$TMP/odd/sub"
src=$(ls "$SAMPLE"/test/bag/*.png | head -1)
for name in 'a,b.png' 'say "cheese".png' $'new\nline.png' $'\xff\xfe.png' '100%.png' 'noext'; do
  cp "$src" "$TMP/odd/$name"
done
cp "$src" "$TMP/odd/sub/x.png"
ln -s .. "$TMP/odd/sub/loop"
printf 'path,label\n"odd/a,b.png",bag\nodd/sub/x.png,ok\n' > "$TMP/labels.csv"
expect 0 "audit" -- "$WN" classify "${M[@]}" --labels "$TMP/labels.csv" --report "$TMP/odd.csv" "$TMP/odd"
$PY - "$TMP/odd.csv" "$TMP/odd" > "$TMP/oddcheck.txt" <<'EOF'
import csv, os, re, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
def unescape(s):
    return re.sub(rb'%([0-9A-F]{2})', lambda m: bytes([int(m.group(1), 16)]), s.encode('utf-8'))
got = sorted(unescape(r[0]) for r in rows[1:])
root = os.fsencode(sys.argv[2])
want = sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
print("names", "same" if got == want else "differ %r %r" % (got, want))
print("truth", sorted(r[3] for r in rows[1:]))
EOF
check "grep -q '^names same' $TMP/oddcheck.txt" "odd names recoverable byte for byte, each once, loop followed once"
check "grep -q \"truth \\['', '', '', '', '', 'bag', 'ok'\\]\" $TMP/oddcheck.txt" "manifest labels matched"

# several models in one pass: a photo passes only when both pass
cp "$TMP/cal.wnet" "$TMP/second.wnet"
expect 0 "" -- "$WN" classify --model "$TMP/cal.wnet" --model "$TMP/second.wnet" --report "$TMP/two.csv" -q "$SAMPLE/test"
check "head -1 $TMP/two.csv | grep -q 'p:second:sandal'" "second model's columns"
check "[[ \$(grep -c '\"cal:' $TMP/two.csv) -gt 0 ]]" "defects named model:class with several models"
check "diff <(cut -d, -f2 $TMP/two.csv) <(cut -d, -f2 $TMP/test.csv) >/dev/null" "same model twice: the same decisions"
finish
