/*
 * libbsd needs setproctitle_init() before setproctitle(); the BSDs do
 * not.  Built on every platform, doing nothing where there is nothing
 * to do.
 */

#include "compat.h"

#ifdef __linux__
#include <unistd.h>
#endif

void
compat_setproctitle_init(int argc, char **argv, char **envp)
{
#ifdef __linux__
	setproctitle_init(argc, argv, envp);
#else
	(void)argc;
	(void)argv;
	(void)envp;
#endif
}
