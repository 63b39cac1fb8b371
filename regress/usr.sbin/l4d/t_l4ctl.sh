# l4ctl black-box tests (kept here: the regress Makefile turns only
# regress/usr.sbin/l4d/t_*.sh into test programs).

# find_in_json FILE STRING...: every STRING occurs as a value somewhere in
# the JSON document FILE.
find_in_json()
{
	$PY - "$@" <<'EOF'
import json, sys

doc = json.load(open(sys.argv[1]))
found = set()

def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
    else:
        found.add(str(v))

walk(doc)
missing = [s for s in sys.argv[2:] if s not in found]
if missing:
    sys.exit("not in the JSON: %s" % ", ".join(missing))
EOF
}

# summary_has ERE: "l4ctl show summary" prints a line matching ERE.
summary_has()
{
	"$L4CTL" -s "$PWD/l4d.sock" show summary | grep -Eq -- "$1"
}

atf_test_case show_summary cleanup
show_summary_head()
{
	atf_set descr "l4ctl show summary: listeners and servers with counts, text and JSON"
	atf_set require.user root
	atf_set timeout 60
}
show_summary_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	sa=$1
	sb=$2
	start_server a echo "127.0.0.2:$sa"
	start_server b echo "127.0.0.2:$sb"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$sa", weight: 3 }
      - { address: "127.0.0.2:$sb", weight: 1, backup: true }
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 test -S l4d.sock || atf_fail "no control socket $PWD/l4d.sock"

	# No health check configured: the servers are taken as up.
	atf_check -s exit:0 -e empty -o not-match:'state down' \
	    -o match:"^listener web 127\.0\.0\.1:$lp backend pool active 0" \
	    -o match:"^  server 127\.0\.0\.2:$sa weight 3 .*active 0 total 0" \
	    -o match:"^  server 127\.0\.0\.2:$sb weight 1 .*active 0 total 0" \
	    "$L4CTL" -s "$PWD/l4d.sock" show summary

	# 4 finished sessions and 1 open one (on the primary, sb is a backup).
	# While it is open its server's total may or may not count it yet.
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 4 --timeout 10
	$PY "$CLIENT" hold --connect "127.0.0.1:$lp" --count 1 --timeout 30 \
	    --ready holder.ready >holder.log 2>&1 </dev/null &
	echo $! >holder.pid
	wait_for 10 test -e holder.ready || atf_fail "the holder did not start"
	wait_for 10 summary_has "^listener web .* active 1" ||
	    atf_fail "listener active count never 1: $("$L4CTL" -s "$PWD/l4d.sock" show summary)"
	atf_check -s exit:0 -e empty \
	    -o match:"^listener web 127\.0\.0\.1:$lp backend pool active 1" \
	    -o match:"^  server 127\.0\.0\.2:$sa weight 3 .*active 1 total [45]( |$)" \
	    -o match:"^  server 127\.0\.0\.2:$sb weight 1 .*active 0 total 0" \
	    "$L4CTL" -s "$PWD/l4d.sock" show summary

	atf_check -s exit:0 -o save:summary.json -e empty \
	    "$L4CTL" -s "$PWD/l4d.sock" -j show summary
	atf_check -s exit:0 -o ignore -e empty $PY -m json.tool summary.json
	find_in_json summary.json web pool "127.0.0.1:$lp" "127.0.0.2:$sa" \
	    "127.0.0.2:$sb" || atf_fail "show summary -j: $(cat summary.json)"

	# The open session ends: back to active 0, total 5.
	kill -TERM "$(cat holder.pid)"
	wait_for 10 summary_has "^listener web .* active 0" ||
	    atf_fail "listener active count did not return to 0"
	atf_check -s exit:0 -e empty \
	    -o match:"^  server 127\.0\.0\.2:$sa weight 3 .*active 0 total 5" \
	    "$L4CTL" -s "$PWD/l4d.sock" show summary
}
show_summary_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case missing_socket
missing_socket_head()
{
	atf_set descr "l4ctl against a missing socket exits 1 with a message naming it"
	atf_set require.user root
	atf_set timeout 30
}
missing_socket_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	atf_check -s exit:1 -o empty -e match:'nonexistent\.sock' \
	    "$L4CTL" -s "$PWD/nonexistent.sock" show summary
	atf_check -s exit:1 -o empty -e match:'nonexistent\.sock' \
	    "$L4CTL" -s "$PWD/nonexistent.sock" -j show summary
}

atf_init_test_cases()
{
	atf_add_test_case show_summary
	atf_add_test_case missing_socket
}
