/*
 * Host-side tests of imgboot's pure parts (opts.c, wire.c, figures.c): load
 * options, key=value documents, cached DHCP packets, URLs, the progress
 * line. Built with ASan+UBSan and -fshort-wchar (CHAR16 strings) by
 * `make -C efi/imgboot host-test`, run by
 * tests/e2e/test_imgboot_parsers.py. The few gnu-efi library functions the
 * parsers use are re-implemented below.
 */
#include "imgboot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- shims for libefi ---------------------------------------------------- */

VOID SetMem(VOID *b, UINTN n, UINT8 v) { memset(b, v, n); }
VOID CopyMem(VOID *d, CONST VOID *s, UINTN n) { memmove(d, s, n); }
INTN CompareMem(CONST VOID *a, CONST VOID *b, UINTN n) { return memcmp(a, b, n); }
UINTN
StrLen(CONST CHAR16 *s)
{
	UINTN n = 0;

	while (s[n])
		n++;
	return n;
}
INTN
StrnCmp(CONST CHAR16 *a, CONST CHAR16 *b, UINTN n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b || !*a)
			return (INTN)*a - (INTN)*b;
	}
	return 0;
}
INTN StrCmp(CONST CHAR16 *a, CONST CHAR16 *b) { return StrnCmp(a, b, (UINTN)-1); }
VOID
StrCpy(CHAR16 *d, CONST CHAR16 *s)
{
	while ((*d++ = *s++))
		;
}
UINTN Print(CONST CHAR16 *fmt, ...) { (void)fmt; return 0; }

/* ---- helpers --------------------------------------------------------------- */

static int failures, checks;

#define CHECK(cond)                                                                            \
	do {                                                                                   \
		checks++;                                                                      \
		if (!(cond)) {                                                                 \
			failures++;                                                            \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                              \
	} while (0)

/* ASCII -> CHAR16 (static buffers, a few at a time). */
static CHAR16 *
u(const char *s)
{
	static CHAR16 bufs[4][8192];
	static int k;
	CHAR16 *b = bufs[k++ & 3];
	size_t i;

	for (i = 0; s[i] && i + 1 < 8192; i++)
		b[i] = (unsigned char)s[i];
	b[i] = 0;
	return b;
}

static int
eq(const CHAR16 *a, const char *b)
{
	return StrCmp(a, u(b)) == 0;
}

static int
parse(struct img_opts *o, const char *cl, CHAR16 *err)
{
	CHAR16 *s = u(cl);

	opts_init(o);
	err[0] = 0;
	return opts_parse_cmdline(o, s, StrLen(s), err, 256);
}

static int
parse_cfg(struct img_opts *o, const char *cfg, size_t len, CHAR16 *err)
{
	opts_init(o);
	err[0] = 0;
	return opts_parse_config(o, (const CHAR8 *)cfg, len, err, 256);
}

static int
starts(const CHAR16 *s, const char *prefix)
{
	return StrnCmp(s, u(prefix), strlen(prefix)) == 0;
}

/* ---- load options ------------------------------------------------------------ */

static void
test_cmdline(void)
{
	struct img_opts o;
	CHAR16 err[256];
	char big[3000];

	CHECK(parse(&o, "imgboot.efi disk.iso", err) == 0 && eq(o.source, "disk.iso"));
	CHECK(o.mode == IMG_MODE_AUTO && o.memory == IMG_MEM_RESERVED && o.type == IMG_TYPE_AUTO);
	CHECK(eq(o.path, "\\EFI\\BOOT\\BOOTX64.EFI"));
	/* UEFI Shell style argv[0], quotes, '/' in --path, every option. */
	CHECK(parse(&o, "fs0:\\tools\\IMGBOOT.EFI  --blockio --bs-memory --path /EFI/x/grub.efi "
			"--type iso \"my disk.iso\"", err) == 0);
	CHECK(eq(o.source, "my disk.iso") && o.mode == IMG_MODE_BLOCKIO && o.memory == IMG_MEM_BS);
	CHECK(o.type == IMG_TYPE_ISO && eq(o.path, "\\EFI\\x\\grub.efi"));
	CHECK(parse(&o, "--ramdisk --mode blockio --memory reserved http://198.18.0.1/a.img", err) == 0);
	CHECK(o.mode == IMG_MODE_BLOCKIO && opts_is_url(o.source) && !opts_is_url(u("a.img")));
	CHECK(opts_is_url(u("https://x/y")) && !opts_is_url(u("httpx://")) && !opts_is_url(u("")));
	CHECK(parse(&o, "", err) == 0 && o.source[0] == 0 && !o.help);
	CHECK(parse(&o, "   \t ", err) == 0 && o.source[0] == 0);
	CHECK(parse(&o, "imgboot.efi --help", err) == 0 && o.help);
	/* Only argv[0] is skipped for ending in .efi. */
	CHECK(parse(&o, "imgboot.efi other.efi", err) == 0 && eq(o.source, "other.efi"));

	CHECK(parse(&o, "--frobnicate x", err) < 0 && starts(err, "unknown option: --frobnicate"));
	CHECK(parse(&o, "a.img b.img", err) < 0 && starts(err, "more than one image given: b.img"));
	CHECK(parse(&o, "x.img --path", err) < 0 && starts(err, "option needs a value: --path"));
	CHECK(parse(&o, "--type floppy x", err) < 0 && starts(err, "bad value for option: floppy"));
	CHECK(parse(&o, "--mode teleport x", err) < 0);
	CHECK(parse(&o, "--memory lots x", err) < 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	CHECK(parse(&o, big, err) < 0 && starts(err, "argument too long"));

	/* The length bounds the parse: no NUL needed, nothing read past it. */
	{
		CHAR16 raw[8] = { 'a', '.', 'i', 's', 'o', ' ', 'b', 'c' };

		opts_init(&o);
		CHECK(opts_parse_cmdline(&o, raw, 5, err, 256) == 0 && eq(o.source, "a.iso"));
	}
	/* An unterminated quote runs to the end. */
	CHECK(parse(&o, "\"spaced name.img", err) == 0 && eq(o.source, "spaced name.img"));
}

/* ---- key=value documents ----------------------------------------------------- */

static void
test_config(void)
{
	struct img_opts o;
	CHAR16 err[256];
	const char *good = "# netbootd imgboot document\r\n"
			   "url=http://198.18.0.1/quick/image.iso\r\n"
			   "  path = /EFI/BOOT/grubx64.efi  \n"
			   "mode=blockio\nmemory=bs\ntype=disk\nfuture-key=whatever\n\n; note\n";
	char big[6000];

	CHECK(parse_cfg(&o, good, strlen(good), err) == 0);
	CHECK(eq(o.source, "http://198.18.0.1/quick/image.iso"));
	CHECK(eq(o.path, "\\EFI\\BOOT\\grubx64.efi"));
	CHECK(o.mode == IMG_MODE_BLOCKIO && o.memory == IMG_MEM_BS && o.type == IMG_TYPE_DISK);
	/* No trailing newline; the length, not a NUL, ends the document. */
	CHECK(parse_cfg(&o, "url=a.img", 9, err) == 0 && eq(o.source, "a.img"));
	CHECK(parse_cfg(&o, "url=a.imgXXXX", 9, err) == 0 && eq(o.source, "a.img"));
	CHECK(parse_cfg(&o, "type=iso\n", 9, err) == 0 && o.source[0] == 0 && o.type == IMG_TYPE_ISO);
	CHECK(parse_cfg(&o, "", 0, err) == 0);

	CHECK(parse_cfg(&o, "mode=teleport\n", 14, err) < 0 && starts(err, "config: bad value for mode"));
	CHECK(parse_cfg(&o, "justtext\n", 9, err) < 0 && starts(err, "config: line without '='"));
	CHECK(parse_cfg(&o, "url=\n", 5, err) < 0);
	CHECK(parse_cfg(&o, "path=\n", 6, err) < 0);
	CHECK(parse_cfg(&o, "url=a\x01.img\n", 11, err) < 0 && starts(err, "config: bad line"));
	CHECK(parse_cfg(&o, "url=a\xff.img\n", 11, err) < 0);
	/* A NUL ends the line, like a newline. */
	CHECK(parse_cfg(&o, "url=a.img\0mode=x", 16, err) < 0);
	memset(big, 'k', sizeof(big));
	big[0] = 'u', big[1] = 'r', big[2] = 'l', big[3] = '=';
	CHECK(parse_cfg(&o, big, sizeof(big), err) < 0);
	CHECK(parse_cfg(&o, big + 4, 100, err) < 0); /* a key longer than any known */
}

/* ---- DHCP packets as PXE Base Code caches them -------------------------------- */

static void
put_opt(UINT8 *pkt, size_t *at, UINT8 code, const void *val, UINT8 len)
{
	pkt[(*at)++] = code;
	pkt[(*at)++] = len;
	memcpy(pkt + *at, val, len);
	*at += len;
}

static size_t
mkpkt(UINT8 *pkt, const UINT8 siaddr[4])
{
	memset(pkt, 0, 1472);
	pkt[0] = 2;
	memcpy(pkt + 20, siaddr, 4);
	pkt[236] = 99, pkt[237] = 130, pkt[238] = 83, pkt[239] = 99;
	return 240;
}

static void
test_dhcp(void)
{
	UINT8 pkt[1472];
	CHAR16 base[256];
	const UINT8 zero[4] = { 0 }, next[4] = { 198, 18, 0, 1 }, sid[4] = { 10, 0, 0, 254 };
	const UINT8 *o;
	UINT8 olen;
	size_t at;

	at = mkpkt(pkt, next);
	pkt[at++] = 0; /* PAD */
	put_opt(pkt, &at, 54, sid, 4);
	pkt[at++] = 255;
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) && eq(base, "http://198.18.0.1"));
	/* No next server: the server identifier. */
	at = mkpkt(pkt, zero);
	put_opt(pkt, &at, 54, sid, 4);
	pkt[at++] = 255;
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) && eq(base, "http://10.0.0.254"));
	/* A URL boot file name wins, port included. */
	at = mkpkt(pkt, next);
	put_opt(pkt, &at, 67, "http://198.18.7.7:8080/boot/x.efi", 33);
	pkt[at++] = 255;
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) && eq(base, "http://198.18.7.7:8080"));
	/* ... also in the BOOTP file field. */
	at = mkpkt(pkt, next);
	memcpy(pkt + 108, "https://boot.example:8443/imgboot.efi", 37);
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) &&
	      eq(base, "https://boot.example:8443"));
	/* Plain file name: next server on port 80. */
	at = mkpkt(pkt, next);
	memcpy(pkt + 108, "imgboot.efi", 11);
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) && eq(base, "http://198.18.0.1"));

	/* Hostile and broken packets. */
	at = mkpkt(pkt, zero);
	CHECK(!server_from_packet(pkt, sizeof(pkt), base, 256)); /* nothing to go on */
	put_opt(pkt, &at, 54, sid, 3);                            /* wrong length */
	CHECK(!server_from_packet(pkt, sizeof(pkt), base, 256));
	CHECK(!server_from_packet(pkt, 100, base, 256));  /* shorter than BOOTP */
	CHECK(dhcp_option(pkt, 239, 54, &olen) == NULL); /* no room for the cookie */
	at = mkpkt(pkt, zero);
	pkt[239] = 0;
	put_opt(pkt, &at, 54, sid, 4);
	CHECK(dhcp_option(pkt, sizeof(pkt), 54, &olen) == NULL); /* bad magic cookie */
	at = mkpkt(pkt, zero);
	pkt[at++] = 54;
	pkt[at++] = 200; /* length past the end of a short buffer */
	CHECK(dhcp_option(pkt, at + 10, 54, &olen) == NULL);
	CHECK(dhcp_option(pkt, at - 1, 54, &olen) == NULL); /* length byte missing */
	at = mkpkt(pkt, zero);
	put_opt(pkt, &at, 3, next, 4);
	pkt[at++] = 255;
	put_opt(pkt, &at, 54, sid, 4); /* after END: ignored */
	CHECK(dhcp_option(pkt, sizeof(pkt), 54, &olen) == NULL);
	at = mkpkt(pkt, zero);
	put_opt(pkt, &at, 67, "ftp://x/y", 9);
	CHECK(!server_from_packet(pkt, sizeof(pkt), base, 256));
	o = dhcp_option(pkt, sizeof(pkt), 67, &olen);
	CHECK(o && olen == 9 && memcmp(o, "ftp://x/y", 9) == 0);
	/* A URL with a control character in the host is not used. */
	at = mkpkt(pkt, next);
	put_opt(pkt, &at, 67, "http://a\x01b/x", 12);
	pkt[at++] = 255;
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 256) && eq(base, "http://198.18.0.1"));
	/* A tiny output buffer truncates, never overflows. */
	at = mkpkt(pkt, next);
	CHECK(server_from_packet(pkt, sizeof(pkt), base, 8) && eq(base, "http://"));
}

static void
test_small(void)
{
	CHAR8 host[16];
	CHAR16 out[64], mac[18];
	BOOLEAN ok;
	const UINT8 m[6] = { 0x52, 0x54, 0x00, 0xAB, 0xcd, 0x0f }, ip[4] = { 255, 0, 10, 1 };

	url_authority(u("http://198.18.0.1:8080/a/b?c"), host, sizeof(host));
	CHECK(strcmp((char *)host, "198.18.0.1:8080") == 0);
	url_authority(u("https://a-very-long-host-name.example/x"), host, sizeof(host));
	CHECK(strlen((char *)host) == sizeof(host) - 1);
	url_authority(u("nohost"), host, sizeof(host));
	CHECK(strcmp((char *)host, "nohost") == 0);

	CHECK(parse_u64((const CHAR8 *)"18874368", &ok) == 18874368 && ok);
	CHECK(parse_u64((const CHAR8 *)" 42 ", &ok) == 42 && ok);
	parse_u64((const CHAR8 *)"", &ok);
	CHECK(!ok);
	parse_u64((const CHAR8 *)"12a", &ok);
	CHECK(!ok);
	parse_u64((const CHAR8 *)"-1", &ok);
	CHECK(!ok);
	parse_u64((const CHAR8 *)"99999999999999999999999", &ok);
	CHECK(!ok);
	CHECK(parse_u64((const CHAR8 *)"18446744073709551615", &ok) == ~0ULL && ok);

	CHECK(ascii_ieq((const CHAR8 *)"Content-Length", (const CHAR8 *)"content-length"));
	CHECK(!ascii_ieq((const CHAR8 *)"Content-Length", (const CHAR8 *)"Content-Lengthx"));

	CHECK(url_base((const CHAR8 *)"http://h:81", 11, out, 64) && eq(out, "http://h:81"));
	CHECK(!url_base((const CHAR8 *)"http:/", 6, out, 64));
	CHECK(!url_base((const CHAR8 *)"http://h h/", 11, out, 64));

	wire_format_mac(m, mac);
	CHECK(eq(mac, "52:54:00:ab:cd:0f"));
	wire_ip_url(ip, out, 64);
	CHECK(eq(out, "http://255.0.10.1"));

	CHECK(http_status_number(3) == 200 && http_status_number(21) == 404);
	CHECK(http_status_number(41) == 308 && http_status_number(42) == 0);
	CHECK(http_status_number(0xffffffffu) == 0);
}

static int
redirect(const char *from, const char *loc, CHAR16 *out, UINTN cap)
{
	return url_redirect(u(from), (const CHAR8 *)loc, out, cap);
}

static void
test_redirect(void)
{
	CHAR16 out[128];

	/* absolute */
	CHECK(redirect("http://a/x.iso", "http://b:8080/y.iso", out, 128) &&
	      eq(out, "http://b:8080/y.iso"));
	CHECK(redirect("http://a/x.iso", "https://b/y.iso", out, 128) && eq(out, "https://b/y.iso"));
	CHECK(redirect("https://a/x.iso", "https://b/y.iso", out, 128) && eq(out, "https://b/y.iso"));
	/* never off TLS */
	CHECK(!redirect("https://a/x.iso", "http://b/y.iso", out, 128));
	/* scheme-relative, absolute path, relative name */
	CHECK(redirect("https://a:8443/x.iso", "//c/z.iso", out, 128) && eq(out, "https://c/z.iso"));
	CHECK(redirect("http://a:81/d/x.iso?q=1", "/e/y.iso", out, 128) &&
	      eq(out, "http://a:81/e/y.iso"));
	CHECK(redirect("http://a:81/d/x.iso?q=/1", "y.iso", out, 128) &&
	      eq(out, "http://a:81/d/y.iso"));
	CHECK(redirect("http://a/x", "y?v=2", out, 128) && eq(out, "http://a/y?v=2"));
	CHECK(!redirect("http://a", "y.iso", out, 128));
	/* unusable */
	CHECK(!redirect("http://a/x", "", out, 128));
	CHECK(!redirect("http://a/x", "ftp://b/y", out, 128));
	CHECK(!redirect("http://a/x", "HTTP://b/y", out, 128));
	CHECK(!redirect("http://a/x", "/a b", out, 128));
	CHECK(!redirect("http://a/x", "/a\r\nX: y", out, 128));
	CHECK(!redirect("http://a/x", "/\x80", out, 128));
	CHECK(!redirect("tftp://a/x", "/y", out, 128));
	/* exactly fits, one too long */
	CHECK(redirect("http://a/x", "http://b/12", out, 12) && eq(out, "http://b/12"));
	CHECK(!redirect("http://a/x", "http://b/123", out, 12));
	CHECK(!redirect("http://a/x", "/1234", out, 10));
}

/* Random bytes through every parser: ASan/UBSan report any overrun. */
static void
test_random(void)
{
	UINT8 buf[1472];
	CHAR16 cl[600], base[64], err[64];
	struct img_opts o;
	UINT8 olen;
	unsigned i, j, seed = 7;

	for (i = 0; i < 20000; i++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof(buf));

		for (j = 0; j < len; j++)
			buf[j] = (UINT8)rand_r(&seed);
		if (len >= 240 && (i & 1))
			buf[236] = 99, buf[237] = 130, buf[238] = 83, buf[239] = 99;
		(void)dhcp_option(buf, len, (UINT8)(i % 256), &olen);
		(void)server_from_packet(buf, len, base, 64);
		opts_init(&o);
		(void)opts_parse_config(&o, buf, len, err, 64);
		for (j = 0; j < 600; j++)
			cl[j] = (CHAR16)(j < len ? buf[j] % 128 : 0);
		opts_init(&o);
		(void)opts_parse_cmdline(&o, cl, len < 600 ? len : 600, err, 64);
		buf[len < sizeof(buf) ? len : sizeof(buf) - 1] = 0;
		(void)url_redirect(u("http://h/d/f"), buf, base, 1 + i % 64);
	}
	checks++;
}

/* The progress line: percent, MiB and MiB/s with one decimal, and when to print. */
static void
test_progress(void)
{
	struct progress_figures f;

	progress_figures(512ull << 20, 2048ull << 20, 4000, &f);
	CHECK(f.pct == 25 && f.done_mib == 512 && f.total_mib == 2048 && f.rate10 == 1280);
	progress_figures(3ull << 19, 10ull << 20, 1000, &f); /* 1.5 MiB in 1 s */
	CHECK(f.pct == 15 && f.done_mib == 1 && f.rate10 == 15);
	progress_figures(100, 0, 0, &f); /* unknown size, no time yet: no division by zero */
	CHECK(f.pct == 0 && f.rate10 == 0 && f.total_mib == 0);
	progress_figures(300, 200, 1, &f); /* more than announced: capped at 100% */
	CHECK(f.pct == 100);
	progress_figures(64ull << 30, 64ull << 30, 1, &f); /* 64 GiB in 1 ms: no overflow */
	CHECK(f.rate10 == 64ull * 1024 * 10 * 1000);
	CHECK(progress_due(5000, 3999, 10, 9));
	CHECK(!progress_due(5000, 4001, 10, 9));  /* less than a second */
	CHECK(!progress_due(9000, 1000, 10, 10)); /* the percentage did not move */
}

int
main(void)
{
	test_progress();
	test_cmdline();
	test_config();
	test_dhcp();
	test_small();
	test_redirect();
	test_random();
	printf("imgboot host tests: %d checks, %d failures\n", checks, failures);
	return failures ? 1 : 0;
}
