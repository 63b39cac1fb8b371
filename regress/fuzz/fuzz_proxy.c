/*
 * Fuzz the PROXY header reader the way a relay reaches it: proxy_parse()
 * on every longer prefix of what arrived, each copied to a buffer of its
 * exact size so that AddressSanitizer sees a read past it.  Besides not
 * crashing, the reader must be consistent: once a prefix is decided (OK
 * or BAD) every longer input is decided the same way, with the same
 * length, since the relay stops reading there; an OK header is never
 * longer than the protocol allows, and what it says, written again by
 * proxy_build(), reads back as a header of the length written (one of
 * UNKNOWN or UNSPEC when a v4-mapped address meets one that is not).
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "l4d.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static enum proxy_status
parse_copy(const uint8_t *data, size_t len, struct proxy_hdr *h)
{
	enum proxy_status	 st;
	uint8_t			*b;

	if ((b = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(b, data, len);
	st = proxy_parse(b, len, h);
	free(b);
	return st;
}

static void
check_ok(const struct proxy_hdr *h)
{
	struct proxy_hdr	 h2;
	uint8_t			 out[PROXY_BUILD_MAX];
	ssize_t			 n;

	if (h->len > (h->version == 1 ? PROXY_V1_MAX : PROXY_V2_MAX))
		abort();
	if (h->local)
		return;
	n = proxy_build(h->version, (const struct sockaddr *)&h->src,
	    (const struct sockaddr *)&h->dst, "fuzz.example", "h2", NULL,
	    out, sizeof(out));
	if (n <= 0 || proxy_parse(out, (size_t)n, &h2) != PROXY_OK ||
	    h2.len != (size_t)n)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_hdr	 h, first;
	enum proxy_status	 st, decided = PROXY_NEED_MORE;
	size_t			 cut, step;

	if (size > PROXY_V2_MAX + 64)
		return 0;
	/* a few prefixes, as reads would cut them, then the whole */
	step = size / 7 + 1;
	for (cut = 0; cut <= size; cut = cut == size ? size + 1 :
	    (cut + step > size ? size : cut + step)) {
		st = parse_copy(data, cut, &h);
		if (decided != PROXY_NEED_MORE) {
			if (st != decided || (st == PROXY_OK &&
			    h.len != first.len))
				abort();
			continue;
		}
		if (st == PROXY_OK && h.len > cut)
			abort();
		if (st != PROXY_NEED_MORE) {
			decided = st;
			first = h;
			if (st == PROXY_OK)
				check_ok(&h);
		}
	}
	return 0;
}
