#include "boot/bootconf.h"

#include <stdio.h>
#include <stdlib.h>

struct bootconf {
	int unused;
};

struct bootconf *
bootconf_new(void)
{
	return calloc(1, sizeof(struct bootconf));
}

void
bootconf_free(struct bootconf *bc)
{
	free(bc);
}

int
bootconf_ini_entry(struct bootconf *bc, const char *section, const char *key,
                   const char *value, char *err, size_t errlen)
{
	(void)bc;
	(void)key;
	(void)value;
	snprintf(err, errlen, "unknown section '%s'", section);
	return -1;
}

int
bootconf_finish(struct bootconf *bc, const char *path)
{
	(void)bc;
	(void)path;
	return 0;
}
