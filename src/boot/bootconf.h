/*
 * The planner's part of the config file: [default], [profile NAME],
 * [host MAC] and [arch NAME]. config.c hands every non-[server] entry here.
 */
#ifndef NETBOOTD_BOOT_BOOTCONF_H
#define NETBOOTD_BOOT_BOOTCONF_H

#include <stddef.h>

struct bootconf;

struct bootconf *bootconf_new(void);
void bootconf_free(struct bootconf *bc);

/* One INI entry. Returns 0, or -1 with a message in err (config.c adds file:line). */
int bootconf_ini_entry(struct bootconf *bc, const char *section, const char *key,
                       const char *value, char *err, size_t errlen);

/* After the whole file: cross-references (profiles named by hosts exist, ...). */
int bootconf_finish(struct bootconf *bc, const char *path);

#endif
