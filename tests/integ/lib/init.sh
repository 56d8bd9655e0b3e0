# init.sh: what a test script sources: the harness and money arithmetic always, then the
# helper sets it names, in order.
#     . "$(dirname "$0")/lib/init.sh"            process and web-server tests
#     . "$(dirname "$0")/lib/init.sh" cp         control-plane tests (accounts, keys, requests)
#     . "$(dirname "$0")/lib/init.sh" cp chat    data-plane tests (mock provider, catalogue, money)
#     ... privdb                                 a private MariaDB to kill and restart (fault tests)
#     ... browser                                the dashboard in chromium (lib/browser.sh)
# Sourced at the top level, so the helpers' variables are the script's own.
. "$(dirname "${BASH_SOURCE[0]}")/base.sh"
. "$integ_dir/lib/money.sh"
# Without arguments "$@" is the script's own: only the known set names are taken.
for integ_lib_set in "$@"; do
	case $integ_lib_set in
	cp | chat | privdb | browser) . "$integ_dir/lib/$integ_lib_set.sh" ;;
	esac
done
unset integ_lib_set
