#!/bin/sh
# Fetch Multi30k's raw English-German text (WMT16 multimodal task 1) from
# github.com/multi30k/dataset at a fixed commit, decompress it, name the
# test set test2016 and check every file's md5 against the copy the
# project's tests and numbers use. Usage: sh fetch_multi30k.sh [DIR]
# The text is for research and education (the dataset's README); cite
# Elliott et al. 2016, "Multi30K: Multilingual English-German Image
# Descriptions". MULTI30K_BASE=URL fetches the .gz files from a mirror.
set -eu
dir=${1:-multi30k}
base=${MULTI30K_BASE:-https://raw.githubusercontent.com/multi30k/dataset/a3d2e0d26b56f3846f66a952536ffed4e401d05a/data/task1/raw}
mkdir -p "$dir"
fetch() { # URL OUT
	if command -v curl >/dev/null 2>&1; then
		curl -fsSL -o "$2" "$1"
	else
		wget -q -O "$2" "$1"
	fi
}
while read -r remote local sum; do
	fetch "$base/$remote.gz" "$dir/$local.part.gz"
	gunzip -f "$dir/$local.part.gz"
	got=$(md5sum "$dir/$local.part" | cut -d' ' -f1)
	if [ "$got" != "$sum" ]; then
		echo "fetch_multi30k.sh: $dir/$local: md5 $got, expected $sum" >&2
		rm -f "$dir/$local.part"
		exit 1
	fi
	mv "$dir/$local.part" "$dir/$local"
	echo "$dir/$local: $(wc -l < "$dir/$local") lines"
done <<LIST
train.en train.en 053a34ece7c904dbc8c7361799afbe4c
train.de train.de d3b4bc1671cfb805267f97f16884beba
val.en val.en 2234730e7925354b766681b029b347ec
val.de val.de 9f139b15d9d11936dea7af2904e57d8c
test_2016_flickr.en test2016.en 2022a6c31e2418047a0511333d55ed42
test_2016_flickr.de test2016.de cde61d7401b116652ee84099c7858ca3
LIST
