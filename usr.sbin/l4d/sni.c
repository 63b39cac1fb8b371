/* Stub until the ClientHello reader lands. */
#include <string.h>
#include "l4d.h"

enum hello_status
hello_parse(const uint8_t *buf, size_t len, struct hello *h)
{
	memset(h, 0, sizeof(*h));
	if (len == 0)
		return HELLO_NEED_MORE;
	return buf[0] == 0x16 ? HELLO_BAD : HELLO_NOT_TLS;
}

int
hello_has_alpn(const struct hello *h, const char *proto)
{
	return 0;
}

void
hello_alpn_text(const struct hello *h, char *buf, size_t len)
{
	buf[0] = '\0';
}
