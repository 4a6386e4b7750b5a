#include "util/appendf.h"

#include <stdarg.h>
#include <stdio.h>

size_t
appendf(char *buf, size_t len, size_t used, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(used < len ? buf + used : NULL, used < len ? len - used : 0, fmt, ap);
	va_end(ap);
	return n > 0 ? used + (size_t)n : used;
}
