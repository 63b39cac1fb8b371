/* Stub: the parser split fills this in. */
#include "l4d.h"
#include "parse.h"
