#!/usr/bin/env bash
# Runs gotrue-sync for the action, once per manifest (one line of INPUT_MANIFESTS each; a
# line may list several files or directories of one manifest). For plan and drift it keeps
# each manifest's Markdown plan, saved JSON plan and log under the output directory (the
# artifact), writes the step summary and, on a pull request, the sticky comment.
#
# Environment: INPUT_COMMAND (plan|apply|drift|smoke), INPUT_MANIFESTS, INPUT_PLAN_FILES
# (apply: saved plans, one per line), INPUT_URL, INPUT_AUD, INPUT_MARKDOWN_BUDGET,
# INPUT_COMMENT (true|false), INPUT_DRIFT_ISSUE (true|false), INPUT_FAIL_ON_DRIFT, INPUT_ARGS,
# GOTRUE_SYNC_OUT_DIR, GOTRUE_SYNC_PR (empty outside pull requests), GOTRUE_SYNC_RUN_URL,
# GOTRUE_SYNC_ARTIFACT, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT. Credentials come from the
# caller's env (GOTRUE_ADMIN_TOKEN, GOTRUE_JWT_SECRET or GOTRUE_ADMIN_EMAIL + _PASSWORD).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
command="${INPUT_COMMAND:-plan}"
out_dir="${GOTRUE_SYNC_OUT_DIR:?GOTRUE_SYNC_OUT_DIR is not set}"
summary="${GITHUB_STEP_SUMMARY:-/dev/null}"
outputs="${GITHUB_OUTPUT:-/dev/null}"
budget="${INPUT_MARKDOWN_BUDGET:-60000}"
read -r -a extra_args <<<"${INPUT_ARGS:-}"
mkdir -p "$out_dir"

# Only a non-empty input overrides what the workflow put in the environment.
if [ -n "${INPUT_URL:-}" ]; then export GOTRUE_URL="$INPUT_URL"; fi
if [ -n "${INPUT_AUD:-}" ]; then export GOTRUE_AUD="$INPUT_AUD"; fi

# non_empty_lines TEXT: the lines of TEXT without comments and surrounding blanks.
non_empty_lines() {
  printf '%s\n' "$1" | sed -e 's/#.*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v '^$' || true
}

# The manifest's `name`, for the comment marker when no plan was written (a failed plan):
# the first top-level `name:` in its files, else a label made of its paths.
name_from_files() {
  local found
  found="$(grep -h -m 1 -E '^name:' -r --include='*.yaml' --include='*.yml' "$@" 2>/dev/null |
    head -n 1 | sed -E 's/^name:[[:space:]]*["'\'']?([A-Za-z0-9._-]+).*/\1/')" || true
  if [ -n "$found" ]; then
    echo "$found"
  else
    printf '%s' "$*" | tr -c 'A-Za-z0-9._-' '_'
  fi
}

# Backticks below are Markdown, not command substitution.
# shellcheck disable=SC2016
footer() {
  if [ -n "${GOTRUE_SYNC_RUN_URL:-}" ]; then
    printf '\n<sub>Full plan: artifact `%s` of [this run](%s).</sub>\n' \
      "${GOTRUE_SYNC_ARTIFACT:-gotrue-sync-plan}" "$GOTRUE_SYNC_RUN_URL"
  fi
}

# plan_one INDEX FILES...: plans one manifest; prints its exit code.
plan_one() {
  local index="$1"
  shift
  local work="$out_dir/.manifest-$index"
  local flags=()
  mkdir -p "$work"
  if [ "$command" = drift ]; then flags+=(--detailed-exitcode); fi
  local code=0
  gotrue-sync plan -f "$@" --format markdown --markdown-budget "$budget" \
    --out "$work/plan.json" ${flags[@]+"${flags[@]}"} ${extra_args[@]+"${extra_args[@]}"} \
    <"/dev/null" >"$work/plan.md" 2>"$work/plan.log" || code=$?
  cat "$work/plan.log" >&2
  local name
  if [ -s "$work/plan.json" ]; then
    name="$(jq -r .manifest "$work/plan.json")"
  else
    name="$(name_from_files "$@")"
  fi
  local body="$work/comment.md"
  if [ "$code" -eq 0 ] || [ "$code" -eq 2 ]; then
    { cat "$work/plan.md"; footer; } >"$body"
  else
    # shellcheck disable=SC2016
    {
      printf '### gotrue-sync plan for `%s` failed\n\n' "$name"
      printf 'Exit code %s. The log (no secrets: gotrue-sync never prints them):\n\n```text\n' "$code"
      tail -n 40 "$work/plan.log"
      printf '```\n'
      footer
    } >"$body"
  fi
  cat "$body" >>"$summary"
  rm -rf "${out_dir:?}/$name"
  mv "$work" "$out_dir/$name"
  if [ "$command" = plan ] && [ -n "${GOTRUE_SYNC_PR:-}" ] && [ "${INPUT_COMMENT:-true}" = true ]; then
    "$here/comment.sh" "$name" "$out_dir/$name/comment.md" >&2
  fi
  # A drift check keeps one issue per manifest open while the drift lasts. A failed check
  # proves nothing either way, so it neither opens nor closes one.
  if [ "$command" = drift ] && [ "${INPUT_DRIFT_ISSUE:-false}" = true ]; then
    case "$code" in
      2) "$here/drift-issue.sh" "$name" "$out_dir/$name/comment.md" >&2 ;;
      0) "$here/drift-issue.sh" "$name" --resolved >&2 ;;
    esac
  fi
  echo "$name $code"
}

status=0
changes=false
names=()
case "$command" in
  plan | drift)
    index=0
    while read -r -a files; do
      index=$((index + 1))
      read -r name code < <(plan_one "$index" "${files[@]}")
      names+=("$name")
      case "$code" in
        0) ;;
        2) changes=true ;;
        *) status=1 ;;
      esac
      if [ "$command" = plan ] && [ -s "$out_dir/$name/plan.json" ] &&
        [ "$(jq '.summary | .invite + .create + .update + .delete + .reinvite' "$out_dir/$name/plan.json")" != 0 ]; then
        changes=true
      fi
    done < <(non_empty_lines "${INPUT_MANIFESTS:-}")
    [ "${#names[@]}" -gt 0 ] || { echo "::error::no manifest given (input manifests)"; exit 1; }
    ;;
  apply)
    if [ -n "${INPUT_PLAN_FILES:-}" ]; then
      # Each reviewed plan exactly as saved; apply refuses one whose users changed since.
      while read -r plan_file; do
        gotrue-sync apply "$plan_file" --auto-approve ${extra_args[@]+"${extra_args[@]}"} </dev/null || status=$?
      done < <(non_empty_lines "$INPUT_PLAN_FILES")
    else
      while read -r -a files; do
        gotrue-sync apply -f "${files[@]}" --auto-approve ${extra_args[@]+"${extra_args[@]}"} </dev/null || status=$?
      done < <(non_empty_lines "${INPUT_MANIFESTS:-}")
    fi
    ;;
  smoke)
    gotrue-sync smoke --junit "$out_dir/smoke.xml" ${extra_args[@]+"${extra_args[@]}"} || status=$?
    ;;
  *)
    echo "::error::unknown command '$command': use plan, apply, drift or smoke"
    exit 1
    ;;
esac

{
  echo "changes=$changes"
  echo "manifests=${names[*]+"${names[*]}"}"
  echo "out-dir=$out_dir"
} >>"$outputs"
if [ "$command" = drift ] && [ "$changes" = true ] && [ "${INPUT_FAIL_ON_DRIFT:-false}" = true ]; then
  echo "::error::the server's users differ from the manifest (drift)"
  status=1
fi
exit "$status"
