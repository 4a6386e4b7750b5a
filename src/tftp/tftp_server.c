#include "tftp/tftp_server.h"

#include <errno.h>

#include "daemon.h"
#include "util/log.h"

int
tftp_server_start(struct netbootd *nb, struct tftp_server **out)
{
	(void)nb;
	*out = NULL;
	log_error("tftp", "the TFTP server is not built yet: use --tftp off");
	return -ENOSYS;
}

void
tftp_server_free(struct tftp_server *srv)
{
	(void)srv;
}
