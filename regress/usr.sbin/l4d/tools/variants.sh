# Test case variants, sourced at the top of a test program:
#	. "$(atf_get_srcdir)/tools/variants.sh"

# sockmap_variants CASE...: CASE_sockmap runs CASE's body with zero_copy:
# sockmap (cfg_head reads L4D_ZERO_COPY), so both data paths are covered.
sockmap_variants()
{
	for _sv in "$@"; do
		atf_test_case "${_sv}_sockmap" cleanup
		eval "${_sv}_sockmap_head() {
		    atf_set descr \"the ${_sv} case, zero_copy sockmap\"
		    atf_set require.user root; atf_set timeout 180; }
		${_sv}_sockmap_body() { L4D_ZERO_COPY=sockmap; ${_sv}_body; }
		${_sv}_sockmap_cleanup() { ${_sv}_cleanup; }"
	done
}
