#!/bin/bash
# The Fashion-MNIST imbalance protocols of ../shared/bench/torch_imbalance.py, run with weldnet
# on the CPU: three binary tasks (6000 ok + 122 defect training photos, 98% imbalance; tested on
# 1000 + 1000 test photos) and the 10-class long tail (6000*100^(-c/9) photos of class c; the
# whole balanced test split), the same 3-conv net (samples/nets/fmnist_small.ini), Adam 1e-3,
# batch 128, 15 epochs (20 for the long tail), the model after the last epoch scored on the test
# photos (balanced accuracy, nothing selected on them), mean over seeds. Prints weldnet's table
# (plain cross entropy and the recipes asked for) beside the PyTorch figures of issue 3.
#
# Usage: bench/imbalance.sh [options]
#   --tasks LIST     tshirt,pullover,sandal,longtail               [all four]
#   --methods LIST   recipes to run, from: ce bayes la best bayes-best  [ce,best]
#   --seeds N        seeds 0..N-1 (each also draws its own training photos, like the peer) [3]
#   --epochs N       override the epoch budget (15 binary, 20 long tail) for short runs
#   --best "ARGS"    the weldnet options of the 'best' recipe      [see BEST below]
#   --recipe NAME="ARGS"  define another recipe NAME (then list it in --methods); repeatable
#   --build DIR      build folder with the weldnet executable      [build]
#   --threads N      CPU threads for each weldnet run               [2]
#   --jobs N         runs at once (--jobs 2 --threads 1 on 2 cores takes about as long as
#                    2-thread runs one after another; the figures are the same)  [1]
#   --work DIR       keep photo sets and runs here (reused)        [a temporary folder]
#   --reuse          with --work: keep a finished run of the same recipe and epochs instead of
#                    training it again (to continue an interrupted benchmark)
# Every run's figure is printed as it finishes (one line) and kept in WORK/results.csv.
set -euo pipefail
root=${WN_ROOT:-$(cd "$(dirname "$0")/.." && pwd)} # WN_ROOT: the checkout when this script runs from a copy
tasks=tshirt,pullover,sandal,longtail
methods=ce,best
seeds=3
epochs=""
build=$root/build
threads=2
jobs=1
work=""
reuse=0
EXTRA_RECIPES=()
# The recipe (same net, same epoch budget): logit-adjusted loss (tau 1) on stratified
# minibatches, random crop (pad 2) and horizontal flip, cosine learning-rate schedule. The same
# with the bayesian loss is the recipe 'bayes-best' (measured a little lower on every row).
BEST="--loss logit-adjusted --sampler stratified --crop 2 --flip 1 --schedule cosine"
while [[ $# -gt 0 ]]; do
  case $1 in
    --tasks) tasks=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --epochs) epochs=$2; shift 2 ;;
    --best) BEST=$2; shift 2 ;;
    --recipe) EXTRA_RECIPES+=("$2"); shift 2 ;;
    --build) build=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --reuse) reuse=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "imbalance.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "imbalance.sh: --jobs '$jobs': expected a positive integer" >&2; exit 2; }
wn=$build/weldnet
[[ -x $wn ]] || { echo "imbalance.sh: $wn not found (build first, or --build DIR)" >&2; exit 2; }
if [[ -z $work ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/data" "$work/runs"
net=$root/samples/nets/fmnist_small.ini
make=$root/samples/make_fashion_photos.py

declare -A RECIPE=([ce]="" [bayes]="--loss bayesian" [la]="--loss logit-adjusted" [best]="$BEST"
                   [bayes-best]="--loss bayesian --sampler stratified --crop 2 --flip 1 --schedule cosine")
for r in "${EXTRA_RECIPES[@]}"; do
  [[ $r == *=* ]] || { echo "imbalance.sh: --recipe '$r': expected NAME=\"ARGS\"" >&2; exit 2; }
  RECIPE[${r%%=*}]=${r#*=}
done
declare -A PEER_CE=([tshirt]=0.728 [pullover]=0.651 [sandal]=0.933 [longtail]=0.854)
declare -A PEER_TM=([tshirt]=0.792 [pullover]=0.831 [sandal]=0.964 [longtail]=0.876)
declare -A PEER_BA=([tshirt]=0.801 [pullover]=0.824 [sandal]=0.958 [longtail]=0.871)
declare -A PEER_LA=([tshirt]=0.773 [pullover]=0.816 [sandal]=0.960 [longtail]=0.871)
declare -A LABEL=([tshirt]="T-shirt (ok) vs shirt (defect)" [pullover]="pullover (ok) vs coat (defect)"
                  [sandal]="sandal (ok) vs sneaker (defect)" [longtail]="long tail, ratio 100")
declare -A DEFECT=([tshirt]=shirt [pullover]=coat [sandal]=sneaker)

# photo set of a task for a seed (the peer draws seed 100+s for binary tasks, 200+s long tail)
make_data() {
  local task=$1 s=$2 d=$work/data/$1-$2
  if [[ ! -d $d/test ]]; then
    if [[ $task == longtail ]]; then
      python3 "$make" --out "$d" --long-tail 100 --train 6000 --val 0 --test 1000 --seed $((200 + s)) >/dev/null
    else
      python3 "$make" --out "$d" --ok-class "$task" --defects "${DEFECT[$task]}" --train 6000 \
        --defect-share 0.02 --val 0 --test 1000 --seed $((100 + s)) >/dev/null
    fi
  fi
  echo "$d"
}

results=$work/results.csv
[[ -f $results ]] || echo "task,method,seed,epochs,balanced_accuracy,seconds" > "$results"
echo "weldnet imbalance benchmark: tasks $tasks; methods $methods; seeds $seeds; epochs ${epochs:-15 binary / 20 long tail}; $threads threads x $jobs jobs"
echo "  best = ${BEST:-plain}"
IFS=, read -ra TASKS <<<"$tasks"
IFS=, read -ra METHODS <<<"$methods"
# one run: train (or reuse), record its figure; exits non-zero when training fails
run_one() { # TASK METHOD SEED
  local task=$1 m=$2 s=$3
  local ep=${epochs:-$([[ $task == longtail ]] && echo 20 || echo 15)}
  local extra=()
  [[ $task == longtail ]] && extra=(--ok-class tshirt)
  local d=$work/data/$task-$s out=$work/runs/$task-$m-$s
  local t0; t0=$(date +%s)
  local args="epochs $ep: ${RECIPE[$m]}"
  if [[ $reuse == 1 && -f $out.args && $(cat "$out.args") == "$args" && -f $out.log.csv &&
        $(($(wc -l < "$out.log.csv") - 1)) -eq $ep ]]; then
    echo "  (reusing $out)"
  else
    rm -f "$out.args"
    # shellcheck disable=SC2086
    nice "$wn" train --config "$net" --data "$d/train" --val "$d/test" --out "$out.wnet" \
      --epochs "$ep" --batch 128 --optimizer adam --lr 0.001 --seed "$s" --select last \
      --threads "$threads" --plots 0 -q "${extra[@]}" ${RECIPE[$m]} > "$out.out" 2>&1 \
      || { echo "imbalance.sh: run $task $m seed $s failed:" >&2; tail -5 "$out.out" >&2; return 1; }
    echo "$args" > "$out.args"
  fi
  local ba secs
  ba=$(awk -F, 'END { print $7 }' "$out.log.csv")
  secs=$(( $(date +%s) - t0 ))
  echo "$task,$m,$s,$ep,$ba,$secs" >> "$results"
  printf '  %-9s %-5s seed %d: balanced accuracy %.4f (%d epochs, %ds)\n' "$task" "$m" "$s" "$ba" "$ep" "$secs"
  if [[ $m == ce && -x $build/bench/bench_posthoc ]]; then
    # weldnet's "CE / priors": the same CE model, softmax divided by the training priors
    local tm
    tm=$(nice "$build/bench/bench_posthoc" "$out.wnet" "$d/test" "$threads" | awk '{ print $4 }')
    echo "$task,ce/priors,$s,$ep,$tm,0" >> "$results"
    printf '  %-9s %-5s seed %d: balanced accuracy %.4f (the ce model, post hoc)\n' "$task" "ce/priors" "$s" "$tm"
  fi
}

# the photo sets first (one at a time), then the runs, up to --jobs at once
for task in "${TASKS[@]}"; do
  [[ -n ${LABEL[$task]:-} ]] || { echo "imbalance.sh: unknown task $task" >&2; exit 2; }
  for m in "${METHODS[@]}"; do
    [[ -v RECIPE[$m] ]] || { echo "imbalance.sh: unknown method $m" >&2; exit 2; }
  done
  for ((s = 0; s < seeds; s++)); do make_data "$task" "$s" >/dev/null; done
done
failed=0 running=0
for task in "${TASKS[@]}"; do
  for m in "${METHODS[@]}"; do
    for ((s = 0; s < seeds; s++)); do
      if ((jobs == 1)); then
        run_one "$task" "$m" "$s" || exit 1
        continue
      fi
      if ((running >= jobs)); then
        wait -n || failed=1
        running=$((running - 1))
      fi
      run_one "$task" "$m" "$s" &
      running=$((running + 1))
    done
  done
done
while ((running > 0)); do
  wait -n || failed=1
  running=$((running - 1))
done
((failed == 0)) || { echo "imbalance.sh: some runs failed (see above)" >&2; exit 1; }

# the table: mean over the seeds of this invocation's settings
# (the latest result of each seed 0..seeds-1, so a --work folder used twice counts a seed once)
mean() { awk -F, -v t="$1" -v m="$2" -v e="$3" -v ns="$seeds" '$1 == t && $2 == m && $4 == e && $3 < ns { v[$3] = $5 }
         END { for (k in v) { s += v[k]; n++ } if (n) printf "%.3f (%d)", s / n, n; else printf "-" }' "$results"; }
echo
shown=("${METHODS[@]}")
[[ " ${METHODS[*]} " == *" ce "* && -x $build/bench/bench_posthoc ]] && shown+=("ce/priors")
echo "balanced accuracy on the test photos, mean of (n) seeds; PyTorch figures from issue 3"
echo "(ce/priors is post hoc: the ce model's softmax divided by the training priors, not training)"
printf '| %-32s |' "task"
for m in "${shown[@]}"; do printf ' %-17s |' "weldnet $m"; done
printf ' %-7s | %-11s | %-11s | %-14s |\n' "torch CE" "torch CE/pri" "torch Bayes" "torch logit-adj"
for task in "${TASKS[@]}"; do
  ep=${epochs:-$([[ $task == longtail ]] && echo 20 || echo 15)}
  printf '| %-32s |' "${LABEL[$task]}"
  for m in "${shown[@]}"; do printf ' %-17s |' "$(mean "$task" "$m" "$ep")"; done
  printf ' %-8s | %-12s | %-11s | %-15s |\n' "${PEER_CE[$task]}" "${PEER_TM[$task]}" "${PEER_BA[$task]}" "${PEER_LA[$task]}"
done
echo
echo "goals: weldnet ce within 0.02 of torch CE; weldnet best >= best torch column + 0.02"
for task in "${TASKS[@]}"; do
  ep=${epochs:-$([[ $task == longtail ]] && echo 20 || echo 15)}
  best_peer=$(printf '%s\n' "${PEER_CE[$task]}" "${PEER_TM[$task]}" "${PEER_BA[$task]}" "${PEER_LA[$task]}" | sort -g | tail -1)
  for m in ce best; do
    [[ " ${METHODS[*]} " == *" $m "* ]] || continue
    v=$(mean "$task" "$m" "$ep" | cut -d' ' -f1)
    [[ $v == - ]] && continue
    if [[ $m == ce ]]; then
      awk -v v="$v" -v p="${PEER_CE[$task]}" -v t="$task" 'BEGIN { d = v - p; printf "  %-9s ce   %.3f vs torch CE %.3f: %+.3f %s\n", t, v, p, d, (d >= -0.02 && d <= 0.02) ? "(within 0.02)" : (d > 0.02 ? "(better by more than 0.02)" : "(MISSED)") }'
    else
      awk -v v="$v" -v p="$best_peer" -v t="$task" 'BEGIN { d = v - p; printf "  %-9s best %.3f vs best torch %.3f: %+.3f %s\n", t, v, p, d, (d >= 0.02) ? "(goal met)" : "(MISSED)" }'
    fi
  done
done
