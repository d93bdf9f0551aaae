#!/bin/sh
# The C code block of README.md (the one fenced by ```c) must be
# byte-identical to docs/example.c, which tests/readme builds and runs.
# usage: check_readme.sh README.md docs/example.c
set -eu
readme=$1
example=$2
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

blocks=$(grep -c '^```c$' "$readme" || true)
if [ "$blocks" != 1 ]; then
	echo "check_readme: $readme has $blocks code blocks fenced by \`\`\`c (expected exactly 1)" >&2
	exit 1
fi
awk '/^```c$/ { inside = 1; next } inside && /^```$/ { exit } inside { print }' "$readme" >"$tmp"
if ! cmp -s "$tmp" "$example"; then
	echo "check_readme: the C example in $readme differs from $example;" >&2
	echo "copy one over the other (diff: --- README block, +++ $example):" >&2
	diff -u "$tmp" "$example" >&2 || true
	exit 1
fi
echo "check_readme: the C example in $readme is identical to $example"
