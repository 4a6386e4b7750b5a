/*
 * The image as a disk: memory, type detection, registration (RAM disk
 * protocol or our own Block I/O) and starting the loader inside it.
 */
#include "imgboot.h"

static EFI_GUID ramdisk_proto_guid = RAM_DISK_PROTOCOL_GUID;
static EFI_GUID ramdisk_disk_guid = RAM_DISK_VIRTUAL_DISK_GUID;
static EFI_GUID ramdisk_cd_guid = RAM_DISK_VIRTUAL_CD_GUID;

#define PAGE 4096ULL

EFI_STATUS
image_alloc(struct image *img, UINT64 size, enum img_memory memory)
{
	EFI_STATUS st;
	EFI_PHYSICAL_ADDRESS addr = 0;
	UINT64 padded;

	if (size == 0)
		return EFI_INVALID_PARAMETER;
	/* RamDiskDxe's block size is the largest power of two <= 512 that
	 * divides the size, and ISO 9660 wants 2048: pad to whole pages so
	 * every layout gets 512-byte blocks and no partial sector. */
	padded = (size + PAGE - 1) & ~(PAGE - 1);
	if (padded < size || padded / PAGE > (UINT64)(UINTN)-1)
		return EFI_OUT_OF_RESOURCES;
	/* Only EfiReservedMemoryType gets an ACPI NFIT entry from RamDiskDxe,
	 * which is what lets Linux (nfit + nd_pmem) find the disk after
	 * ExitBootServices; boot-services memory is returned to the OS. */
	st = BS->AllocatePages(AllocateAnyPages,
			       memory == IMG_MEM_RESERVED ? EfiReservedMemoryType :
							    EfiBootServicesData,
			       (UINTN)(padded / PAGE), &addr);
	if (EFI_ERROR(st))
		return st;
	img->base = addr;
	img->pages = (UINTN)(padded / PAGE);
	img->size = size;
	img->padded = padded;
	img->memory = memory;
	SetMem((UINT8 *)(UINTN)addr + size, (UINTN)(padded - size), 0);
	return EFI_SUCCESS;
}

void
image_free(struct image *img)
{
	if (img->base)
		BS->FreePages(img->base, img->pages);
	img->base = 0;
	img->pages = 0;
}

/* ---- type detection ------------------------------------------------------ */

static UINT16
rd_le16(const UINT8 *p)
{
	return (UINT16)(p[0] | (p[1] << 8));
}

static BOOLEAN
is_fat_bpb(const UINT8 *b)
{
	UINT16 bps = rd_le16(b + 11);

	/* Jump instruction, a sane sector size and a non-zero cluster size:
	 * the same test as Linux's and EDK2's FAT probes, roughly. */
	if (!(b[0] == 0xEB || b[0] == 0xE9))
		return FALSE;
	if (bps != 512 && bps != 1024 && bps != 2048 && bps != 4096)
		return FALSE;
	if (b[13] == 0 || (b[13] & (b[13] - 1)) != 0)
		return FALSE;
	return CompareMem(b + 54, "FAT", 3) == 0 || CompareMem(b + 82, "FAT32", 5) == 0;
}

enum img_type
disk_detect(const struct image *img, const CHAR16 **why)
{
	const UINT8 *b = (const UINT8 *)(UINTN)img->base;
	BOOLEAN mbr;

	*why = L"no ISO 9660, GPT, MBR or FAT signature";
	if (img->size >= 0x8000 + 2048 && CompareMem(b + 0x8001, "CD001", 5) == 0) {
		*why = L"ISO 9660 (CD)";
		return IMG_TYPE_ISO;
	}
	if (img->size < 1024)
		return IMG_TYPE_AUTO;
	mbr = b[510] == 0x55 && b[511] == 0xAA;
	if (CompareMem(b + 512, "EFI PART", 8) == 0) {
		*why = L"GPT disk";
		return IMG_TYPE_DISK;
	}
	if (mbr && is_fat_bpb(b)) {
		*why = L"FAT superfloppy";
		return IMG_TYPE_DISK;
	}
	if (mbr) {
		UINTN i;

		for (i = 0; i < 4; i++) {
			const UINT8 *e = b + 446 + 16 * i;

			if ((e[0] == 0 || e[0] == 0x80) && e[4] != 0) {
				*why = L"MBR disk";
				return IMG_TYPE_DISK;
			}
		}
	}
	return IMG_TYPE_AUTO;
}

/* ---- our own Block I/O (fallback when there is no RAM disk protocol) ----- */

struct own_disk {
	EFI_BLOCK_IO_PROTOCOL blkio;
	EFI_BLOCK_IO_MEDIA media;
	struct {
		RAM_DISK_DEVICE_PATH rd;
		EFI_DEVICE_PATH_PROTOCOL end;
	} __attribute__((packed)) dp;
	UINT8 *base;
	UINT64 size;
};

static struct own_disk own;

static EFI_STATUS EFIAPI
own_reset(EFI_BLOCK_IO_PROTOCOL *This, BOOLEAN Ext)
{
	(void)This;
	(void)Ext;
	return EFI_SUCCESS;
}

static EFI_STATUS
own_check(UINT32 MediaId, EFI_LBA Lba, UINTN BufferSize, VOID *Buffer)
{
	UINT64 bs = own.media.BlockSize;

	if (MediaId != own.media.MediaId)
		return EFI_MEDIA_CHANGED;
	if (Buffer == NULL)
		return EFI_INVALID_PARAMETER;
	if (BufferSize % bs != 0)
		return EFI_BAD_BUFFER_SIZE;
	if (Lba > own.media.LastBlock ||
	    BufferSize / bs > own.media.LastBlock - Lba + 1)
		return EFI_INVALID_PARAMETER;
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI
own_read(EFI_BLOCK_IO_PROTOCOL *This, UINT32 MediaId, EFI_LBA Lba, UINTN BufferSize, VOID *Buffer)
{
	EFI_STATUS st;

	(void)This;
	if (BufferSize == 0)
		return EFI_SUCCESS;
	st = own_check(MediaId, Lba, BufferSize, Buffer);
	if (EFI_ERROR(st))
		return st;
	CopyMem(Buffer, own.base + Lba * own.media.BlockSize, BufferSize);
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI
own_write(EFI_BLOCK_IO_PROTOCOL *This, UINT32 MediaId, EFI_LBA Lba, UINTN BufferSize, VOID *Buffer)
{
	EFI_STATUS st;

	(void)This;
	if (own.media.ReadOnly)
		return EFI_WRITE_PROTECTED;
	if (BufferSize == 0)
		return EFI_SUCCESS;
	st = own_check(MediaId, Lba, BufferSize, Buffer);
	if (EFI_ERROR(st))
		return st;
	CopyMem(own.base + Lba * own.media.BlockSize, Buffer, BufferSize);
	return EFI_SUCCESS;
}

static EFI_STATUS EFIAPI
own_flush(EFI_BLOCK_IO_PROTOCOL *This)
{
	(void)This;
	return EFI_SUCCESS;
}

static EFI_STATUS
own_install(struct image *img, struct disk *d)
{
	EFI_STATUS st;
	UINT64 end = img->base + img->padded - 1;

	SetMem(&own, sizeof(own), 0);
	own.base = (UINT8 *)(UINTN)img->base;
	own.size = img->padded;
	/* 2048-byte blocks make PartitionDxe read an ISO through El Torito,
	 * like a real CD; 512 for disks (GPT, MBR and FAT all assume it). */
	own.media.BlockSize = img->type == IMG_TYPE_ISO ? 2048 : 512;
	if (img->padded % own.media.BlockSize)
		own.media.BlockSize = 512;
	own.media.MediaId = 1;
	own.media.MediaPresent = TRUE;
	own.media.ReadOnly = img->type == IMG_TYPE_ISO;
	own.media.IoAlign = 0;
	own.media.LastBlock = img->padded / own.media.BlockSize - 1;
	own.blkio.Revision = EFI_BLOCK_IO_INTERFACE_REVISION;
	own.blkio.Media = &own.media;
	own.blkio.Reset = own_reset;
	own.blkio.ReadBlocks = own_read;
	own.blkio.WriteBlocks = own_write;
	own.blkio.FlushBlocks = own_flush;

	/* The standard RAM disk node describes exactly this; RamDiskDxe only
	 * looks after the disks registered with it, so there is no clash. */
	own.dp.rd.Header.Type = MEDIA_DEVICE_PATH;
	own.dp.rd.Header.SubType = MEDIA_RAM_DISK_DP;
	own.dp.rd.Header.Length[0] = sizeof(own.dp.rd);
	own.dp.rd.Header.Length[1] = 0;
	own.dp.rd.StartingAddr[0] = (UINT32)img->base;
	own.dp.rd.StartingAddr[1] = (UINT32)(img->base >> 32);
	own.dp.rd.EndingAddr[0] = (UINT32)end;
	own.dp.rd.EndingAddr[1] = (UINT32)(end >> 32);
	CopyMem(&own.dp.rd.TypeGuid, img->type == IMG_TYPE_ISO ? &ramdisk_cd_guid : &ramdisk_disk_guid,
		sizeof(EFI_GUID));
	own.dp.rd.Instance = 0x1b00; /* "imgboot", distinct from RamDiskDxe's 0.. */
	own.dp.end.Type = END_DEVICE_PATH_TYPE;
	own.dp.end.SubType = END_ENTIRE_DEVICE_PATH_SUBTYPE;
	own.dp.end.Length[0] = sizeof(own.dp.end);
	own.dp.end.Length[1] = 0;

	d->handle = NULL;
	st = BS->InstallMultipleProtocolInterfaces(&d->handle, &BlockIoProtocol, &own.blkio,
						   &DevicePathProtocol, &own.dp, NULL);
	if (EFI_ERROR(st)) {
		fail(L"cannot install Block I/O: %r\n", st);
		d->handle = NULL;
		return st;
	}
	d->own_installed = TRUE;
	/* Recursive: partitions, then file systems on them. */
	st = BS->ConnectController(d->handle, NULL, NULL, TRUE);
	if (EFI_ERROR(st) && st != EFI_NOT_FOUND)
		info(L"ConnectController: %r (continuing)\n", st);
	return EFI_SUCCESS;
}

EFI_STATUS
disk_register(struct image *img, enum img_mode mode, struct disk *d)
{
	RAM_DISK_PROTOCOL *rd = NULL;
	EFI_DEVICE_PATH *dp = NULL;
	EFI_STATUS st;

	SetMem(d, sizeof(*d), 0);
	if (mode != IMG_MODE_BLOCKIO) {
		st = BS->LocateProtocol(&ramdisk_proto_guid, NULL, (void **)&rd);
		if (EFI_ERROR(st)) {
			rd = NULL;
			if (mode == IMG_MODE_RAMDISK) {
				fail(L"the firmware has no EFI_RAM_DISK_PROTOCOL (%r)\n", st);
				return st;
			}
			info(L"no EFI_RAM_DISK_PROTOCOL in this firmware: using imgboot's own Block I/O\n");
		}
	}
	if (rd) {
		st = rd->Register(img->base, img->padded,
				  img->type == IMG_TYPE_ISO ? &ramdisk_cd_guid : &ramdisk_disk_guid,
				  NULL, &dp);
		if (EFI_ERROR(st) && mode == IMG_MODE_AUTO) {
			info(L"RAM disk protocol refused the image (%r): using imgboot's own Block I/O\n",
			     st);
			rd = NULL;
		} else if (EFI_ERROR(st)) {
			fail(L"RAM disk protocol refused the image: %r\n", st);
			return st;
		}
	}
	if (rd) {
		EFI_DEVICE_PATH *walk;

		d->ramdisk = TRUE;
		d->ramdisk_dp = dp;
		walk = dp;
		st = BS->LocateDevicePath(&BlockIoProtocol, &walk, &d->handle);
		if (EFI_ERROR(st)) {
			fail(L"no Block I/O on the registered RAM disk: %r\n", st);
			disk_unregister(d);
			return st;
		}
		/* RamDiskDxe connects the new handle itself; connecting again is
		 * harmless and covers firmware that does not. */
		BS->ConnectController(d->handle, NULL, NULL, TRUE);
		info(L"registered with the RAM disk protocol (%s, %s memory)\n",
		     img->type == IMG_TYPE_ISO ? L"virtual CD" : L"virtual disk",
		     img->memory == IMG_MEM_RESERVED ? L"reserved" : L"boot-services");
		return EFI_SUCCESS;
	}
	st = own_install(img, d);
	if (EFI_ERROR(st))
		return st;
	info(L"registered with imgboot's own Block I/O (%d-byte blocks, %s memory)\n",
	     own.media.BlockSize, img->memory == IMG_MEM_RESERVED ? L"reserved" : L"boot-services");
	return EFI_SUCCESS;
}

void
disk_unregister(struct disk *d)
{
	if (d->ramdisk && d->ramdisk_dp) {
		RAM_DISK_PROTOCOL *rd = NULL;

		if (!EFI_ERROR(BS->LocateProtocol(&ramdisk_proto_guid, NULL, (void **)&rd))) {
			EFI_STATUS st = rd->Unregister(d->ramdisk_dp);

			if (EFI_ERROR(st))
				fail(L"RAM disk Unregister: %r\n", st);
		}
		FreePool(d->ramdisk_dp);
	}
	if (d->own_installed && d->handle) {
		EFI_STATUS st;

		BS->DisconnectController(d->handle, NULL, NULL);
		st = BS->UninstallMultipleProtocolInterfaces(d->handle, &BlockIoProtocol, &own.blkio,
							     &DevicePathProtocol, &own.dp, NULL);
		if (EFI_ERROR(st))
			fail(L"cannot uninstall Block I/O: %r\n", st);
	}
	SetMem(d, sizeof(*d), 0);
}

/* ---- booting ---------------------------------------------------------------- */

/* Is dp a descendant of (or equal to) parent? Byte comparison of the parent's
 * nodes, the usual way to tell that a partition belongs to a disk. */
static BOOLEAN
dp_is_under(EFI_DEVICE_PATH *dp, EFI_DEVICE_PATH *parent)
{
	UINTN plen = DevicePathSize(parent) - sizeof(EFI_DEVICE_PATH);
	UINTN len = DevicePathSize(dp);

	return len >= plen && CompareMem(dp, parent, plen) == 0;
}

static BOOLEAN
file_exists(EFI_HANDLE fs_handle, const CHAR16 *path)
{
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, f;
	EFI_STATUS st;

	st = BS->HandleProtocol(fs_handle, &FileSystemProtocol, (void **)&fs);
	if (EFI_ERROR(st))
		return FALSE;
	st = fs->OpenVolume(fs, &root);
	if (EFI_ERROR(st))
		return FALSE;
	st = root->Open(root, &f, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	root->Close(root);
	if (EFI_ERROR(st))
		return FALSE;
	f->Close(f);
	return TRUE;
}

EFI_STATUS
disk_boot(EFI_HANDLE self, struct disk *d, const CHAR16 *path)
{
	EFI_DEVICE_PATH *disk_dp;
	EFI_HANDLE *handles = NULL;
	UINTN n = 0, i, nfs = 0;
	EFI_STATUS st, result = EFI_NOT_FOUND;

	disk_dp = DevicePathFromHandle(d->handle);
	if (!disk_dp) {
		fail(L"the disk handle has no device path\n");
		return EFI_NOT_FOUND;
	}
	st = BS->LocateHandleBuffer(ByProtocol, &FileSystemProtocol, NULL, &n, &handles);
	if (EFI_ERROR(st))
		n = 0;
	for (i = 0; i < n; i++) {
		EFI_DEVICE_PATH *fs_dp = DevicePathFromHandle(handles[i]);
		EFI_DEVICE_PATH *file_dp;
		EFI_HANDLE child = NULL;
		CHAR16 *s;

		if (!fs_dp || !dp_is_under(fs_dp, disk_dp))
			continue;
		nfs++;
		if (!file_exists(handles[i], path)) {
			s = DevicePathToStr(fs_dp);
			info(L"no %s on file system %s\n", path, s ? s : L"?");
			if (s)
				FreePool(s);
			continue;
		}
		/* By device path, not from a buffer: the loader's LoadedImage
		 * then names its device and file, which is how shim and GRUB
		 * find grub.cfg, the kernel and their second stage. */
		file_dp = FileDevicePath(handles[i], (CHAR16 *)path);
		if (!file_dp) {
			result = EFI_OUT_OF_RESOURCES;
			break;
		}
		s = DevicePathToStr(file_dp);
		info(L"starting %s\n", s ? s : path);
		if (s)
			FreePool(s);
		st = BS->LoadImage(FALSE, self, file_dp, NULL, 0, &child);
		FreePool(file_dp);
		if (EFI_ERROR(st)) {
			fail(L"LoadImage %s: %r\n", path, st);
			result = st;
			continue;
		}
		/* Give the loader the same 5-minute watchdog the boot manager
		 * would have (UEFI 2.10 §3.1.2); we disabled it for the load. */
		BS->SetWatchdogTimer(300, 0, 0, NULL);
		st = BS->StartImage(child, NULL, NULL);
		BS->SetWatchdogTimer(0, 0, 0, NULL);
		fail(L"%s returned: %r\n", path, st);
		result = EFI_ERROR(st) ? st : EFI_ABORTED;
		break;
	}
	if (handles)
		FreePool(handles);
	if (nfs == 0)
		fail(L"the image has no file system the firmware can read (no bootable file system)\n");
	else if (result == EFI_NOT_FOUND)
		fail(L"%s not found on any of the image's %d file system(s)\n", path, nfs);
	return result;
}
