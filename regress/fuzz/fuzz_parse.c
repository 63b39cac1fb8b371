/*
 * libFuzzer target for the configuration parser: any bytes must give
 * either a configuration or a list of errors, never a crash or a leak.
 * Names are not resolved, so the run needs no network.
 */

#include <stdint.h>
#include <stddef.h>

#include "l4d.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors	 errs;
	struct l4d_config	*conf;

	TAILQ_INIT(&errs);
	conf = parse_config_buffer("fuzz.yaml", (const char *)data, size, 0,
	    &errs);
	/* A file is valid exactly when it produced no error. */
	if ((conf == NULL) == TAILQ_EMPTY(&errs))
		__builtin_trap();
	config_free(conf);
	conf_errors_clear(&errs);
	return 0;
}
