#!/usr/bin/env bash
# Run pytest; "no tests collected" (exit 5) is a failure, not a pass.
#
# Two pytest-xdist workers (PYTEST_WORKERS=0 runs in one process), each taking whole test
# modules (--dist loadfile keeps a module's fixtures built once) in the order that
# tests/conftest.py gives them. Arguments are passed on to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
workers="${PYTEST_WORKERS:-2}"
xdist=()
if [[ "$workers" != "0" ]]; then
  xdist=(-n "$workers" --dist loadfile --no-loadscope-reorder)
fi
.venv/bin/python -m pytest "${xdist[@]}" "$@"
rc=$?
if [[ $rc -eq 5 ]]; then
  echo "pytest collected no tests: failing the run" >&2
  exit 1
fi
exit $rc
