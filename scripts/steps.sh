# shellcheck shell=bash
# The step counter the test scripts source: `step NAME COMMAND...` runs COMMAND and
# prints its outcome and time; `steps_end` prints "$STEPS: N passed, M failed" (and
# the failed names) and returns 1 when a step failed. STEPS names the script.
passed=0 failed=0 failures=()
step() {
  local name=$1 start=$SECONDS
  shift
  echo "--> $STEPS: $name"
  if "$@"; then
    passed=$((passed + 1)); echo "<-- $STEPS: $name: ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "<-- $STEPS: $name: FAILED ($((SECONDS - start)) s)"
  fi
}
steps_end() {
  echo "$STEPS: $passed passed, $failed failed"
  if [ "$failed" -gt 0 ]; then printf '  failed: %s\n' "${failures[@]}"; return 1; fi
}
