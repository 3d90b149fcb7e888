#!/usr/bin/env bash
# Sets up both environments and runs every test: the engine, Blender and render tests on Blender 5.0.1,
# then the Blender tests again on Blender 4.2 LTS. Exit status is non-zero if any test failed or none ran.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh --with-4.2

echo "== Blender 5.0.1: engine, add-on and render tests =="
.venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"

echo "== Blender 4.2 LTS: add-on tests =="
.venv42/bin/python -m pytest tests/blender -q -p no:cacheprovider -m "not needs_torch" "$@"
