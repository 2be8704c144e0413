#!/usr/bin/env bash
# Keeps ONE open issue per manifest name about drift (the server no longer matches the
# manifest): found by the hidden marker <!-- gotrue-sync:drift:NAME --> on its first line,
# updated in place while the drift lasts, closed with a comment once it is gone.
#
#   drift-issue.sh NAME BODY_FILE     drift found: open or update the issue
#   drift-issue.sh NAME --resolved    no drift: close the issue if one is open
# Environment: GITHUB_REPOSITORY (owner/name), GH_TOKEN (for gh).
set -euo pipefail

name="${1:?usage: drift-issue.sh NAME BODY_FILE|--resolved}"
body_file="${2:?usage: drift-issue.sh NAME BODY_FILE|--resolved}"
repo="${GITHUB_REPOSITORY:?GITHUB_REPOSITORY is not set}"
marker="<!-- gotrue-sync:drift:$name -->"

existing=""
while IFS=$'\t' read -r number first_line; do
  if [ "$first_line" = "$marker" ]; then
    existing="$number"
    break
  fi
done < <(gh api --paginate "repos/$repo/issues?state=open&per_page=100" \
  --jq '.[] | select(.pull_request == null) | "\(.number)\t\((.body // "") | split("\n") | .[0])"')

if [ "$body_file" = "--resolved" ]; then
  if [ -n "$existing" ]; then
    gh api --method POST "repos/$repo/issues/$existing/comments" \
      -f "body=The server matches the manifest \`$name\` again; closing." >/dev/null
    gh api --method PATCH "repos/$repo/issues/$existing" -f state=closed >/dev/null
    echo "closed drift issue #$existing for $name"
  else
    echo "no drift for $name and no open drift issue"
  fi
  exit 0
fi

message="$(mktemp)"
trap 'rm -f "$message"' EXIT
{
  printf '%s\n' "$marker"
  cat "$body_file"
} >"$message"

if [ -n "$existing" ]; then
  gh api --method PATCH "repos/$repo/issues/$existing" -F "body=@$message" >/dev/null
  echo "updated drift issue #$existing for $name"
else
  gh api --method POST "repos/$repo/issues" \
    -f "title=gotrue-sync: users of $name drifted from the manifest" \
    -F "body=@$message" >/dev/null
  echo "opened a drift issue for $name"
fi
