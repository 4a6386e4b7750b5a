/*
 * Downloads through the firmware's own HTTP stack (EFI_HTTP_PROTOCOL,
 * UEFI 2.10 §29.6), so that no iPXE is needed, and discovery of the
 * netbootd that loaded us (PXE Base Code's cached DHCP packets, or the
 * Uri() node that UEFI HTTP boot leaves in our device path).
 */
#include "imgboot.h"

static EFI_GUID http_sb_guid = HTTP_SERVICE_BINDING_PROTOCOL_GUID;
static EFI_GUID http_guid = HTTP_PROTOCOL_GUID;
static EFI_GUID ip4cfg2_guid = IP4_CONFIG2_PROTOCOL_GUID;

#define HTTP_IDLE_TIMEOUT_MS 30000
#define EFI_HTTP_ERROR_STATUS EFIERR(35) /* UEFI 2.10 Appendix D; not in gnu-efi */
#define DHCP_TIMEOUT_MS 30000


static void EFIAPI
set_flag(EFI_EVENT ev, VOID *ctx)
{
	(void)ev;
	*(volatile BOOLEAN *)ctx = TRUE;
}

static EFI_LOADED_IMAGE *
loaded_image(EFI_HANDLE self)
{
	EFI_LOADED_IMAGE *li = NULL;

	if (EFI_ERROR(BS->HandleProtocol(self, &LoadedImageProtocol, (void **)&li)))
		return NULL;
	return li;
}

static EFI_DEVICE_PATH *
find_node(EFI_DEVICE_PATH *dp, UINT8 type, UINT8 subtype)
{
	for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp)) {
		if (DevicePathType(dp) == type && DevicePathSubType(dp) == subtype)
			return dp;
	}
	return NULL;
}

/* ---- the NIC and our address ----------------------------------------------- */

static void
connect_all_nics(void)
{
	EFI_HANDLE *h = NULL;
	UINTN n = 0, i;

	if (EFI_ERROR(BS->LocateHandleBuffer(ByProtocol, &SimpleNetworkProtocol, NULL, &n, &h)))
		return;
	for (i = 0; i < n; i++)
		BS->ConnectController(h[i], NULL, NULL, TRUE);
	FreePool(h);
}

/* The NIC we came from when loaded over the network; otherwise the first one
 * with an HTTP service (connecting the network stack if nobody did yet). */
static EFI_STATUS
find_nic(EFI_HANDLE self, EFI_HANDLE *nic)
{
	EFI_LOADED_IMAGE *li = loaded_image(self);
	EFI_DEVICE_PATH *dp, *walk;
	EFI_HANDLE *h = NULL;
	UINTN n = 0;
	int pass;

	if (li && (dp = DevicePathFromHandle(li->DeviceHandle)) != NULL) {
		walk = dp;
		if (!EFI_ERROR(BS->LocateDevicePath(&http_sb_guid, &walk, nic)))
			return EFI_SUCCESS;
	}
	for (pass = 0; pass < 2; pass++) {
		if (!EFI_ERROR(BS->LocateHandleBuffer(ByProtocol, &http_sb_guid, NULL, &n, &h)) &&
		    n > 0) {
			*nic = h[0];
			FreePool(h);
			return EFI_SUCCESS;
		}
		if (pass == 0)
			connect_all_nics();
	}
	fail(L"no network interface with an HTTP stack (EFI_HTTP_SERVICE_BINDING_PROTOCOL)\n");
	return EFI_NOT_FOUND;
}

static BOOLEAN
ip_zero(const EFI_IPv4_ADDRESS *a)
{
	return !(a->Addr[0] | a->Addr[1] | a->Addr[2] | a->Addr[3]);
}

/* Pick a local address for HTTP: the one the firmware already used to load
 * us (HTTP boot's IPv4 node, PXE's station IP), else the IP4 config's, else
 * run DHCP through EFI_IP4_CONFIG2_PROTOCOL. */
static EFI_STATUS
local_address(EFI_HANDLE self, EFI_HANDLE nic, HTTPv4_ACCESS_POINT *ap)
{
	EFI_LOADED_IMAGE *li = loaded_image(self);
	EFI_PXE_BASE_CODE *pxe;
	IP4_CONFIG2_PROTOCOL *cfg;
	UINT8 infobuf[1024];
	IP4_CONFIG2_INTERFACE_INFO *ii = (IP4_CONFIG2_INTERFACE_INFO *)infobuf;
	UINTN sz;
	UINT64 deadline;
	IP4_CONFIG2_POLICY pol;
	EFI_STATUS st;

	SetMem(ap, sizeof(*ap), 0);
	if (li) {
		IPv4_DEVICE_PATH *ip = (IPv4_DEVICE_PATH *)find_node(
			DevicePathFromHandle(li->DeviceHandle), MESSAGING_DEVICE_PATH, MSG_IPv4_DP);

		if (ip && (UINTN)DevicePathNodeLength(&ip->Header) >= sizeof(IPv4_DEVICE_PATH) &&
		    !ip_zero(&ip->LocalIpAddress) && !ip_zero(&ip->SubnetMask)) {
			CopyMem(&ap->LocalAddress, &ip->LocalIpAddress, 4);
			CopyMem(&ap->LocalSubnet, &ip->SubnetMask, 4);
			return EFI_SUCCESS;
		}
		if (!EFI_ERROR(BS->HandleProtocol(li->DeviceHandle, &PxeBaseCodeProtocol,
						  (void **)&pxe)) &&
		    pxe->Mode && pxe->Mode->Started && !pxe->Mode->UsingIpv6 &&
		    !ip_zero(&pxe->Mode->StationIp.v4)) {
			CopyMem(&ap->LocalAddress, &pxe->Mode->StationIp.v4, 4);
			CopyMem(&ap->LocalSubnet, &pxe->Mode->SubnetMask.v4, 4);
			return EFI_SUCCESS;
		}
	}
	st = BS->HandleProtocol(nic, &ip4cfg2_guid, (void **)&cfg);
	if (EFI_ERROR(st)) {
		fail(L"the network interface has no IP4 configuration protocol: %r\n", st);
		return st;
	}
	ap->UseDefaultAddress = TRUE;
	sz = sizeof(infobuf);
	st = cfg->GetData(cfg, Ip4Config2DataTypeInterfaceInfo, &sz, infobuf);
	if (!EFI_ERROR(st) && !ip_zero(&ii->StationAddress))
		return EFI_SUCCESS;
	sz = sizeof(pol);
	if (EFI_ERROR(cfg->GetData(cfg, Ip4Config2DataTypePolicy, &sz, &pol)) ||
	    pol != Ip4Config2PolicyDhcp) {
		pol = Ip4Config2PolicyDhcp;
		st = cfg->SetData(cfg, Ip4Config2DataTypePolicy, sizeof(pol), &pol);
		if (EFI_ERROR(st) && st != EFI_NOT_READY) {
			fail(L"cannot switch the IP configuration to DHCP: %r\n", st);
			return st;
		}
	}
	info(L"waiting for a DHCP address\n");
	deadline = clock_ms() + DHCP_TIMEOUT_MS;
	while (clock_ms() < deadline) {
		sz = sizeof(infobuf);
		st = cfg->GetData(cfg, Ip4Config2DataTypeInterfaceInfo, &sz, infobuf);
		if (!EFI_ERROR(st) && !ip_zero(&ii->StationAddress)) {
			info(L"address %d.%d.%d.%d\n", ii->StationAddress.Addr[0],
			     ii->StationAddress.Addr[1], ii->StationAddress.Addr[2],
			     ii->StationAddress.Addr[3]);
			return EFI_SUCCESS;
		}
		BS->Stall(100000);
	}
	fail(L"no DHCP address after %d s\n", DHCP_TIMEOUT_MS / 1000);
	return EFI_TIMEOUT;
}

/* ---- HTTP ------------------------------------------------------------------------ */

struct http_conn {
	SERVICE_BINDING *sb;
	EFI_HANDLE child;
	HTTP_PROTOCOL *http;
	EFI_EVENT ev;
	volatile BOOLEAN done;
};

static void
http_close(struct http_conn *c)
{
	if (c->http)
		c->http->Configure(c->http, NULL);
	if (c->child && c->sb)
		c->sb->DestroyChild(c->sb, c->child);
	if (c->ev)
		BS->CloseEvent(c->ev);
	SetMem(c, sizeof(*c), 0);
}

static EFI_STATUS
http_open(EFI_HANDLE self, struct http_conn *c)
{
	HTTP_CONFIG_DATA cd;
	HTTPv4_ACCESS_POINT ap;
	EFI_HANDLE nic;
	EFI_STATUS st;

	SetMem(c, sizeof(*c), 0);
	st = find_nic(self, &nic);
	if (EFI_ERROR(st))
		return st;
	st = local_address(self, nic, &ap);
	if (EFI_ERROR(st))
		return st;
	st = BS->HandleProtocol(nic, &http_sb_guid, (void **)&c->sb);
	if (!EFI_ERROR(st))
		st = c->sb->CreateChild(c->sb, &c->child);
	if (!EFI_ERROR(st))
		st = BS->HandleProtocol(c->child, &http_guid, (void **)&c->http);
	if (EFI_ERROR(st)) {
		fail(L"cannot create an HTTP instance: %r\n", st);
		http_close(c);
		return st;
	}
	SetMem(&cd, sizeof(cd), 0);
	cd.HttpVersion = HttpVersion11;
	cd.TimeOutMillisec = HTTP_IDLE_TIMEOUT_MS;
	cd.LocalAddressIsIPv6 = FALSE;
	cd.AccessPoint.IPv4Node = &ap;
	st = c->http->Configure(c->http, &cd);
	if (EFI_ERROR(st)) {
		fail(L"cannot configure HTTP: %r\n", st);
		http_close(c);
		return st;
	}
	st = BS->CreateEvent(EVT_NOTIFY_SIGNAL, TPL_CALLBACK, set_flag, (void *)&c->done, &c->ev);
	if (EFI_ERROR(st)) {
		http_close(c);
		return st;
	}
	return EFI_SUCCESS;
}

/* Poll until the token completes; give up after a stretch without it. */
static EFI_STATUS
http_wait(struct http_conn *c, HTTP_TOKEN *tok)
{
	UINT64 deadline = clock_ms() + HTTP_IDLE_TIMEOUT_MS;

	while (!c->done) {
		c->http->Poll(c->http);
		if (clock_ms() > deadline) {
			c->http->Cancel(c->http, tok);
			return EFI_TIMEOUT;
		}
	}
	return tok->Status;
}

/* One Request() or Response() on msg, waited for: the token is set up the
 * same way for both, and for every body chunk. */
static EFI_STATUS
http_exchange(struct http_conn *c, HTTP_MESSAGE *msg, BOOLEAN request)
{
	HTTP_TOKEN tok;
	EFI_STATUS st;

	SetMem(&tok, sizeof(tok), 0);
	tok.Event = c->ev;
	tok.Message = msg;
	c->done = FALSE;
	st = request ? c->http->Request(c->http, &tok) : c->http->Response(c->http, &tok);
	if (!EFI_ERROR(st))
		st = http_wait(c, &tok);
	return st;
}

/* Where the body goes: an image (allocated once the length is known) or a
 * fixed text buffer. */
struct sink {
	struct image *img;
	enum img_memory memory;
	CHAR8 *buf;
	UINTN bufsize;
	UINT64 len;
};

/* 3xx codes that name the resource elsewhere in Location (RFC 9110 §15.4). */
static BOOLEAN
is_redirect(UINTN code)
{
	return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

/* Send the GET for url on an open connection. */
static EFI_STATUS
http_send_get(struct http_conn *c, const CHAR16 *url)
{
	HTTP_REQUEST_DATA req;
	HTTP_HEADER hdr[3];
	HTTP_MESSAGE msg;
	CHAR8 host[256];

	url_authority(url, host, sizeof(host));
	hdr[0].FieldName = (CHAR8 *)"Host";
	hdr[0].FieldValue = host;
	hdr[1].FieldName = (CHAR8 *)"Accept";
	hdr[1].FieldValue = (CHAR8 *)"*/*";
	hdr[2].FieldName = (CHAR8 *)"User-Agent";
	hdr[2].FieldValue = (CHAR8 *)"imgboot/" IMGBOOT_VERSION;
	req.Method = HttpMethodGet;
	req.Url = (CHAR16 *)url;
	SetMem(&msg, sizeof(msg), 0);
	msg.Data.Request = &req;
	msg.HeaderCount = 3;
	msg.Headers = hdr;
	return http_exchange(c, &msg, TRUE);
}

/* What the response head says: the status, Content-Length, Location. */
struct http_head {
	UINTN status;
	UINT64 length;
	BOOLEAN have_length;
	CHAR8 location[IMGBOOT_MAX_ARG];
};

/* Read the response head (no body buffer yet, as EDK2's own HTTP boot does). */
static EFI_STATUS
http_read_head(struct http_conn *c, struct http_head *h)
{
	HTTP_RESPONSE_DATA resp;
	HTTP_MESSAGE msg;
	EFI_STATUS st;
	UINTN i;

	SetMem(h, sizeof(*h), 0);
	SetMem(&resp, sizeof(resp), 0);
	SetMem(&msg, sizeof(msg), 0);
	msg.Data.Response = &resp;
	st = http_exchange(c, &msg, FALSE);
	/* EDK2's HttpDxe completes a 4xx/5xx response with EFI_HTTP_ERROR
	 * (UEFI 2.10) but fills in the status code: report the code. */
	if (EFI_ERROR(st) && !(st == EFI_HTTP_ERROR_STATUS && resp.StatusCode != 0))
		return st;
	for (i = 0; i < msg.HeaderCount && msg.Headers; i++) {
		const CHAR8 *name = msg.Headers[i].FieldName, *value = msg.Headers[i].FieldValue;
		UINTN k;

		if (!name || !value)
			continue;
		if (ascii_ieq(name, (CHAR8 *)"Content-Length"))
			h->length = parse_u64(value, &h->have_length);
		if (ascii_ieq(name, (CHAR8 *)"Location")) {
			for (k = 0; value[k] && k + 1 < sizeof(h->location); k++)
				h->location[k] = value[k];
			h->location[k] = 0;
		}
	}
	/* The header array is ours to free (UEFI 2.10, Response()); its few
	 * small strings are left alone rather than rely on how a given
	 * driver allocated them. */
	if (msg.Headers)
		FreePool(msg.Headers);
	h->status = http_status_number(resp.StatusCode);
	return EFI_SUCCESS;
}

/* Room for length bytes of body in the sink: *dst, or an error said. */
static EFI_STATUS
sink_prepare(struct sink *sk, const CHAR16 *url, UINT64 length, UINT8 **dst)
{
	EFI_STATUS st;

	if (!sk->img) {
		if (length >= sk->bufsize) {
			fail(L"%s is too large (%ld bytes)\n", url, length);
			return EFI_BAD_BUFFER_SIZE;
		}
		*dst = (UINT8 *)sk->buf;
		return EFI_SUCCESS;
	}
	if (length == 0) {
		fail(L"image %s is empty\n", url);
		return EFI_NOT_FOUND;
	}
	st = image_alloc(sk->img, length, sk->memory);
	if (EFI_ERROR(st)) {
		fail(L"not enough memory for %s: %d MiB needed: %r\n", url, (length + (1 << 20) - 1) >> 20,
		     st);
		return st;
	}
	*dst = (UINT8 *)(UINTN)sk->img->base;
	return EFI_SUCCESS;
}

/* The body, 1 MiB per Response() at most, with a progress line for images. */
static EFI_STATUS
http_read_body(struct http_conn *c, const CHAR16 *url, struct sink *sk, UINT8 *dst, UINT64 length)
{
	HTTP_MESSAGE msg;
	struct progress p;
	UINT64 got = 0;
	EFI_STATUS st;

	if (sk->img)
		progress_start(&p, L"downloading", length);
	while (got < length) {
		UINT64 want = length - got;

		SetMem(&msg, sizeof(msg), 0);
		msg.Data.Response = NULL;
		msg.BodyLength = want > (1 << 20) ? (1 << 20) : (UINTN)want;
		msg.Body = dst + got;
		st = http_exchange(c, &msg, FALSE);
		if (EFI_ERROR(st) || msg.BodyLength == 0) {
			fail(L"download of %s failed at byte %ld of %ld: %r\n", url, got, length,
			     EFI_ERROR(st) ? st : EFI_END_OF_FILE);
			if (sk->img)
				image_free(sk->img);
			return EFI_ERROR(st) ? st : EFI_END_OF_FILE;
		}
		got += msg.BodyLength;
		if (sk->img)
			progress_update(&p, got);
	}
	if (sk->img)
		progress_end(&p);
	else
		sk->buf[got] = 0;
	sk->len = got;
	return EFI_SUCCESS;
}

/*
 * One GET. A redirect is not an error: *next gets the URL it points to
 * (resolved, never https -> http) and EFI_SUCCESS is returned with nothing
 * in the sink; next[0] stays 0 otherwise.
 */
static EFI_STATUS
http_get_once(EFI_HANDLE self, const CHAR16 *url, struct sink *sk, CHAR16 *next, UINTN nextcap)
{
	struct http_conn c;
	struct http_head h;
	UINT8 *dst;
	EFI_STATUS st;

	next[0] = 0;
	st = http_open(self, &c);
	if (EFI_ERROR(st))
		return st;
	st = http_send_get(&c, url);
	if (EFI_ERROR(st)) {
		fail(L"download of %s failed: request not sent: %r\n", url, st);
		goto out;
	}
	st = http_read_head(&c, &h);
	if (EFI_ERROR(st)) {
		fail(L"download of %s failed: no response: %r\n", url, st);
		goto out;
	}
	if (is_redirect(h.status)) {
		if (!h.location[0] || !url_redirect(url, h.location, next, nextcap)) {
			fail(L"download of %s failed: HTTP %d to '%a', which imgboot cannot follow "
			     L"(http/https only, never from https to http)\n", url, h.status, h.location);
			next[0] = 0;
			st = EFI_PROTOCOL_ERROR;
			goto out;
		}
		Print(L"imgboot: %s: HTTP %d to %s\n", url, h.status, next);
		st = EFI_SUCCESS;
		goto out;
	}
	if (h.status != 200) {
		fail(L"download of %s failed: HTTP %d\n", url, h.status);
		st = h.status == 404 ? EFI_NOT_FOUND : EFI_PROTOCOL_ERROR;
		goto out;
	}
	if (!h.have_length) {
		fail(L"download of %s failed: the server sent no Content-Length\n", url);
		st = EFI_PROTOCOL_ERROR;
		goto out;
	}
	st = sink_prepare(sk, url, h.length, &dst);
	if (!EFI_ERROR(st))
		st = http_read_body(&c, url, sk, dst, h.length);
out:
	http_close(&c);
	return st;
}

/* Follow up to IMGBOOT_MAX_REDIRECTS redirects, as curl -L or a browser would. */
static EFI_STATUS
http_get(EFI_HANDLE self, const CHAR16 *url, struct sink *sk)
{
	CHAR16 urls[2][IMGBOOT_MAX_ARG];
	const CHAR16 *cur = url;
	UINTN hop;
	EFI_STATUS st;

	for (hop = 0; hop <= IMGBOOT_MAX_REDIRECTS; hop++) {
		CHAR16 *next = urls[hop & 1];

		st = http_get_once(self, cur, sk, next, IMGBOOT_MAX_ARG);
		if (EFI_ERROR(st) || !next[0])
			return st;
		cur = next;
	}
	fail(L"download of %s failed: more than %d redirects\n", url, IMGBOOT_MAX_REDIRECTS);
	return EFI_PROTOCOL_ERROR;
}

EFI_STATUS
net_fetch_image(EFI_HANDLE self, const CHAR16 *url, struct image *img, enum img_memory memory)
{
	struct sink sk;

	SetMem(&sk, sizeof(sk), 0);
	sk.img = img;
	sk.memory = memory;
	return http_get(self, url, &sk);
}

EFI_STATUS
net_fetch_text(EFI_HANDLE self, const CHAR16 *url, CHAR8 *buf, UINTN bufsize, UINTN *len)
{
	struct sink sk;
	EFI_STATUS st;

	SetMem(&sk, sizeof(sk), 0);
	sk.buf = buf;
	sk.bufsize = bufsize;
	st = http_get(self, url, &sk);
	*len = (UINTN)sk.len;
	return st;
}

/* ---- discovery of the netbootd that loaded us ----------------------------------- */

EFI_STATUS
net_discover_config_url(EFI_HANDLE self, CHAR16 *url, UINTN urllen)
{
	EFI_LOADED_IMAGE *li = loaded_image(self);
	EFI_DEVICE_PATH *dp, *node;
	EFI_PXE_BASE_CODE *pxe;
	EFI_SIMPLE_NETWORK *snp;
	EFI_HANDLE nic;
	CHAR16 base[IMGBOOT_MAX_ARG], mac[32];
	UINT8 m[6];
	BOOLEAN have_base = FALSE, have_mac = FALSE;
	UINTN n;

	if (!li)
		return EFI_NOT_FOUND;
	dp = DevicePathFromHandle(li->DeviceHandle);
	if (!dp)
		return EFI_NOT_FOUND;

	/* UEFI HTTP boot: our device path ends in Uri(http://server/...). */
	node = find_node(dp, MESSAGING_DEVICE_PATH, MSG_URI_DP);
	if (!node)
		node = find_node(li->FilePath, MESSAGING_DEVICE_PATH, MSG_URI_DP);
	if (node && DevicePathNodeLength(node) > 4)
		have_base = url_base((const CHAR8 *)node + 4, DevicePathNodeLength(node) - 4, base,
				     IMGBOOT_MAX_ARG);
	/* Firmware PXE: the DHCP packets it cached. A boot server reply or a
	 * proxy offer comes from the boot server itself (netbootd in proxy
	 * mode); a plain ACK may come from the LAN's DHCP server, whose next
	 * server is then netbootd. */
	if (!have_base &&
	    !EFI_ERROR(BS->HandleProtocol(li->DeviceHandle, &PxeBaseCodeProtocol, (void **)&pxe)) &&
	    pxe->Mode && !pxe->Mode->UsingIpv6) {
		EFI_PXE_BASE_CODE_MODE *md = pxe->Mode;

		if (md->PxeReplyReceived)
			have_base = server_from_packet(md->PxeReply.Raw, sizeof(md->PxeReply.Raw),
						       base, IMGBOOT_MAX_ARG);
		if (!have_base && md->ProxyOfferReceived)
			have_base = server_from_packet(md->ProxyOffer.Raw,
						       sizeof(md->ProxyOffer.Raw), base,
						       IMGBOOT_MAX_ARG);
		if (!have_base && md->DhcpAckReceived)
			have_base = server_from_packet(md->DhcpAck.Raw, sizeof(md->DhcpAck.Raw),
						       base, IMGBOOT_MAX_ARG);
	}
	if (!have_base)
		return EFI_NOT_FOUND;

	node = find_node(dp, MESSAGING_DEVICE_PATH, MSG_MAC_ADDR_DP);
	if (node) {
		CopyMem(m, &((MAC_ADDR_DEVICE_PATH *)node)->MacAddress, 6);
		have_mac = TRUE;
	} else if (!EFI_ERROR(find_nic(self, &nic)) &&
		   !EFI_ERROR(BS->HandleProtocol(nic, &SimpleNetworkProtocol, (void **)&snp)) &&
		   snp->Mode && snp->Mode->HwAddressSize >= 6) {
		CopyMem(m, &snp->Mode->CurrentAddress, 6);
		have_mac = TRUE;
	}
	if (!have_mac) {
		fail(L"cannot find this machine's MAC address\n");
		return EFI_NOT_FOUND;
	}
	wire_format_mac(m, mac);
	n = append(url, 0, urllen, base);
	n = append(url, n, urllen, L"/boot/");
	n = append(url, n, urllen, mac);
	append(url, n, urllen, L".imgboot");
	return EFI_SUCCESS;
}
