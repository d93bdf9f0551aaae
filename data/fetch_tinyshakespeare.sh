#!/bin/sh
# Fetch Tiny Shakespeare (1,115,394 bytes, public domain text) from
# karpathy/char-rnn and check its md5. Usage: sh fetch_tinyshakespeare.sh [OUT]
set -eu
out=${1:-tinyshakespeare.txt}
url=https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt
if command -v curl >/dev/null 2>&1; then
	curl -fsSL -o "$out.part" "$url"
else
	wget -q -O "$out.part" "$url"
fi
sum=$(md5sum "$out.part" | cut -d' ' -f1)
if [ "$sum" != 6fb458f1232090904fb40fe944165e91 ]; then
	echo "fetch_tinyshakespeare.sh: $out: md5 $sum, expected 6fb458f1232090904fb40fe944165e91" >&2
	rm -f "$out.part"
	exit 1
fi
mv "$out.part" "$out"
echo "$out: $(wc -c < "$out") bytes"
