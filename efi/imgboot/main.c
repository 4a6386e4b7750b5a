/*
 * imgboot.efi: read or download a disk image (ISO 9660, GPT, MBR or bare
 * FAT), expose it as a RAM disk and start its \EFI\BOOT\BOOTX64.EFI.
 * On any failure: say what and why, undo everything and return an error so
 * that the boot manager tries its next boot option. See docs/imgboot.md.
 */
#include "imgboot.h"

/* ---- files on imgboot's own device ------------------------------------------ */

static EFI_STATUS
open_own_file(EFI_LOADED_IMAGE *li, const CHAR16 *name, EFI_FILE_HANDLE *out)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root;
	CHAR16 path[IMGBOOT_MAX_ARG];
	EFI_STATUS st;
	UINTN i;

	st = BS->HandleProtocol(li->DeviceHandle, &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st))
		return EFI_NO_MEDIA;
	st = fs->OpenVolume(fs, &root);
	if (EFI_ERROR(st))
		return st;
	for (i = 0; name[i] && i + 1 < IMGBOOT_MAX_ARG; i++)
		path[i] = name[i] == '/' ? '\\' : name[i];
	path[i] = 0;
	st = root->Open(root, out, path, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	return st;
}

static EFI_STATUS
read_own_file(EFI_LOADED_IMAGE *li, const CHAR16 *name, struct image *img, enum img_memory mem)
{
	EFI_FILE_HANDLE f;
	EFI_FILE_INFO *fi;
	EFI_STATUS st;
	UINT64 size, done = 0;
	struct progress p;

	st = open_own_file(li, name, &f);
	if (st == EFI_NO_MEDIA) {
		fail(L"cannot read '%s': imgboot's own device has no file system "
		     L"(loaded over the network? give an http:// URL instead)\n", name);
		return EFI_NOT_FOUND;
	}
	if (EFI_ERROR(st)) {
		fail(L"image '%s' is missing on imgboot's device: %r\n", name, st);
		return st;
	}
	fi = LibFileInfo(f);
	if (!fi) {
		fail(L"cannot get the size of '%s'\n", name);
		f->Close(f);
		return EFI_DEVICE_ERROR;
	}
	size = fi->FileSize;
	FreePool(fi);
	if (size == 0) {
		fail(L"image '%s' is empty\n", name);
		f->Close(f);
		return EFI_NOT_FOUND;
	}
	st = image_alloc(img, size, mem);
	if (EFI_ERROR(st)) {
		fail(L"not enough memory for '%s': %d MiB needed: %r\n", name,
		     (size + (1 << 20) - 1) >> 20, st);
		f->Close(f);
		return st;
	}
	progress_start(&p, L"reading", size);
	while (done < size) {
		UINTN chunk = size - done > (4 << 20) ? (4 << 20) : (UINTN)(size - done);

		st = f->Read(f, &chunk, (UINT8 *)(UINTN)img->base + done);
		if (EFI_ERROR(st) || chunk == 0) {
			fail(L"reading '%s' failed at byte %ld of %ld: %r\n", name, done, size,
			     EFI_ERROR(st) ? st : EFI_END_OF_FILE);
			f->Close(f);
			image_free(img);
			return EFI_ERROR(st) ? st : EFI_END_OF_FILE;
		}
		done += chunk;
		progress_update(&p, done);
	}
	progress_end(&p);
	f->Close(f);
	return EFI_SUCCESS;
}

/* imgboot.cfg beside imgboot.efi, when there are no load options: the way to
 * give options to a BOOTX64.EFI started by the boot manager from a disk. */
static BOOLEAN
read_own_config(EFI_LOADED_IMAGE *li, struct img_opts *o, EFI_STATUS *result)
{
	CHAR16 name[IMGBOOT_MAX_ARG];
	CHAR16 err[128];
	CHAR8 buf[4096];
	EFI_FILE_HANDLE f;
	UINTN len = sizeof(buf) - 1, i, slash = 0;
	EFI_STATUS st;
	CHAR16 *self = NULL;
	EFI_DEVICE_PATH *n;

	name[0] = 0;
	/* The directory of our own file path node, if any. */
	for (n = li->FilePath; n && !IsDevicePathEnd(n); n = NextDevicePathNode(n)) {
		if (DevicePathType(n) == MEDIA_DEVICE_PATH &&
		    DevicePathSubType(n) == MEDIA_FILEPATH_DP)
			self = ((FILEPATH_DEVICE_PATH *)n)->PathName;
	}
	if (self) {
		for (i = 0; self[i] && i + 16 < IMGBOOT_MAX_ARG; i++) {
			name[i] = self[i];
			if (self[i] == '\\')
				slash = i + 1;
		}
	}
	name[slash] = 0;
	StrCat(name, L"imgboot.cfg");
	st = open_own_file(li, name, &f);
	if (EFI_ERROR(st))
		return FALSE;
	st = f->Read(f, &len, buf);
	f->Close(f);
	if (EFI_ERROR(st)) {
		fail(L"cannot read %s: %r\n", name, st);
		*result = st;
		return TRUE;
	}
	buf[len] = 0;
	info(L"options from %s\n", name);
	if (opts_parse_config(o, buf, len, err, sizeof(err) / sizeof(err[0])) < 0) {
		fail(L"%s: %s\n", name, err);
		*result = EFI_INVALID_PARAMETER;
		return TRUE;
	}
	*result = EFI_SUCCESS;
	return TRUE;
}

/* ---- load options ----------------------------------------------------------- */

/* Boot manager entries pass binary optional data (OVMF puts a GUID in the
 * entries it creates itself): only printable UCS-2 counts as a command line. */
static BOOLEAN
options_are_text(const CHAR16 *s, UINTN chars)
{
	UINTN i;

	if (!s || chars == 0)
		return FALSE;
	for (i = 0; i < chars && s[i]; i++) {
		if ((s[i] < 0x20 || s[i] > 0x7e) && s[i] != '\t')
			return FALSE;
	}
	return i > 0;
}

static EFI_STATUS
get_options(EFI_HANDLE self, EFI_LOADED_IMAGE *li, struct img_opts *o)
{
	CHAR16 err[IMGBOOT_MAX_ARG + 64];
	const CHAR16 *cl = li->LoadOptions;
	UINTN chars = li->LoadOptionsSize / sizeof(CHAR16);
	EFI_STATUS st;

	opts_init(o);
	if (options_are_text(cl, chars)) {
		if (opts_parse_cmdline(o, cl, chars, err, sizeof(err) / sizeof(err[0])) < 0) {
			fail(L"%s\n", err);
			opts_usage();
			return EFI_INVALID_PARAMETER;
		}
	}
	if (o->help) {
		opts_usage();
		return EFI_SUCCESS;
	}
	if (o->source[0])
		return EFI_SUCCESS;
	if (read_own_config(li, o, &st)) {
		if (!EFI_ERROR(st) && !o->source[0]) {
			fail(L"imgboot.cfg names no image (url=...)\n");
			return EFI_INVALID_PARAMETER;
		}
		if (!EFI_ERROR(st) && options_are_text(cl, chars))
			opts_parse_cmdline(o, cl, chars, err, sizeof(err) / sizeof(err[0]));
		return st;
	}
	/* Launch path 3: loaded by firmware PXE or HTTP boot with no options. */
	{
		CHAR16 url[IMGBOOT_MAX_ARG];
		CHAR8 buf[4096];
		UINTN len = 0;

		st = net_discover_config_url(self, url, IMGBOOT_MAX_ARG);
		if (EFI_ERROR(st)) {
			fail(L"no image given, no imgboot.cfg, and not loaded from the network\n");
			opts_usage();
			return EFI_INVALID_PARAMETER;
		}
		info(L"asking %s\n", url);
		st = net_fetch_text(self, url, buf, sizeof(buf), &len);
		if (EFI_ERROR(st))
			return st;
		if (opts_parse_config(o, buf, len, err, sizeof(err) / sizeof(err[0])) < 0) {
			fail(L"%s: %s\n", url, err);
			return EFI_INVALID_PARAMETER;
		}
		if (!o->source[0]) {
			fail(L"%s names no image (url=...)\n", url);
			return EFI_NOT_FOUND;
		}
	}
	/* Options given on the command line win over the document's. */
	if (options_are_text(cl, chars))
		opts_parse_cmdline(o, cl, chars, err, sizeof(err) / sizeof(err[0]));
	return EFI_SUCCESS;
}

/* ---- main --------------------------------------------------------------------- */

static EFI_STATUS
run(EFI_HANDLE self)
{
	EFI_LOADED_IMAGE *li;
	struct img_opts o;
	struct image img;
	struct disk d;
	const CHAR16 *why;
	enum img_type detected;
	EFI_STATUS st;

	SetMem(&img, sizeof(img), 0);
	SetMem(&d, sizeof(d), 0);
	st = BS->HandleProtocol(self, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st)) {
		fail(L"no LoadedImage protocol: %r\n", st);
		return st;
	}
	st = get_options(self, li, &o);
	if (EFI_ERROR(st) || o.help)
		return st;

	if (o.verbose) {
		CHAR16 *dev = DevicePathToStr(DevicePathFromHandle(li->DeviceHandle));

		info(L"loaded from device %s\n", dev ? dev : L"?");
		if (dev)
			FreePool(dev);
		info(L"mode %d, memory %d, type %d, path %s\n", o.mode, o.memory, o.type, o.path);
	}
	info(L"image %s\n", o.source);
	if (opts_is_url(o.source))
		st = net_fetch_image(self, o.source, &img, o.memory);
	else
		st = read_own_file(li, o.source, &img, o.memory);
	if (EFI_ERROR(st))
		return st;

	detected = disk_detect(&img, &why);
	if (o.type != IMG_TYPE_AUTO) {
		img.type = o.type;
	} else if (detected == IMG_TYPE_AUTO) {
		fail(L"'%s' is not a disk image: %s\n", o.source, why);
		st = EFI_UNSUPPORTED;
		goto out;
	} else {
		img.type = detected;
	}
	info(L"%s, %ld bytes%s\n", why, img.size,
	     img.padded != img.size ? L" (padded to 4 KiB)" : L"");

	st = disk_register(&img, o.mode, &d);
	if (EFI_ERROR(st))
		goto out;
	st = disk_boot(self, &d, o.path);
out:
	disk_unregister(&d);
	image_free(&img);
	return st;
}

EFI_STATUS
efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab)
{
	EFI_STATUS st;

	InitializeLib(self, systab);
	/* The boot manager armed a 5-minute watchdog before starting us; a
	 * large download over a slow link must not reset the machine. */
	BS->SetWatchdogTimer(0, 0, 0, NULL);
	clock_init();
	Print(L"imgboot " IMGBOOT_VERSION L"\n");
	st = run(self);
	if (EFI_ERROR(st))
		Print(L"imgboot: failed (%r), returning to the firmware\n", st);
	return st;
}
