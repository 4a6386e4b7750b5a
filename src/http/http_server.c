#include "http/http_server.h"

#include <errno.h>

#include "daemon.h"
#include "util/log.h"

int
http_server_start(struct netbootd *nb, struct http_server **out)
{
	(void)nb;
	*out = NULL;
	log_error("http", "the HTTP server is not built yet: use --http off");
	return -ENOSYS;
}

void
http_server_free(struct http_server *srv)
{
	(void)srv;
}

int
http_server_reload_tls(struct http_server *srv)
{
	(void)srv;
	return 0;
}
