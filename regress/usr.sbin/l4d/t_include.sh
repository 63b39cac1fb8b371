# include: fragments of listeners: and backends: merged into the main
# file; errors name the fragment's own file, line and column; duplicates
# across files name both places; a glob that matches nothing is fine and
# said; a reload re-reads every fragment.

inc_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	ctl="$L4CTL -s $PWD/l4d.sock"
	mkdir -p conf.d
}

atf_test_case errors cleanup
errors_head()
{
	atf_set descr "l4d -n: two fragments, an error in the second named by its own path, line and column; a duplicate across files names both; an unknown key in a fragment; a missing plain path"
	atf_set require.user root
	atf_set timeout 30
}
errors_body()
{
	inc_setup
	{
		cfg_head 1 true
		cat <<EOF
include: [ "conf.d/*.yaml" ]
listeners:
  - { name: front, listen: "127.0.0.1:1", backend: pool }
backends:
  - { name: pool, servers: [ { address: "127.0.0.2:1" } ] }
EOF
	} >main.yaml
	cat >conf.d/10-first.yaml <<EOF
backends:
  - { name: other, servers: [ { address: "127.0.0.3:1" } ] }
EOF
	cat >conf.d/20-second.yaml <<EOF
listeners:
  - { name: side, listen: "127.0.0.1:2", backend: other }
  - { name: front, listen: "127.0.0.1:3", backend: other }
  - { name: third, listen: "127.0.0.1:4", backend: nosuch }
EOF
	atf_check -s exit:1 -o empty -e save:err.out $L4D -n -f "$PWD/main.yaml"
	grep -q "^$PWD/conf.d/20-second.yaml:3:13: L4D-E007: .*duplicate listener name \"front\" (first at $PWD/main.yaml:9)" err.out ||
	    atf_fail "duplicate across files: $(cat err.out)"
	grep -q "^$PWD/conf.d/20-second.yaml:4:52: L4D-E009: .*undefined backend \"nosuch\"" err.out ||
	    atf_fail "error in the second fragment: $(cat err.out)"
	grep -q '^2 errors$' err.out || atf_fail "error count: $(cat err.out)"

	# only listeners: and backends: in a fragment
	printf 'relays: 2\n' >conf.d/30-key.yaml
	atf_check -s exit:1 -o empty -e match:"^$PWD/conf.d/30-key.yaml:1:1: L4D-E002: unknown key \"relays\"" \
	    $L4D -n -f "$PWD/main.yaml"
	rm conf.d/30-key.yaml conf.d/20-second.yaml

	# a plain path must be there; a glob may match nothing, and says so
	sed -i 's|^include: .*|include: [ "conf.d/*.yaml", "none.d/*.yaml", "missing.yaml" ]|' main.yaml
	atf_check -s exit:1 -o empty -e match:"^$PWD/main.yaml:7:46: L4D-E017: include\\[2\\]: cannot read $PWD/missing.yaml" \
	    $L4D -n -f "$PWD/main.yaml"
	sed -i 's|, "missing.yaml" ]| ]|' main.yaml
	atf_check -s exit:0 -o empty \
	    -e match:"include: no file matches $PWD/none.d/\\*.yaml" \
	    $L4D -n -f "$PWD/main.yaml"
}
errors_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case reload cleanup
reload_head()
{
	atf_set descr "a listener and a backend from fragments serve; editing a fragment and reloading applies it; an error in a fragment is a rejected reload that changes nothing"
	atf_set require.user root
	atf_set timeout 60
}
reload_body()
{
	inc_setup
	lp=$(free_ports 1)
	lq=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	start_server a id "127.0.0.2:$pa" --id A
	start_server b id "127.0.0.3:$pb" --id B
	{
		cfg_head 1 true
		cat <<EOF
include: conf.d/*.yaml
EOF
	} >l4d.conf
	cat >conf.d/backends.yaml <<EOF
backends:
  - { name: pa, servers: [ { address: "127.0.0.2:$pa" } ] }
  - { name: pb, servers: [ { address: "127.0.0.3:$pb" } ] }
EOF
	cat >conf.d/listeners.yaml <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$lp", backend: pa }
EOF
	start_l4d
	atf_check -s exit:0 -o inline:'1 A\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 1 --timeout 10

	# edit a fragment: front goes to pb, a new listener appears
	cat >conf.d/listeners.yaml <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$lp", backend: pb }
  - { name: more, listen: "127.0.0.1:$lq", backend: pa }
EOF
	atf_check -s exit:0 -o match:'generation 2' $ctl reload
	atf_check -s exit:0 -o inline:'1 B\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 1 --timeout 10
	atf_check -s exit:0 -o inline:'1 A\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lq" --count 1 --timeout 10

	# a broken fragment: the reload fails, naming it, and nothing changes
	echo "  - { name: broken, listen: 127.0.0.1:1, backend: nosuch }" \
	    >>conf.d/listeners.yaml
	atf_check -s exit:1 -o match:"conf.d/listeners.yaml:4:.*L4D-E009" $ctl reload
	atf_check -s exit:0 -o match:'generation 2' $ctl show summary
	atf_check -s exit:0 -o inline:'1 B\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 1 --timeout 10
}
reload_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case errors
	atf_add_test_case reload
}
