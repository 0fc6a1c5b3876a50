#!/bin/sh
# Install the Debian 12 packages kura needs, only those missing; quiet when
# everything is present.  Usage: install-deps.sh [build|run|test|bench]...
set -eu

build="meson ninja-build pkg-config gcc python3 libgnutls28-dev libsodium-dev
  libjansson-dev libsqlite3-dev libinih-dev libmicrohttpd-dev libarchive-dev
  libqrencode-dev tzdata"
run="$build"
test="$build libcmocka-dev clang libclang-rt-14-dev python3-pytest
  python3-requests python3-pyotp oathtool openssl sqlite3 faketime
  python3-zstandard chromium fonts-ipafont-gothic strace"
bench="$build wrk nginx-light linux-perf valgrind"

want=""
[ $# -gt 0 ] || set -- build
for what in "$@"; do
	case "$what" in
	build) want="$want $build" ;;
	run) want="$want $run" ;;
	test) want="$want $test" ;;
	bench) want="$want $bench" ;;
	*) echo "install-deps.sh: unknown set '$what'" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
apt_install() {
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-deps.sh: missing packages:$missing" >&2
		echo "install-deps.sh: run as root (or: sudo apt-get install$missing)" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
}
apt_install

# The console tests (tests/e2e) drive Debian's Chromium with playwright-core
# from npm, pinned by tests/e2e/package-lock.json; it needs Node.js 20 or
# later (20.10+; Debian 12's own nodejs is 18: too old).
case " $* " in *" test "*)
	# node --test-concurrency (scripts/test.sh) is 20.10+
	if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number);
		process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' 2>/dev/null; then
		echo "install-deps.sh: the console tests need Node.js >= 20.10 (found: $(node --version 2>/dev/null || echo none))" >&2
		exit 1
	fi
	e2e="$(dirname "$0")/../tests/e2e"
	if [ ! -f "$e2e/node_modules/.package-lock.json" ] ||
	   ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.kura-lock"; then
		echo "installing: playwright-core (npm ci, tests/e2e)"
		(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) &&
			cp "$e2e/package-lock.json" "$e2e/node_modules/.kura-lock"
	fi
	;;
esac
