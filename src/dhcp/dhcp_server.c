#include "dhcp/dhcp_server.h"

#include <errno.h>

#include "daemon.h"
#include "util/log.h"

int
dhcp_server_start(struct netbootd *nb, struct dhcp_server **out)
{
	(void)nb;
	*out = NULL;
	log_error("dhcp", "the DHCP server is not built yet: use --dhcp off");
	return -ENOSYS;
}

void
dhcp_server_free(struct dhcp_server *srv)
{
	(void)srv;
}
