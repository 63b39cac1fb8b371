/* Stub: the parser split fills this in. */
#ifndef PARSE_H
#define PARSE_H
#endif
