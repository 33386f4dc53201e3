#!/bin/sh
# check_deb.sh BUILD_DIR VERSION: `cpack -G DEB` makes pollster_VERSION_amd64.deb,
# `dpkg-deb -c` lists /usr/bin/pollster, Depends were filled in by
# dpkg-shlibdeps, and the binary unpacked with `dpkg -x` runs `--version`.
set -eu
build=$1
version=$2
out=$(mktemp -d "${TMPDIR:-/tmp}/pollster-deb-test.XXXXXX")
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"${CPACK:-cpack}" -G DEB --config "$build/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb="$out/pollster_${version}_amd64.deb"
[ -f "$deb" ] || { ls "$out" >&2; fail "no $deb"; }
dpkg-deb -c "$deb" >"$out/contents.txt"
grep -q ' \./usr/bin/pollster$' "$out/contents.txt" || { cat "$out/contents.txt" >&2; fail "the .deb does not list ./usr/bin/pollster"; }
depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
for lib in libc6 libssl3 libstdc++6; do
  echo "$depends" | grep -q "$lib" || fail "Depends lacks $lib (dpkg-shlibdeps not run?): $depends"
done
dpkg -x "$deb" "$out/root"
"$out/root/usr/bin/pollster" --version >"$out/version.txt" 2>&1 || { cat "$out/version.txt" >&2; fail "pollster --version failed"; }
grep -q "$version" "$out/version.txt" || { cat "$out/version.txt" >&2; fail "pollster --version does not say $version"; }
echo "package: pollster_${version}_amd64.deb ok ($(wc -c <"$deb") bytes)"
