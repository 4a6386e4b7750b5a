/*
 * What the boot layer works with, handed down from main: the settings, the
 * root, file lookup and the timeline. Nothing of the servers above it
 * (daemon.h holds those, with one of these inside).
 */
#ifndef NETBOOTD_BOOT_CONTEXT_H
#define NETBOOTD_BOOT_CONTEXT_H

struct bootonce;
struct config;
struct decisions;
struct files;
struct timeline;

struct boot_context {
	struct config *cfg;
	int rootfd;                 /* --root, opened once; every file is opened beneath it */
	struct files *files;        /* name -> generated document, file under root, or boot loader */
	struct timeline *timeline;  /* per-machine boot progress; NULL in some tests */
	struct bootonce *bootonce;  /* boot-once machines that booted; NULL: none recorded */
	struct decisions *decisions;/* the decision API's answers; NULL: no decision-api */
};

#endif
