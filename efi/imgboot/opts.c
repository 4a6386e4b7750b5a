/*
 * Load options and key=value configuration. Pure string handling: no
 * firmware calls other than Print() in opts_usage().
 */
#include "imgboot.h"

void
opts_init(struct img_opts *o)
{
	SetMem(o, sizeof(*o), 0);
	StrCpy(o->path, IMGBOOT_DEFAULT_PATH);
}

void
opts_usage(void)
{
	Print(L"usage: imgboot.efi [--ramdisk|--blockio] [--bs-memory] [--path \\EFI\\BOOT\\BOOTX64.EFI]\n"
	      L"                   [--type iso|disk] [--verbose] FILE|URL\n"
	      L"  FILE         read from imgboot's own device (iPXE initrd, FAT/ESP volume)\n"
	      L"  URL          http:// or https:// URL, downloaded through the firmware's HTTP stack\n"
	      L"  (no image)   read imgboot.cfg beside imgboot.efi, else ask the netbootd that\n"
	      L"               loaded us for http://<server>/boot/<mac>.imgboot\n"
	      L"  --ramdisk    register with EFI_RAM_DISK_PROTOCOL (default when the firmware has it)\n"
	      L"  --blockio    force imgboot's own Block I/O instead of the RAM disk protocol\n"
	      L"  --bs-memory  boot-services memory: faster, but the OS cannot see the disk (no NFIT)\n"
	      L"  --path P     EFI program to start inside the image (default \\EFI\\BOOT\\BOOTX64.EFI)\n"
	      L"  --type T     iso or disk, instead of detecting the type from the image\n"
	      L"config (imgboot.cfg, <mac>.imgboot): key=value lines: url= path= mode=ramdisk|blockio\n"
	      L"  memory=reserved|bs type=iso|disk\n");
}

BOOLEAN
opts_is_url(const CHAR16 *s)
{
	return StrnCmp(s, L"http://", 7) == 0 || StrnCmp(s, L"https://", 8) == 0 ||
	       StrnCmp(s, L"HTTP://", 7) == 0 || StrnCmp(s, L"HTTPS://", 8) == 0;
}

static void
set_err(CHAR16 *err, UINTN errlen, const CHAR16 *what, const CHAR16 *arg)
{
	UINTN n = 0;

	if (errlen == 0)
		return;
	for (; *what && n + 1 < errlen; what++)
		err[n++] = *what;
	for (; arg && *arg && n + 1 < errlen; arg++)
		err[n++] = *arg;
	err[n] = 0;
}

static BOOLEAN
ends_with_efi(const CHAR16 *s)
{
	UINTN n = StrLen(s);
	const CHAR16 *e;

	if (n < 4)
		return FALSE;
	e = s + n - 4;
	return e[0] == '.' && (e[1] | 0x20) == 'e' && (e[2] | 0x20) == 'f' && (e[3] | 0x20) == 'i';
}

static int
set_type(struct img_opts *o, const CHAR16 *v)
{
	if (StrCmp(v, L"iso") == 0 || StrCmp(v, L"cd") == 0)
		o->type = IMG_TYPE_ISO;
	else if (StrCmp(v, L"disk") == 0 || StrCmp(v, L"hd") == 0)
		o->type = IMG_TYPE_DISK;
	else if (StrCmp(v, L"auto") == 0)
		o->type = IMG_TYPE_AUTO;
	else
		return -1;
	return 0;
}

static int
set_mode(struct img_opts *o, const CHAR16 *v)
{
	if (StrCmp(v, L"ramdisk") == 0)
		o->mode = IMG_MODE_RAMDISK;
	else if (StrCmp(v, L"blockio") == 0)
		o->mode = IMG_MODE_BLOCKIO;
	else if (StrCmp(v, L"auto") == 0)
		o->mode = IMG_MODE_AUTO;
	else
		return -1;
	return 0;
}

static int
set_memory(struct img_opts *o, const CHAR16 *v)
{
	if (StrCmp(v, L"reserved") == 0)
		o->memory = IMG_MEM_RESERVED;
	else if (StrCmp(v, L"bs") == 0)
		o->memory = IMG_MEM_BS;
	else
		return -1;
	return 0;
}

/* A path inside the image: accept '/' as well as '\', and add a leading '\'. */
static int
set_path(struct img_opts *o, const CHAR16 *v)
{
	UINTN n = 0;

	if (*v == 0)
		return -1;
	if (*v != '\\' && *v != '/')
		o->path[n++] = '\\';
	for (; *v; v++) {
		if (n + 1 >= IMGBOOT_MAX_ARG)
			return -1;
		o->path[n++] = *v == '/' ? '\\' : *v;
	}
	o->path[n] = 0;
	return 0;
}

/* Next whitespace-separated token; double quotes group (iPXE and the UEFI
 * Shell both pass quoted arguments through as typed). */
static BOOLEAN
next_token(const CHAR16 *s, UINTN len, UINTN *pos, CHAR16 *tok, UINTN toklen, BOOLEAN *toolong)
{
	UINTN i = *pos, n = 0;
	BOOLEAN quoted = FALSE;

	*toolong = FALSE;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= len || s[i] == 0)
		return FALSE;
	for (; i < len && s[i] != 0; i++) {
		if (s[i] == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && (s[i] == ' ' || s[i] == '\t'))
			break;
		if (n + 1 >= toklen) {
			*toolong = TRUE;
			continue;
		}
		tok[n++] = s[i];
	}
	tok[n] = 0;
	*pos = i;
	return TRUE;
}

int
opts_parse_cmdline(struct img_opts *o, const CHAR16 *s, UINTN len, CHAR16 *err, UINTN errlen)
{
	CHAR16 tok[IMGBOOT_MAX_ARG];
	UINTN pos = 0, idx = 0;
	BOOLEAN toolong;
	CHAR16 *want = NULL; /* option waiting for its value */

	while (next_token(s, len, &pos, tok, IMGBOOT_MAX_ARG, &toolong)) {
		if (toolong) {
			set_err(err, errlen, L"argument too long: ", tok);
			return -1;
		}
		/* argv[0]: iPXE passes "<image name> <args>", the UEFI Shell
		 * "<path>\imgboot.efi <args>". A disk image is never a .efi. */
		if (idx++ == 0 && ends_with_efi(tok))
			continue;
		if (want) {
			int r = 0;

			if (StrCmp(want, L"--path") == 0)
				r = set_path(o, tok);
			else if (StrCmp(want, L"--type") == 0)
				r = set_type(o, tok);
			else if (StrCmp(want, L"--mode") == 0)
				r = set_mode(o, tok);
			else if (StrCmp(want, L"--memory") == 0)
				r = set_memory(o, tok);
			if (r < 0) {
				set_err(err, errlen, L"bad value for option: ", tok);
				return -1;
			}
			want = NULL;
			continue;
		}
		if (StrCmp(tok, L"--blockio") == 0) {
			o->mode = IMG_MODE_BLOCKIO;
		} else if (StrCmp(tok, L"--ramdisk") == 0) {
			o->mode = IMG_MODE_RAMDISK;
		} else if (StrCmp(tok, L"--bs-memory") == 0) {
			o->memory = IMG_MEM_BS;
		} else if (StrCmp(tok, L"--reserved-memory") == 0) {
			o->memory = IMG_MEM_RESERVED;
		} else if (StrCmp(tok, L"--verbose") == 0 || StrCmp(tok, L"-v") == 0) {
			o->verbose = TRUE;
		} else if (StrCmp(tok, L"--help") == 0 || StrCmp(tok, L"-h") == 0 ||
			   StrCmp(tok, L"/?") == 0) {
			o->help = TRUE;
		} else if (StrCmp(tok, L"--path") == 0) {
			want = L"--path";
		} else if (StrCmp(tok, L"--type") == 0) {
			want = L"--type";
		} else if (StrCmp(tok, L"--mode") == 0) {
			want = L"--mode";
		} else if (StrCmp(tok, L"--memory") == 0) {
			want = L"--memory";
		} else if (tok[0] == '-' && tok[1] == '-') {
			set_err(err, errlen, L"unknown option: ", tok);
			return -1;
		} else if (o->source[0]) {
			set_err(err, errlen, L"more than one image given: ", tok);
			return -1;
		} else {
			StrCpy(o->source, tok);
		}
	}
	if (want) {
		set_err(err, errlen, L"option needs a value: ", want);
		return -1;
	}
	return 0;
}

int
opts_parse_config(struct img_opts *o, const CHAR8 *s, UINTN len, CHAR16 *err, UINTN errlen)
{
	UINTN i = 0;

	while (i < len) {
		CHAR16 key[32], val[IMGBOOT_MAX_ARG];
		UINTN k = 0, v = 0, end = i;
		BOOLEAN in_val = FALSE, bad = FALSE;
		int r = 0;

		while (end < len && s[end] != '\n' && s[end] != 0)
			end++;
		for (; i < end; i++) {
			CHAR8 c = s[i];

			if (c == '\r')
				continue;
			if (c < 0x20 || c > 0x7e) {
				bad = TRUE;
				break;
			}
			if (!in_val && c == '=') {
				in_val = TRUE;
				continue;
			}
			if (!in_val) {
				if (c == ' ' || c == '\t')
					continue;
				if (k + 1 >= sizeof(key) / sizeof(key[0])) {
					bad = TRUE;
					break;
				}
				key[k++] = c;
			} else {
				if (v == 0 && (c == ' ' || c == '\t'))
					continue;
				if (v + 1 >= IMGBOOT_MAX_ARG) {
					bad = TRUE;
					break;
				}
				val[v++] = c;
			}
		}
		i = end + 1;
		key[k] = 0;
		while (v > 0 && (val[v - 1] == ' ' || val[v - 1] == '\t'))
			v--;
		val[v] = 0;
		if (bad) {
			set_err(err, errlen, L"config: bad line (binary or too long)", NULL);
			return -1;
		}
		if (k == 0 || key[0] == '#' || key[0] == ';')
			continue;
		if (!in_val) {
			set_err(err, errlen, L"config: line without '=': ", key);
			return -1;
		}
		if (StrCmp(key, L"url") == 0 || StrCmp(key, L"image") == 0) {
			if (v == 0)
				r = -1;
			else
				StrCpy(o->source, val);
		} else if (StrCmp(key, L"path") == 0) {
			r = set_path(o, val);
		} else if (StrCmp(key, L"mode") == 0) {
			r = set_mode(o, val);
		} else if (StrCmp(key, L"memory") == 0) {
			r = set_memory(o, val);
		} else if (StrCmp(key, L"type") == 0) {
			r = set_type(o, val);
		}
		if (r < 0) {
			set_err(err, errlen, L"config: bad value for ", key);
			return -1;
		}
	}
	return 0;
}
