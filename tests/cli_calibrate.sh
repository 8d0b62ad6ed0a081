#!/bin/bash
# End-to-end `weldnet calibrate` on the sample photos (calib/: 300 ok, 38 bag, 38 sandal) with a
# tiny model trained here: the pooled certified threshold reaches the target on the calibration
# set (checked through --evaluate and the curve), is the most automation the budget allows, and
# the calibrated model's record matches the report and shows in `weldnet info`; --uncertified,
# --per-class with per-class targets, --scores from a CSV (checked against an awk brute force)
# with the thresholds INI; and every bad input exits 2 with a message naming the file.
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
CAL=$SAMPLE/calib
export SOURCE_DATE_EPOCH=1700000000 # the record's date, for a reproducible run
cal=("$WN" calibrate --threads 2)

expect 0 "" -- "$WN" train --config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/val" --epochs 2 \
  --threads 2 -q --out "$TMP/m.wnet"
[[ -s $TMP/m.wnet ]] || { echo "no model trained" >&2; finish; }

# help lists every option with its default
help=$("$WN" calibrate --help)
for opt in model data scores out target-recall confidence uncertified per-class pooled-cap priors \
  ok-class sum-tolerance evaluate report curve plot batch threads device strict cache-dir \
  cache-mem quiet help; do
  check "grep -q -- '--$opt' <<<\"\$help\"" "--help lists --$opt"
done
check "grep -q 'target-recall T .*\[0.95\]' <<<\"\$help\" && grep -q 'confidence C .*\[0.95\]' <<<\"\$help\"" "--help shows the defaults"
expect 0 "calibrate" -- "$WN" --help

# ---- pooled, certified (the default rule) ---------------------------------------------------
out=$("${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --target-recall 0.95 --out "$TMP/cal.wnet" \
  2>"$TMP/cal.err"); rc=$?
check "[[ $rc -eq 0 ]]" "pooled calibration exits 0 (got $rc: $(tail -2 "$TMP/cal.err"))"
summary=$(grep -E '^threshold ' <<<"$out")
check "grep -qE '^threshold [0-9.e-]+: catches [0-9.]+% of defects \(at least 95.0% with 95% confidence, n = 76\); auto-passes [0-9.]+% of photos$' <<<\"\$summary\"" \
  "summary line (got '$summary')"
check "grep -qE '^  balanced accuracy +[0-9.]+% +[0-9.]+%$' <<<\"\$out\"" "balanced accuracy before and after threshold-moving"
for cls in ok bag sandal; do
  check "grep -qE '^  $cls +(300|38) +0\.[0-9]{4} +[0-9.]+% +[0-9.]+%$' <<<\"\$out\"" "per-class accuracy before/after for $cls"
done
check "grep -qE 'Clopper-Pearson interval [0-9.]+%-[0-9.]+%' <<<\"\$out\" && grep -qE '^  automation [0-9.]+% \(95% interval [0-9.]+%-[0-9.]+%' <<<\"\$out\"" \
  "intervals for recall and automation"
check "grep -qE '^target 90.0%: threshold [0-9.e-]+, automation [0-9.]+%$' <<<\"\$out\" && grep -q '^target 95.0%: threshold' <<<\"\$out\"" "automation at targets 0.90 and 0.95"
check "grep -q '^target 98.0%: cannot certify with 76 defect photos (needs 149)' <<<\"\$out\" && grep -q '^target 99.0%: cannot certify with 76 defect photos (needs 299)' <<<\"\$out\"" \
  "targets 0.98 and 0.99 cannot be certified from 76 defect photos"
check "grep -q 'decoding 376/376' $TMP/cal.err && grep -q 'scored 376 photos' $TMP/cal.err" "progress while decoding and scoring"
check "grep -q 'target recall 0.95' $TMP/cal.err && grep -q 'output        $TMP/cal.curve.png' $TMP/cal.err" "effective settings printed"
for f in cal.wnet cal.curve.csv cal.curve.png cal.report.csv; do check "[[ -s $TMP/$f ]]" "$f written"; done
check "[[ \$(head -c 8 $TMP/cal.curve.png | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]]" "the plot is a PNG"
check "[[ \$(head -1 $TMP/cal.curve.csv) == '\"threshold\",\"recall\",\"automation\",\"precision\",\"misses\",\"passed\"' ]]" "curve CSV header"

rep() { awk -F, -v s="\"$1\"" -v n="\"$2\"" -v c="${3:-3}" '$1 == s && $2 == n { gsub(/"/, "", $c); print $c; exit }' "$4"; }
R=$TMP/cal.report.csv
thr=$(rep threshold pooled 3 "$R"); allowed=$(rep allowed_misses defects 3 "$R")
recall=$(rep recall defects 3 "$R"); autom=$(rep automation photos 3 "$R")
check "awk 'BEGIN { exit !($recall >= 0.95) }'" "recall on the calibration set reaches the target (report: $recall)"
# the curve: the chosen row keeps the budget, the next threshold up breaks it (most automation)
row=$(awk -F, -v t="$thr" 'NR > 1 && $1 == t { print NR; exit }' "$TMP/cal.curve.csv")
check "[[ -n '$row' ]]" "the chosen threshold $thr is a row of the curve"
check "awk -F, -v r=$row -v a=$allowed 'NR == r { ok = \$5 <= a && \$2 >= 0.95 } NR == r + 1 { nxt = \$5 > a } END { exit !(ok && nxt) }' $TMP/cal.curve.csv" \
  "the chosen threshold is the highest within $allowed allowed misses"
# the model's record matches the report, and weldnet info shows it
info=$("$WN" info "$TMP/cal.wnet")
field() { sed -n "s/^  $1 = //p" <<<"$info"; }
check "grep -q '^calibration: calibrated' <<<\"\$info\"" "info: calibrated"
check "[[ '$(field mode)' == pooled && '$(field rule)' == certified && '$(field n_photos)' == 376 && '$(field n_defect)' == 76 ]]" "info: mode, rule, set size"
check "awk 'BEGIN { split(\"$(field thresholds)\", t, \", \"); exit !(t[1] - $thr < 1e-7 && $thr - t[1] < 1e-7 && t[2] == \"inf\") }'" \
  "record threshold $(field thresholds) = report $thr"
check "awk 'BEGIN { exit !($(field recall) == $recall && $(field automation) == $autom && $(field recall_lower) == 0.95) }'" "record recall and automation = report"
check "[[ '$(field set_hash)' == '$(rep setting set_hash 3 "$R")' && '$(field date)' == 2023-11-14T22:13:20Z ]]" "record set hash and date"
check "grep -q '^  priors = 0.7' <<<\"\$info\" && grep -q \"^  source = $CAL\" <<<\"\$info\"" "record priors and source"
# set_hash as docs/MODEL_FORMAT.md defines it: FNV-1a 64 of the sorted relative paths
want=$(cd "$CAL" && find . -type f -name '*.png' | sed 's|^\./||' | LC_ALL=C sort | python3 -c '
import sys
h = 0xcbf29ce484222325
for b in sys.stdin.read().rstrip("\n").encode():
    h = ((h ^ b) * 0x100000001b3) % (1 << 64)
print("%016x" % h)')
check "[[ '$(field set_hash)' == '$want' ]]" "set_hash $(field set_hash) = FNV-1a of the sorted file list ($want)"
# --evaluate applies the stored calibration: on the same set it gives the same counts
ev=$("${cal[@]}" -q --evaluate --model "$TMP/cal.wnet" --data "$CAL" --report "$TMP/ev.csv")
check "grep -qE '^on this set: catches [0-9.]+% of defects \(95% interval' <<<\"\$ev\" && grep -q 'target 95.0%: reached on this set' <<<\"\$ev\"" "--evaluate on the calibration set"
check "[[ '$(rep passed photos 3 "$TMP/ev.csv")' == '$(rep passed photos 3 "$R")' && '$(rep recall defects 3 "$TMP/ev.csv")' == '$recall' ]]" \
  "--evaluate counts the same auto-passed photos and recall as the calibration"
expect 0 "on this set: catches" -- "${cal[@]}" -q --evaluate --model "$TMP/cal.wnet" --data "$SAMPLE/test"

# ---- uncertified point estimate ------------------------------------------------------------
expect 0 "n = 76; not certified\); auto-passes" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" \
  --target-recall 0.95 --uncertified --out "$TMP/pt.wnet"
check "[[ \$(rep allowed_misses defects 3 $TMP/pt.report.csv) == 3 && \$(rep setting rule 3 $TMP/pt.report.csv) == point ]]" "point rule allows floor(0.05 * 76) = 3 misses"
check "awk 'BEGIN { exit !($(rep recall defects 3 "$TMP/pt.report.csv") >= 0.95) }'" "point rule reaches the target on the set"
check "\"$WN\" info $TMP/pt.wnet | grep -q '^  rule = point'" "info: rule point"

# ---- per-class -----------------------------------------------------------------------------
expect 2 "cannot certify recall >= 95% with 95% confidence from 38 photos of defect class '(bag|sandal)': at least 59 are needed.*--uncertified" -- \
  "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --per-class --out "$TMP/pc.wnet"
check "[[ ! -e $TMP/pc.wnet ]]" "a refused calibration writes no model"
out=$("${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --per-class --target-recall bag=0.9,sandal=0.9 \
  --confidence 0.9 --out "$TMP/pc.wnet"); rc=$?
check "[[ $rc -eq 0 ]]" "per-class certified at 0.9/0.9 (k* = 1 of 38 per class)"
check "grep -qE '^per-class thresholds: catches [0-9.]+% of defects \(every defect class reaches its target with 90% confidence each, n = 76\)' <<<\"\$out\"" "per-class summary"
check "grep -qE '^  bag: threshold [0-9.e-]+, catches' <<<\"\$out\" && grep -qE '^  sandal: threshold [0-9.e-]+, catches' <<<\"\$out\"" "a threshold per defect class"
pinfo=$("$WN" info "$TMP/pc.wnet")
check "grep -q '^  mode = per-class' <<<\"\$pinfo\" && grep -qE '^  targets = 0, 0.9[0-9]*, 0.9[0-9]*$' <<<\"\$pinfo\" && grep -qE '^  thresholds = inf, [0-9.e-]+, [0-9.e-]+$' <<<\"\$pinfo\"" "info: per-class record"
for cls in bag sandal; do
  check "awk 'BEGIN { exit !($(rep misses $cls 3 "$TMP/pc.report.csv") <= $(rep allowed_misses $cls 3 "$TMP/pc.report.csv") && $(rep recall $cls 3 "$TMP/pc.report.csv") >= 0.9) }'" "$cls keeps its budget and reaches 0.9"
done
ev=$("${cal[@]}" -q --evaluate --model "$TMP/pc.wnet" --data "$CAL")
check "[[ \$(grep -c 'target 90.0% reached on this set' <<<\"\$ev\") -eq 2 ]]" "--evaluate: both classes reach their targets on the calibration set"
expect 0 "sandal: threshold .*target 99.0%" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --per-class \
  --target-recall 0.9,sandal=0.99 --uncertified --pooled-cap --out "$TMP/pc2.wnet"
check "[[ \$(rep misses sandal 3 $TMP/pc2.report.csv) -eq 0 && \$(rep misses bag 3 $TMP/pc2.report.csv) -le 3 ]]" "per-class targets: sandal 0.99 (no miss of 38), bag 0.9 (at most 3)"

# ---- scores from another framework ----------------------------------------------------------
# probabilities on a 1/4096 grid, exact in float and in awk's doubles
awk 'BEGIN { srand(7); print "path,label,ok,bag,sandal"
  for (i = 0; i < 600; i++) {
    if (i % 5 == 0) { lab = (i % 10 == 0) ? "bag" : "sandal"; d = int(4096 * (0.3 + 0.7 * rand())) }
    else { lab = "ok"; d = int(4096 * 0.6 * rand() * rand()) }
    b = int(d * rand()); s = d - b
    printf "img/%04d.png,%s,%.12f,%.12f,%.12f\n", i, lab, (4096 - d) / 4096, b / 4096, s / 4096 } }' >"$TMP/s.csv"
ini() { sed -n "/^\[$1\]/,/^\[/s/^$2 = //p" "$3" | head -1; }
# awk brute force: the most photos any pooled threshold passes with at most A defect photos passed
brute() { awk -F, -v a="$1" 'NR > 1 { n++; s[n] = $4 + $5; d[n] = ($2 != "ok") }
  END { best = 0; for (c = 1; c <= n + 1; c++) { t = (c <= n) ? s[c] : 2; p = 0; m = 0
          for (i = 1; i <= n; i++) if (s[i] < t) { p++; m += d[i] }
          if (m <= a && p > best) best = p }
        print best }' "$TMP/s.csv"; }
expect 0 "n = 120; not certified" -- "${cal[@]}" -q --scores "$TMP/s.csv" --target-recall 0.9 --uncertified --out "$TMP/t.ini"
t=$(ini calibration pooled_threshold "$TMP/t.ini")
got=$(awk -F, -v t="$t" 'NR > 1 && $2 != "ok" { n++; if ($4 + $5 >= t) c++ } NR > 1 && $4 + $5 < t { p++ } END { print c / n, p }' "$TMP/s.csv")
check "awk 'BEGIN { split(\"$got\", g, \" \"); exit !(g[1] >= 0.9) }'" "INI threshold $t catches >= 90% of the scored defects (awk: $got)"
check "[[ '${got#* }' == '$(brute 12)' && '${got#* }' == '$(rep passed photos 3 "$TMP/t.report.csv")' ]]" \
  "INI threshold passes the most photos any threshold can with 12 misses (awk brute force $(brute 12))"
check "[[ '$(ini calibration divide_by_priors "$TMP/t.ini")' == no && '$(ini class1 name "$TMP/t.ini")' == bag && '$(ini class1 threshold "$TMP/t.ini")' == inf ]]" "INI keys"
check "awk 'length(\$0) >= 200 { bad = 1 } END { exit bad }' $TMP/t.ini" "every INI line under 200 bytes"
expect 0 "at least 90.0% with 90% confidence, n = 120" -- "${cal[@]}" -q --scores "$TMP/s.csv" --target-recall 0.9 --confidence 0.9 --out "$TMP/tc.ini"
t=$(ini calibration pooled_threshold "$TMP/tc.ini")
check "awk -F, -v t=$t 'NR > 1 && \$2 != \"ok\" { n++; if (\$4 + \$5 >= t) c++ } END { exit !(c / n >= 0.9) }' $TMP/s.csv" "certified INI threshold reaches the target on the scores"
expect 0 "per-class thresholds" -- "${cal[@]}" -q --scores "$TMP/s.csv" --per-class --target-recall bag=0.95,sandal=0.85 \
  --uncertified --out "$TMP/tp.ini"
tb=$(ini class1 threshold "$TMP/tp.ini"); ts=$(ini class2 threshold "$TMP/tp.ini")
check "awk -F, -v tb=$tb -v ts=$ts 'NR > 1 && \$2 != \"ok\" { n[\$2]++; if (!(\$4 < tb && \$5 < ts)) c[\$2]++ }
  END { exit !(c[\"bag\"] / n[\"bag\"] >= 0.95 && c[\"sandal\"] / n[\"sandal\"] >= 0.85) }' $TMP/s.csv" "per-class INI thresholds reach each class's target (bag $tb, sandal $ts)"
expect 0 "before +after" -- "${cal[@]}" -q --scores "$TMP/s.csv" --priors ok=0.9,bag=0.05,sandal=0.05 --out "$TMP/tq.ini"
check "[[ '$(ini calibration divide_by_priors "$TMP/tq.ini")' == yes ]] && awk 'BEGIN { exit !($(ini class0 prior "$TMP/tq.ini") - 0.9 < 1e-6 && 0.9 - $(ini class0 prior "$TMP/tq.ini") < 1e-6) }'" "INI with priors"

# ---- bad input: exit code 2, a message naming the file ---------------------------------------
expect 2 "target recall 1.5 is outside \(0, 1\]" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --target-recall 1.5 --out "$TMP/x.wnet"
expect 2 "target recall 0 is outside \(0, 1\]" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --target-recall 0 --out "$TMP/x.wnet"
expect 2 "confidence 1 is outside \(0, 1\)" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --confidence 1 --out "$TMP/x.wnet"
expect 2 "need --per-class" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --target-recall bag=0.9 --out "$TMP/x.wnet"
expect 2 "no defect class 'weld' \(the defect classes: bag, sandal\)" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --per-class \
  --target-recall weld=0.9,0.9 --uncertified --out "$TMP/x.wnet"
mkdir -p "$TMP/nobag" "$TMP/okonly" "$TMP/extra"
ln -s "$CAL/ok" "$TMP/nobag/ok"; ln -s "$CAL/sandal" "$TMP/nobag/sandal"; ln -s "$CAL/ok" "$TMP/okonly/ok"
ln -s "$CAL/ok" "$TMP/extra/ok"; ln -s "$CAL/bag" "$TMP/extra/weld"
expect 2 "$TMP/nobag: the calibration set has no photos of defect class 'bag'" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$TMP/nobag" --out "$TMP/x.wnet"
expect 2 "$TMP/okonly: the calibration set has no defect photos \(all 300 are 'ok'\)" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$TMP/okonly" --out "$TMP/x.wnet"
expect 2 "weld" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$TMP/extra" --out "$TMP/x.wnet"
expect 2 "$TMP/m.wnet: not calibrated \(run weldnet calibrate first\)" -- "${cal[@]}" -q --evaluate --model "$TMP/m.wnet" --data "$CAL"
expect 2 "$TMP/missing.wnet" -- "${cal[@]}" -q --model "$TMP/missing.wnet" --data "$CAL" --out "$TMP/x.wnet"
printf 'not a model' >"$TMP/junk.wnet"
expect 2 "$TMP/junk.wnet" -- "${cal[@]}" -q --model "$TMP/junk.wnet" --data "$CAL" --out "$TMP/x.wnet"
expect 2 "$TMP/nothere: no such folder" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$TMP/nothere" --out "$TMP/x.wnet"
expect 2 "/no/such/dir/x.wnet: cannot write" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --out /no/such/dir/x.wnet
expect 2 "either --scores, or --model" -- "${cal[@]}" --model "$TMP/m.wnet" --scores "$TMP/s.csv" --out "$TMP/x.ini"
expect 2 "--out is required" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL"
expect 2 "see 'weldnet calibrate --help'" -- "${cal[@]}" --no-such-option
expect 2 "--priors is for --scores only" -- "${cal[@]}" --model "$TMP/m.wnet" --data "$CAL" --priors ok=1,bag=1,sandal=1 --out "$TMP/x.wnet"
printf 'path,ok,bag,sandal\na.png,1,0,0\n' >"$TMP/nolabel.csv"
expect 2 "$TMP/nolabel.csv line 1: the header has no 'label' column" -- "${cal[@]}" -q --scores "$TMP/nolabel.csv" --out "$TMP/x.ini"
printf 'path,label,ok,bag\na.png,ok,1,0\nb.png,bag,0.5,0.5,0.1\n' >"$TMP/short.csv"
expect 2 "$TMP/short.csv line 3: row has 5 fields, the header has 4" -- "${cal[@]}" -q --scores "$TMP/short.csv" --out "$TMP/x.ini"
{ head -3 "$TMP/s.csv"; echo "img/x.png,bag,0.5,NaN,0.5"; } >"$TMP/nan.csv"
expect 2 "$TMP/nan.csv line 4: probability of class 'bag' is NaN" -- "${cal[@]}" -q --scores "$TMP/nan.csv" --out "$TMP/x.ini"
{ head -3 "$TMP/s.csv"; echo "img/x.png,bag,0.5,0.2,0.2"; } >"$TMP/sum.csv"
expect 2 "$TMP/sum.csv line 4: probabilities sum to 0.9, not 1" -- "${cal[@]}" -q --scores "$TMP/sum.csv" --out "$TMP/x.ini"
{ head -1 "$TMP/s.csv"; grep -E '^img/[0-9]+\.png,ok,' "$TMP/s.csv" | head -50; } >"$TMP/okscores.csv"
expect 2 "$TMP/okscores.csv: the calibration set has no defect photos" -- "${cal[@]}" -q --scores "$TMP/okscores.csv" --out "$TMP/x.ini"
check "[[ ! -e $TMP/x.wnet && ! -e $TMP/x.ini ]]" "failed runs write no output"
# a refused run leaves an existing calibrated model as it was
sum_before=$(cksum <"$TMP/cal.wnet")
expect 2 "cannot certify" -- "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --target-recall 0.99 --out "$TMP/cal.wnet"
check "[[ '$(cksum <"$TMP/cal.wnet")' == '$sum_before' ]]" "a refused run keeps the existing model"
# an output over a photo or over an input, however spelled, is refused before any work
cp "$(ls "$CAL"/bag/*.png | head -1)" "$TMP/photo.png"
expect 2 "photo.png: is a PNG photo; refusing to overwrite it with the calibrated model" -- \
  "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --out "$TMP/photo.png"
expect 2 "photo.png: is a PNG photo; refusing to overwrite it with the report" -- \
  "${cal[@]}" -q --model "$TMP/m.wnet" --data "$CAL" --out "$TMP/x.wnet" --report "$TMP/photo.png"
expect 2 "are the same file" -- "${cal[@]}" -q --scores "$TMP/s.csv" --target-recall 0.9 --uncertified --out "$TMP/./s.csv"
check "cmp -s $TMP/photo.png $(ls "$CAL"/bag/*.png | head -1)" "the photo is untouched"
finish
