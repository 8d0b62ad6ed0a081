# lib_cli.sh - helpers for the CLI tests: run a command expecting an exit code and a message.
# Sourced by tests/cli_*.sh; counts checks and prints "N passed, M failed" at the end.
set -u
WN=$1; SAMPLE=$2; TMP=$3; ROOT=$4
rm -rf "$TMP"; mkdir -p "$TMP"
pass=0; fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*" >&2; }
# expect CODE PATTERN -- command...: exit code must be CODE and stderr+stdout must match PATTERN
expect() {
  local code=$1 pat=$2; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [[ $rc -ne $code ]]; then bad "exit $rc (want $code): $*"; echo "$out" | tail -5 >&2; return; fi
  if [[ -n $pat ]] && ! grep -qE -- "$pat" <<<"$out"; then
    bad "output of '$*' lacks /$pat/"; echo "$out" | tail -5 >&2; return
  fi
  ok
}
check() { if eval "$1"; then ok; else bad "$2"; fi; }
finish() { echo "$pass passed, $fail failed"; [[ $fail -eq 0 ]]; exit $?; }
