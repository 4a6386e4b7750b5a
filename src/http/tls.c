/* TLS for the HTTPS listener: the context, its reload, and handshake failures in words. */
#include "http/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "daemon.h"
#include "util/log.h"

/* Every queued OpenSSL error as "reason; reason", for one log line. */
static void
ssl_errors_format(char *buf, size_t len, unsigned long first)
{
	size_t used = 0;
	unsigned long e = first;
	buf[0] = '\0';
	while (e != 0 && used + 2 < len) {
		char one[256];
		const char *reason = ERR_reason_error_string(e);
		if (reason)
			snprintf(one, sizeof(one), "%s", reason);
		else
			ERR_error_string_n(e, one, sizeof(one));
		int n = snprintf(buf + used, len - used, "%s%s", used ? "; " : "", one);
		if (n < 0)
			break;
		used += (size_t)n;
		e = ERR_get_error();
	}
}

SSL_CTX *
tls_context_new(const char *cert, const char *key)
{
	char why[512];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		goto fail;
	/* UEFI HTTPS boot (TlsDxe) speaks TLS 1.2; nothing older is safe. */
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		goto fail;
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* Idle keep-alive connections then hold no 34 KiB TLS buffers. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		ssl_errors_format(why, sizeof(why), ERR_get_error());
		log_error("https", "certificate %s: %s", cert, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		ssl_errors_format(why, sizeof(why), ERR_get_error());
		log_error("https", "private key %s: %s", key, why);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	ssl_errors_format(why, sizeof(why), ERR_get_error());
	log_error("https", "cannot set up TLS: %s", why);
	SSL_CTX_free(ctx);
	return NULL;
}

int
http_server_reload_tls(struct http_server *srv)
{
	if (!srv || !srv->ssl_ctx)
		return 0;
	const struct config *cfg = srv->nb->boot.cfg;
	SSL_CTX *ctx = tls_context_new(cfg->tls_cert, cfg->tls_key);
	if (!ctx) {
		log_error("https", "reload failed: keeping the previous certificate");
		return -EINVAL;
	}
	/* Sessions in flight hold their own reference to the old context. */
	SSL_CTX_free(srv->ssl_ctx);
	srv->ssl_ctx = ctx;
	log_info("https", "certificate reloaded from %s", cfg->tls_cert);
	return 0;
}

void
tls_handshake_failure(struct bufferevent *bev, short what, char *why, size_t len)
{
	why[0] = '\0';
	unsigned long e = bufferevent_get_openssl_error(bev);
	if (e == SSL_ERROR_SYSCALL)
		/* libevent queues SSL_get_error()'s code, not an ERR_ code: the
		 * peer dropped TCP mid-handshake without a TLS alert. EDK2's
		 * TlsDxe does exactly that when our chain does not verify against
		 * its TlsCaCertificate list. */
		snprintf(why, len, "the client closed the connection without a TLS "
		                   "alert (a UEFI client does this when it does not "
		                   "trust our certificate: is the CA in its list?)");
	else if (e)
		ssl_errors_format(why, len, e);
	unsigned long more;
	while ((more = bufferevent_get_openssl_error(bev)) != 0) {
		size_t u = strlen(why);
		char one[256];
		ssl_errors_format(one, sizeof(one), more);
		snprintf(why + u, len - u, "; %s", one);
	}
	if (!why[0])
		snprintf(why, len, "%s",
		         (what & BEV_EVENT_EOF) ? "connection closed by client"
		         : errno                ? strerror(errno)
		                                : "unknown error");
}
