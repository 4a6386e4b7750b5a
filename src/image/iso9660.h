/*
 * ISO 9660 read side, enough to find and read files inside a CD image
 * without mounting or extracting it: primary volume, Rock Ridge names
 * (SUSP "NM", continued through "CE"), Joliet names (UCS-2) when there is no
 * Rock Ridge, plain 8.3 names otherwise, and the El Torito boot catalog's
 * platforms. Pure: every byte comes through the reader callback, so a fuzzer
 * can drive it from memory and the daemon from pread(2).
 *
 * Files are single extents: a file's bytes are one contiguous range of the
 * image (offset, size), which is what lets the HTTP and TFTP servers send a
 * kernel straight out of the ISO with sendfile. Multi-extent files (> 4 GiB,
 * ISO 9660 level 3) are refused with -EFBIG.
 */
#ifndef NETBOOTD_IMAGE_ISO9660_H
#define NETBOOTD_IMAGE_ISO9660_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISO_SECTOR 2048
#define ISO_NAME_MAX 255

/* Reads exactly len bytes at off: returns 0, or -errno (a short read is -EIO). */
typedef int (*image_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

struct image_reader {
	image_read_fn read;
	void *ctx;
	uint64_t size; /* bytes in the image */
};

enum iso_names {
	ISO_NAMES_PLAIN,      /* d-characters, ";1" and a trailing '.' dropped, lower case */
	ISO_NAMES_JOLIET,     /* the supplementary volume's UCS-2 names */
	ISO_NAMES_ROCK_RIDGE, /* POSIX names from the "NM" entries */
};

struct iso_volume {
	const struct image_reader *rd;
	uint32_t root_lba;    /* the directory tree being read (primary or Joliet) */
	uint32_t root_size;
	enum iso_names names;
	uint8_t susp_skip;    /* SUSP "SP" LEN_SKP: bytes before each record's entries */
	char volume_id[33];   /* primary volume identifier, trailing spaces dropped */
	uint64_t volume_bytes;
	bool eltorito;        /* a boot record with a catalog */
	bool eltorito_bios;   /* a catalog entry for platform 0 (x86 BIOS) */
	bool eltorito_efi;    /* a catalog entry for platform 0xEF (UEFI) */
};

struct iso_entry {
	char name[ISO_NAME_MAX + 1];
	uint64_t offset; /* byte offset of the file's data in the image */
	uint64_t size;
	bool dir;
};

/*
 * Read the volume descriptors. Returns 0, -EINVAL when this is not an ISO
 * 9660 image (or a damaged one), or the reader's -errno.
 */
int iso_open(const struct image_reader *rd, struct iso_volume *v);

/*
 * Find path ("live/vmlinuz", leading '/' allowed, no "." or "..") below the
 * root. Rock Ridge names match exactly, Joliet and plain names ignoring case.
 * Returns 0 with *out filled, -ENOENT, -ENOTDIR, -EFBIG (multi-extent),
 * -EINVAL (damaged), -ENAMETOOLONG, or the reader's -errno.
 */
int iso_lookup(const struct iso_volume *v, const char *path, struct iso_entry *out);

/* Called per entry ("." and ".." left out); return non-zero to stop. */
typedef int (*iso_list_fn)(void *ctx, const struct iso_entry *e);

/* List a directory (path as for iso_lookup; "" is the root). Returns 0 or -errno. */
int iso_list(const struct iso_volume *v, const char *path, iso_list_fn fn, void *ctx);

/*
 * Read a whole (small) file into buf, NUL-terminated: at most max-1 bytes.
 * Returns the length read, -EFBIG when the file does not fit, or -errno.
 */
long iso_read_file(const struct iso_volume *v, const struct iso_entry *e, char *buf, size_t max);

#endif
