#!/usr/bin/env bash
# Fails when regenerating clients/generated from proto/ changes anything: the committed code must match the proto.
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf generate
if ! git diff --quiet --exit-code -- clients/generated || [ -n "$(git status --porcelain -- clients/generated)" ]; then
  echo "clients/generated is stale: run 'npm run gen' and commit the result" >&2
  git status --short -- clients/generated >&2
  exit 1
fi
echo "clients/generated matches proto/"
