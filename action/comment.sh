#!/usr/bin/env bash
# Keeps ONE comment per manifest name on a pull request: finds the comment whose first line
# is the hidden marker <!-- gotrue-sync:plan:NAME --> and edits it in place, or creates it.
# A re-run or a new push therefore replaces the plan instead of stacking comments.
#
#   comment.sh NAME BODY_FILE
# Environment: GITHUB_REPOSITORY (owner/name), GOTRUE_SYNC_PR (the pull request number),
# GH_TOKEN (for gh).
set -euo pipefail

name="${1:?usage: comment.sh NAME BODY_FILE}"
body_file="${2:?usage: comment.sh NAME BODY_FILE}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
pr="${GOTRUE_SYNC_PR:?GOTRUE_SYNC_PR (the pull request number) is not set}"
marker="<!-- gotrue-sync:plan:$name -->"

# The marker goes first, so the listing below needs only each comment's first line.
message="$(mktemp)"
trap 'rm -f "$message"' EXIT
{
  printf '%s\n' "$marker"
  cat "$body_file"
} >"$message"

existing=""
while IFS=$'\t' read -r id first_line; do
  if [ "$first_line" = "$marker" ]; then
    existing="$id"
    break
  fi
done < <(gh api --paginate "repos/$repo/issues/$pr/comments" \
  --jq '.[] | "\(.id)\t\(.body | split("\n") | .[0])"')

if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$existing" -F "body=@$message" >/dev/null
  echo "updated the plan comment for $name (comment $existing)"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$message" >/dev/null
  echo "created the plan comment for $name"
fi
