#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
# completion-check.sh — completion/mxray as bash completes a command line:
# subcommands, options read from `mxray CMD --help`, formats, captures.
# Skips (77) without Debian's bash-completion package.
set -u
BC=/usr/share/bash-completion/bash_completion
[ -r "$BC" ] || { echo "SKIP: bash-completion is not installed ($BC)"; exit 77; }
: "${MXRAY:?}" "${TOP_SRCDIR:?}"
dir=$(mktemp -d) || exit 2
trap 'rm -rf "$dir"' EXIT
touch "$dir/a.pcap" "$dir/b.pcapng" "$dir/notes.txt"
mkdir "$dir/caps"

# complete LINE: the completions bash offers for LINE (cursor at its end), sorted, one a line.
complete_line() {
	bash --norc --noprofile -c '
		. "$1"; . "$2"
		compopt() { :; }   # only valid inside a real completion
		PATH=$3:$PATH
		cd "$4" || exit 2
		read -r -a COMP_WORDS <<<"$5"
		[[ $5 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$5 COMP_POINT=${#5}
		_mxray mxray "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$BC" "$TOP_SRCDIR/completion/mxray" \
		"$(dirname "$MXRAY")" "$dir" "$1"
}

fail=0
expect() {
	local line=$1 want got
	want=$(printf '%s\n' "${@:2}" | sort)
	got=$(complete_line "$line")
	if [ "$got" = "$want" ]; then
		echo "ok   '$line'"
	else
		echo "FAIL '$line': want [$(echo $want)] got [$(echo $got)]"
		fail=1
	fi
}

expect "mxray " read live probe --help --version
expect "mxray re" read
expect "mxray read --fo" --format=
expect "mxray read --format " text json jsonl markdown html
expect "mxray live -f " jsonl text
expect "mxray probe --format " text json
expect "mxray read " a.pcap b.pcapng caps
expect "mxray read --evidence " a.pcap b.pcapng caps
expect "mxray live -i lo" lo
expect "mxray probe --max" --max-ttl=
expect "mxray live --relin" --relinquish-privileges=
expect "mxray read --maill" --maillog= --maillog-tz=
exit $fail
