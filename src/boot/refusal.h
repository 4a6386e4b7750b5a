/*
 * What a failure means to the client, on each protocol: the one table from
 * -errno to a TFTP error (code and text, RFC 1350 5) and an HTTP status, so
 * a file that is missing, denied or unreadable gets the same answer over
 * TFTP and HTTP, and a new failure is taught to both servers in one line.
 *
 * The files resolver (files_open) reports ENOENT, ENOTDIR, ENAMETOOLONG,
 * EACCES, EPERM, EISDIR, EXDEV and ELOOP; the servers add the refusals of
 * their own admission rules under errno names that say the same thing:
 *   EROFS            a write request to a read-only server
 *   EPROTONOSUPPORT  a TFTP transfer mode we do not speak
 *   EBUSY            the server-wide transfer cap is full
 *   EUSERS           this client's cap is full
 *   EFBIG            too large for an in-memory conversion (netascii)
 *   EMFILE, ENFILE   out of descriptors: busy, retry later
 */
#ifndef NETBOOTD_BOOT_REFUSAL_H
#define NETBOOTD_BOOT_REFUSAL_H

#include <stdbool.h>
#include <stdint.h>

struct refusal {
	int err;               /* positive errno; 0 ends the table (the fallback row) */
	uint16_t tftp_code;    /* enum tftp_errcode */
	const char *tftp_text; /* the ERROR packet's message */
	int http_status;
	bool counted;          /* an error in the metrics (a write request is not) */
	bool denied;           /* a refusal of access: logged as a warning */
};

/* The row for err (negative or positive errno); never NULL: unknown errors
 * get the fallback row (TFTP 0 "cannot open file", HTTP 500). */
const struct refusal *refusal_for_errno(int err);

#endif
