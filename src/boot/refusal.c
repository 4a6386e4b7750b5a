/* The errno -> TFTP error / HTTP status table (refusal.h says why one table). */
#include "boot/refusal.h"

#include <errno.h>
#include <stddef.h>

#include "wire/tftp.h"

static const struct refusal refusals[] = {
	{ ENOENT, TFTP_ENOTFOUND, "file not found", 404, true, false },
	{ ENOTDIR, TFTP_ENOTFOUND, "file not found", 404, true, false },
	{ ENAMETOOLONG, TFTP_ENOTFOUND, "file not found", 414, true, false },
	{ EACCES, TFTP_EACCESS, "access violation", 403, true, true },
	{ EPERM, TFTP_EACCESS, "access violation", 403, true, true },
	{ EISDIR, TFTP_EACCESS, "access violation", 403, true, true },
	{ EXDEV, TFTP_EACCESS, "access violation", 403, true, true },
	{ ELOOP, TFTP_EACCESS, "access violation", 403, true, true },
	{ EROFS, TFTP_EACCESS, "read-only server: writes are refused", 405, false, false },
	{ EPROTONOSUPPORT, TFTP_EBADOP, "unsupported transfer mode", 400, true, false },
	{ EBUSY, TFTP_EUNDEF, "server busy: too many transfers, retry later", 503, true, false },
	{ EUSERS, TFTP_EUNDEF, "too many transfers from your address", 503, true, false },
	{ EFBIG, TFTP_ENOSPACE, "file too large for netascii, use octet", 500, true, false },
	{ EMFILE, TFTP_EUNDEF, "server busy, retry later", 503, true, false },
	{ ENFILE, TFTP_EUNDEF, "server busy, retry later", 503, true, false },
	{ ENOMEM, TFTP_EUNDEF, "out of memory", 503, true, false },
	{ EIO, TFTP_EUNDEF, "cannot read file", 500, true, false },
	{ ENODATA, TFTP_EUNDEF, "cannot read file", 500, true, false },
	{ 0, TFTP_EUNDEF, "cannot open file", 500, true, false },
};

const struct refusal *
refusal_for_errno(int err)
{
	if (err < 0)
		err = -err;
	size_t i = 0;
	while (refusals[i].err != 0 && refusals[i].err != err)
		i++;
	return &refusals[i];
}
