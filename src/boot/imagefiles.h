/*
 * Disk images seen from inside: inspection at start-up (what each image
 * profile's image is, image/inspect.h), files inside an image served as
 * image/PROFILE/PATH straight out of the image file (byte ranges, no
 * extraction), and `netbootd inspect IMAGE`.
 */
#ifndef NETBOOTD_BOOT_IMAGEFILES_H
#define NETBOOTD_BOOT_IMAGEFILES_H

#include <stdio.h>

#include "boot/files.h"
#include "image/inspect.h"
#include "model/bootconf.h"

/* Inspect an open image file (fd is borrowed). Returns 0 or -errno. */
int imagefiles_inspect_fd(int fd, uint64_t size, struct image_info *info);

/*
 * Start-up: inspect every image profile's image that netbootd serves itself
 * (URLs are left alone), log what it is and which method each firmware
 * gets, and keep the result in the profile for the planner. An image that
 * cannot be read is logged and left to the other methods. Returns 0, or -1
 * when out of memory.
 */
int imagefiles_setup(struct files *files, struct bootconf *bc);

/*
 * Serve image/PROFILE/PATH: the file PATH inside profile PROFILE's image,
 * as a range of the image file (src->fd, src->offset, src->size). Only for
 * image profiles whose image was recognised at start-up. Returns 0, -ENOENT
 * when relpath is not such a name or not in the image, or another -errno.
 */
int imagefiles_open(struct files *files, const struct bootconf *bc, const char *relpath,
                    struct file_source *src);

/* What inspect prints: the image, its layout and each method's verdict per firmware. */
void imagefiles_report(FILE *out, const char *name, const struct image_info *info);

/* The subcommand: argv[0] is "inspect". Returns the exit status. */
int imagefiles_inspect_main(int argc, char **argv);

#endif
