/* Stub until the route matcher lands. */
#include <string.h>
#include "l4d.h"

struct route *
route_find(struct listener *l, const struct hello *h)
{
	return NULL;
}

int
route_name_match(const struct route *r, const char *sni)
{
	return 0;
}

void
route_key(const struct route *r, char *buf, size_t len)
{
	strlcpy(buf, r->sni, len);
}
