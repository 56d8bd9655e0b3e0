# money.sh: money arithmetic for the tests, exact in nano-USD (integers); sourced by init.sh.
# Amounts travel as decimal strings ("0.000123") in the API and as nano-USD in the database.

# usd_re: a USD decimal string with 2 to 9 decimals.
usd_re='^-?[0-9]+[.][0-9]{2,9}$' # no backslash: it goes inside jq strings

# ONE: one USD in nano-USD.
ONE=1000000000

# usd_nano USD: a decimal string in nano-USD (no validation: see nano and to_n).
usd_nano() {
	local v=$1 sign="" int frac
	case $v in -*) sign=-; v=${v#-} ;; esac
	int=${v%%.*}
	frac=${v#*.}
	[ "$frac" != "$v" ] || frac=""
	# Zeros on the right up to 9 digits, in the shell (no process: called thousands of times).
	while [ ${#frac} -lt 9 ]; do frac=${frac}0; done
	echo "$sign$((10#$int * 1000000000 + 10#$frac))"
}
# usd_eq A B: two decimal strings are the same amount (compared as nano integers, exactly).
usd_eq() { [ "$(usd_nano "$1")" = "$(usd_nano "$2")" ]; }

# usd_of NANO: nano-USD as a decimal string with 9 decimals.
usd_of() { printf '%d.%09d' $(($1 / 1000000000)) $(($1 % 1000000000)); }

# nano USD: a signed decimal string in nano-USD, "?USD" when it is not a number (so that a
# comparison with it fails and shows what came).
nano() {
	if [[ ${1:-} =~ ^-?[0-9]+([.][0-9]+)?$ ]]; then usd_nano "$1"; else echo "?${1:-}"; fi
}
# to_n USD: an unsigned USD amount with at most 9 decimals in nano-USD, "bad" otherwise.
to_n() {
	if [[ ${1:-} =~ ^[0-9]+([.][0-9]{1,9})?$ ]]; then usd_nano "$1"; else echo bad; fi
}
# jn EXPR: the amount at jq EXPR of the last body in nano-USD (as nano).
jn() { nano "$(jv "$1")"; }
# minus A B: A - B when both are integers, else "?".
minus() {
	if [[ $1 =~ ^-?[0-9]+$ && $2 =~ ^-?[0-9]+$ ]]; then echo $(($1 - $2)); else echo "?"; fi
}
eq() { [ "$1" = "$2" ]; }

# with_commission BASE [BP]: BASE nano-USD plus the commission of BP basis points (default
# 500, i.e. 5%), rounded up to the nano: the gateway's one formula (DESIGN section 6).
with_commission() {
	local base=$1 bp=${2:-500}
	echo $((base + (base * bp + 9999) / 10000))
}
# charge_at IN OUT PROMPT COMPLETION [BP]: the charge at IN/OUT nano-USD per token.
charge_at() { with_commission $(($3 * $1 + $4 * $2)) "${5:-500}"; }
# hold_at IN OUT BYTES MAX_OUT [N] [BP]: the contract's hold: every prompt byte a token, N
# choices of MAX_OUT tokens.
hold_at() { with_commission $(($3 * $1 + ${5:-1} * $4 * $2)) "${6:-500}"; }
# charge_cheap PROMPT COMPLETION, hold_cheap BYTES MAX_OUT [N]: the same on test/cheap
# (chat.sh's catalogue: 1000 in, 2000 out per token).
charge_cheap() { charge_at 1000 2000 "$1" "$2"; }
hold_cheap() { hold_at 1000 2000 "$1" "$2" "${3:-1}"; }
