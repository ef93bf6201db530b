#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (deploy/k8s): kustomize build + strict decoding
# into k8s.io/api types + cross-reference checks, by the Go program in deploy/k8s/check (modules
# pinned in its go.sum; the first run downloads them through the Go module proxy and compiles for
# ~20 s, later runs take a second or two). Skipped with a warning when Go is not installed.
# Called by scripts/test.sh; runs alone too:  bash scripts/k8s-check.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! command -v go >/dev/null 2>&1; then
  echo "[core-dict] WARN: go not found: skipping the Kubernetes manifest check (deploy/k8s/check)" >&2
  exit 0
fi
cd "$ROOT/deploy/k8s/check"
# The machine's own toolchain (go.mod's go line is at or below it). -mod=readonly: go.mod and the
# committed go.sum are used as they are, never rewritten; a missing or changed sum fails the check.
exec env GOTOOLCHAIN=local GOFLAGS=-mod=readonly go run . "$ROOT/deploy/k8s"
