#!/bin/sh
# Banned functions (DESIGN.md): unbounded or unchecked string and number calls.
set -eu
cd "$(dirname "$0")/.."
bad=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok)\s*\(' \
	$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 2>/dev/null || find src tests -name '*.[ch]') || true)
if [ -n "$bad" ]; then
	echo "lint: banned functions used:" >&2
	echo "$bad" >&2
	exit 1
fi
echo "lint: ok"
