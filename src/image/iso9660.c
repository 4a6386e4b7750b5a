/*
 * ISO 9660 (ECMA-119) with the Rock Ridge (SUSP/RRIP 1.12) and Joliet name
 * extensions and El Torito's boot catalog: the read side only, over a read
 * callback. Every length read from the image is checked against the sector
 * or record it lives in before it is used; a damaged image is -EINVAL.
 */
#include "image/iso9660.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define VD_FIRST_SECTOR 16
#define VD_MAX 64                 /* descriptors read before giving up on a terminator */
#define VD_BOOT 0
#define VD_PRIMARY 1
#define VD_SUPPLEMENTARY 2
#define VD_TERMINATOR 255
#define DIR_MAX_BYTES (16u << 20) /* one directory's extent; real ones are KiBs */
#define DEPTH_MAX 32
#define CE_MAX 8                  /* SUSP continuation areas followed per record */
#define FLAG_DIR 0x02
#define FLAG_MULTI_EXTENT 0x80
#define ELTORITO_PLATFORM_X86 0x00
#define ELTORITO_PLATFORM_EFI 0xef

static uint32_t
rd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
rd_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int
read_sector(const struct image_reader *rd, uint64_t lba, uint8_t *buf)
{
	uint64_t off = lba * ISO_SECTOR;
	if (lba > UINT64_MAX / ISO_SECTOR || off + ISO_SECTOR > rd->size)
		return -EINVAL;
	return rd->read(rd->ctx, off, buf, ISO_SECTOR);
}

/*
 * El Torito: the catalog's validation entry names the first platform, and
 * each section header (0x90, 0x91 for the last) names another. We only say
 * which platforms are there: BIOS (0) and UEFI (0xEF).
 */
static void
eltorito_platforms(const struct image_reader *rd, uint32_t catalog_lba, struct iso_volume *v)
{
	uint8_t sec[ISO_SECTOR];
	if (read_sector(rd, catalog_lba, sec) < 0 || sec[0] != 0x01 || sec[30] != 0x55 ||
	    sec[31] != 0xaa)
		return;
	v->eltorito = true;
	uint8_t platform = sec[1];
	for (size_t off = 32; off + 32 <= ISO_SECTOR; off += 32) {
		uint8_t t = sec[off];
		if (t == 0x90 || t == 0x91) {
			platform = sec[off + 1];
		} else if (t == 0x88) { /* a bootable entry for the current platform */
			if (platform == ELTORITO_PLATFORM_X86)
				v->eltorito_bios = true;
			else if (platform == ELTORITO_PLATFORM_EFI)
				v->eltorito_efi = true;
		} else if (t == 0x00 && off > 32) {
			break;
		}
	}
}

/* Joliet levels 1-3 are announced by escape sequences %/@, %/C and %/E. */
static bool
is_joliet(const uint8_t *vd)
{
	const uint8_t *esc = vd + 88;
	return esc[0] == '%' && esc[1] == '/' && (esc[2] == '@' || esc[2] == 'C' || esc[2] == 'E');
}

static int
root_record(const uint8_t *vd, uint32_t *lba, uint32_t *size)
{
	const uint8_t *r = vd + 156;
	if (r[0] < 34 || !(r[25] & FLAG_DIR))
		return -EINVAL;
	*lba = rd_le32(r + 2);
	*size = rd_le32(r + 10);
	return 0;
}

/* The first record of the root ("."): a SUSP "SP" entry says Rock Ridge may follow. */
static void
detect_susp(const struct image_reader *rd, struct iso_volume *v)
{
	uint8_t sec[ISO_SECTOR];
	if (read_sector(rd, v->root_lba, sec) < 0)
		return;
	uint8_t len = sec[0];
	uint8_t nlen = sec[32];
	size_t su = 33 + nlen + ((nlen & 1) ? 0 : 1);
	if (len < 34 || su + 7 > len)
		return;
	const uint8_t *sp = sec + su;
	if (sp[0] == 'S' && sp[1] == 'P' && sp[2] >= 7 && sp[4] == 0xbe && sp[5] == 0xef) {
		v->names = ISO_NAMES_ROCK_RIDGE;
		v->susp_skip = sp[6];
	}
}

int
iso_open(const struct image_reader *rd, struct iso_volume *v)
{
	uint8_t sec[ISO_SECTOR];
	bool primary = false;
	uint32_t joliet_lba = 0, joliet_size = 0;

	memset(v, 0, sizeof(*v));
	v->rd = rd;
	for (unsigned i = 0; i < VD_MAX; i++) {
		int r = read_sector(rd, VD_FIRST_SECTOR + i, sec);
		/* A set without its terminator still has its primary volume: use it. */
		if (r == -EINVAL && primary)
			break;
		if (r < 0)
			return r;
		if (memcmp(sec + 1, "CD001", 5) != 0) {
			if (primary)
				break;
			return -EINVAL;
		}
		if (sec[0] == VD_TERMINATOR)
			break;
		if (sec[0] == VD_PRIMARY && !primary) {
			if (root_record(sec, &v->root_lba, &v->root_size) < 0 ||
			    rd_le16(sec + 128) != ISO_SECTOR)
				return -EINVAL;
			memcpy(v->volume_id, sec + 40, 32);
			for (int k = 31; k >= 0 && (v->volume_id[k] == ' ' || v->volume_id[k] == '\0'); k--)
				v->volume_id[k] = '\0';
			v->volume_bytes = (uint64_t)rd_le32(sec + 80) * ISO_SECTOR;
			primary = true;
		} else if (sec[0] == VD_SUPPLEMENTARY && is_joliet(sec) && !joliet_lba) {
			if (root_record(sec, &joliet_lba, &joliet_size) < 0)
				joliet_lba = 0;
		} else if (sec[0] == VD_BOOT && memcmp(sec + 7, "EL TORITO SPECIFICATION", 23) == 0) {
			eltorito_platforms(rd, rd_le32(sec + 0x47), v);
		}
	}
	if (!primary)
		return -EINVAL;
	v->names = ISO_NAMES_PLAIN;
	detect_susp(rd, v);
	if (v->names != ISO_NAMES_ROCK_RIDGE && joliet_lba) {
		v->names = ISO_NAMES_JOLIET;
		v->root_lba = joliet_lba;
		v->root_size = joliet_size;
	}
	return 0;
}

/* ---- names ------------------------------------------------------------------ */

/* Append bytes to a bounded name; false when it would not fit. */
static bool
name_append(char *name, size_t *len, const uint8_t *p, size_t n)
{
	if (*len + n > ISO_NAME_MAX)
		return false;
	memcpy(name + *len, p, n);
	*len += n;
	name[*len] = '\0';
	return true;
}

/*
 * Walk the SUSP entries of one system use area, collecting "NM" pieces and
 * the next continuation area ("CE"). Returns 1 when the name is complete,
 * 0 to go on (a CE set or no NM here), -EINVAL when damaged.
 */
static int
susp_names(const uint8_t *p, size_t n, char *name, size_t *len, bool *have_nm, uint64_t *ce_off,
           uint32_t *ce_len)
{
	size_t i = 0;
	bool more = false;
	*ce_len = 0;
	while (i + 4 <= n) {
		uint8_t elen = p[i + 2];
		if (elen < 4 || elen > n - i)
			return -EINVAL;
		const uint8_t *e = p + i;
		if (e[0] == 'S' && e[1] == 'T')
			break;
		if (e[0] == 'C' && e[1] == 'E' && elen >= 28) {
			*ce_off = (uint64_t)rd_le32(e + 4) * ISO_SECTOR + rd_le32(e + 12);
			*ce_len = rd_le32(e + 20);
		} else if (e[0] == 'N' && e[1] == 'M' && elen >= 5) {
			uint8_t flags = e[4];
			*have_nm = true;
			if (flags & 0x06) /* CURRENT or PARENT: "." and "..", not a name */
				return 1;
			if (!name_append(name, len, e + 5, elen - 5u))
				return -EINVAL;
			more = flags & 0x01;
		}
		i += elen;
	}
	return *have_nm && !more ? 1 : 0;
}

static int
rock_ridge_name(const struct iso_volume *v, const uint8_t *su, size_t sulen, char *name)
{
	size_t len = 0;
	bool have_nm = false;
	uint64_t ce_off = 0;
	uint32_t ce_len = 0;
	uint8_t area[ISO_SECTOR];

	name[0] = '\0';
	if (sulen < v->susp_skip)
		return -EINVAL;
	int r = susp_names(su + v->susp_skip, sulen - v->susp_skip, name, &len, &have_nm, &ce_off,
	                   &ce_len);
	for (int hops = 0; r == 0 && ce_len > 0; hops++) {
		if (hops >= CE_MAX || ce_len > ISO_SECTOR || ce_off + ce_len > v->rd->size)
			return -EINVAL;
		uint32_t n = ce_len;
		r = v->rd->read(v->rd->ctx, ce_off, area, n);
		if (r < 0)
			return r;
		r = susp_names(area, n, name, &len, &have_nm, &ce_off, &ce_len);
	}
	if (r < 0)
		return r;
	return have_nm && len > 0 ? 0 : -ENOENT; /* no NM: use the plain name */
}

static void
plain_name(const uint8_t *id, size_t n, char *name)
{
	size_t len = 0;
	for (size_t i = 0; i < n && id[i] != ';' && len < ISO_NAME_MAX; i++)
		name[len++] = (char)tolower(id[i]);
	if (len > 0 && name[len - 1] == '.')
		len--; /* "VMLINUZ." is a name with an empty extension */
	name[len] = '\0';
}

/* UCS-2 big-endian to UTF-8; ";1" dropped as for plain names. */
static void
joliet_name(const uint8_t *id, size_t n, char *name)
{
	size_t len = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		unsigned c = (unsigned)id[i] << 8 | id[i + 1];
		if (c == ';')
			break;
		if (c < 0x80) {
			if (len + 1 > ISO_NAME_MAX)
				break;
			name[len++] = (char)c;
		} else if (c < 0x800) {
			if (len + 2 > ISO_NAME_MAX)
				break;
			name[len++] = (char)(0xc0 | c >> 6);
			name[len++] = (char)(0x80 | (c & 0x3f));
		} else {
			if (len + 3 > ISO_NAME_MAX)
				break;
			name[len++] = (char)(0xe0 | c >> 12);
			name[len++] = (char)(0x80 | ((c >> 6) & 0x3f));
			name[len++] = (char)(0x80 | (c & 0x3f));
		}
	}
	name[len] = '\0';
}

/* ---- directories ------------------------------------------------------------ */

/*
 * Call fn for each entry of the directory at (lba, size). Records never
 * cross a sector; a zero length byte means "the rest of this sector is
 * padding". Returns fn's non-zero value, 0 at the end, or -errno.
 */
static int
dir_walk(const struct iso_volume *v, uint32_t lba, uint32_t size, iso_list_fn fn, void *ctx)
{
	uint8_t sec[ISO_SECTOR];
	struct iso_entry e;

	if (size > DIR_MAX_BYTES)
		return -EINVAL;
	for (uint32_t done = 0; done < size; done += ISO_SECTOR) {
		int r = read_sector(v->rd, (uint64_t)lba + done / ISO_SECTOR, sec);
		if (r < 0)
			return r;
		size_t end = size - done < ISO_SECTOR ? size - done : ISO_SECTOR;
		for (size_t off = 0; off < end;) {
			const uint8_t *rec = sec + off;
			uint8_t len = rec[0];
			if (len == 0)
				break;
			if (len < 34 || off + len > ISO_SECTOR)
				return -EINVAL;
			uint8_t nlen = rec[32];
			if (33u + nlen > len)
				return -EINVAL;
			off += len;
			/* "." and ".." are the one-byte identifiers 0 and 1. */
			if (nlen == 1 && (rec[33] == 0 || rec[33] == 1))
				continue;
			memset(&e, 0, sizeof(e));
			if (rec[25] & FLAG_MULTI_EXTENT) {
				e.size = UINT64_MAX; /* refused by lookup, skipped by listings */
			} else {
				e.size = rd_le32(rec + 10);
			}
			e.offset = (uint64_t)rd_le32(rec + 2) * ISO_SECTOR;
			e.dir = rec[25] & FLAG_DIR;
			size_t su = 33u + nlen + ((nlen & 1) ? 0 : 1);
			int nr = -ENOENT;
			if (v->names == ISO_NAMES_ROCK_RIDGE && su <= len)
				nr = rock_ridge_name(v, rec + su, len - su, e.name);
			if (nr == -EINVAL)
				return -EINVAL;
			if (nr < 0) {
				if (v->names == ISO_NAMES_JOLIET)
					joliet_name(rec + 33, nlen, e.name);
				else
					plain_name(rec + 33, nlen, e.name);
			}
			if (e.name[0] == '\0')
				continue;
			if (e.size != UINT64_MAX && e.offset + e.size > v->rd->size && !e.dir)
				return -EINVAL; /* a file past the end of the image */
			r = fn(ctx, &e);
			if (r)
				return r;
		}
	}
	return 0;
}

struct find_ctx {
	const char *want;
	size_t wantlen;
	bool exact;
	struct iso_entry *out;
};

static int
find_cb(void *ctx, const struct iso_entry *e)
{
	struct find_ctx *f = ctx;
	if (strlen(e->name) != f->wantlen)
		return 0;
	if (f->exact ? memcmp(e->name, f->want, f->wantlen) != 0
	             : strncasecmp(e->name, f->want, f->wantlen) != 0)
		return 0;
	*f->out = *e;
	return 1;
}

/* Resolve path to an entry; the root itself is a directory entry with no name. */
static int
resolve(const struct iso_volume *v, const char *path, struct iso_entry *out)
{
	memset(out, 0, sizeof(*out));
	out->dir = true;
	out->offset = (uint64_t)v->root_lba * ISO_SECTOR;
	out->size = v->root_size;
	const char *p = path;
	for (int depth = 0;; depth++) {
		while (*p == '/')
			p++;
		if (!*p)
			return 0;
		if (depth >= DEPTH_MAX)
			return -EINVAL;
		size_t n = strcspn(p, "/");
		if (n > ISO_NAME_MAX)
			return -ENAMETOOLONG;
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return -ENOENT;
		if (!out->dir)
			return -ENOTDIR;
		struct iso_entry found;
		struct find_ctx f = { .want = p, .wantlen = n,
		                      .exact = v->names == ISO_NAMES_ROCK_RIDGE, .out = &found };
		uint64_t lba = out->offset / ISO_SECTOR;
		if (out->size > UINT32_MAX || lba > UINT32_MAX)
			return -EINVAL;
		int r = dir_walk(v, (uint32_t)lba, (uint32_t)out->size, find_cb, &f);
		if (r < 0)
			return r;
		if (r == 0)
			return -ENOENT;
		*out = found;
		if (out->size == UINT64_MAX)
			return -EFBIG;
		p += n;
	}
}

int
iso_lookup(const struct iso_volume *v, const char *path, struct iso_entry *out)
{
	int r = resolve(v, path, out);
	if (r == 0 && out->name[0] == '\0')
		return -EISDIR; /* the root */
	return r;
}

struct list_ctx {
	iso_list_fn fn;
	void *ctx;
};

static int
list_cb(void *ctx, const struct iso_entry *e)
{
	struct list_ctx *l = ctx;
	if (e->size == UINT64_MAX)
		return 0;
	return l->fn(l->ctx, e);
}

int
iso_list(const struct iso_volume *v, const char *path, iso_list_fn fn, void *ctx)
{
	struct iso_entry d;
	int r = resolve(v, path, &d);
	if (r < 0)
		return r;
	if (!d.dir)
		return -ENOTDIR;
	uint64_t lba = d.offset / ISO_SECTOR;
	if (d.size > UINT32_MAX || lba > UINT32_MAX)
		return -EINVAL;
	struct list_ctx l = { fn, ctx };
	r = dir_walk(v, (uint32_t)lba, (uint32_t)d.size, list_cb, &l);
	return r < 0 ? r : 0;
}

long
iso_read_file(const struct iso_volume *v, const struct iso_entry *e, char *buf, size_t max)
{
	if (max == 0 || e->dir)
		return -EINVAL;
	if (e->size >= max)
		return -EFBIG;
	if (e->offset + e->size > v->rd->size)
		return -EINVAL;
	int r = e->size ? v->rd->read(v->rd->ctx, e->offset, buf, (size_t)e->size) : 0;
	if (r < 0)
		return r;
	buf[e->size] = '\0';
	return (long)e->size;
}
