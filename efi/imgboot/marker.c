/*
 * marker.efi: the boot loader inside test images. It reads \marker.txt from
 * its own device (found through LoadedImage->DeviceHandle, as shim and GRUB
 * do: this proves imgboot loaded it by device path) and prints
 * "NETBOOT-MARKER <token>" on the console, then powers the VM off.
 */
#include "imgboot.h"



/* How many Block I/O handles are RAM disks (a RAM disk node in their device
 * path, as RamDiskDxe and imgboot's own Block I/O both use): the failure
 * tests check that imgboot left none behind. */
static void
count_ram_disks(void)
{
	EFI_HANDLE *h = NULL;
	UINTN n = 0, i, disks = 0;

	if (EFI_ERROR(BS->LocateHandleBuffer(ByProtocol, &BlockIoProtocol, NULL, &n, &h)))
		n = 0;
	for (i = 0; i < n; i++) {
		EFI_DEVICE_PATH *dp = DevicePathFromHandle(h[i]);

		for (; dp && !IsDevicePathEnd(dp); dp = NextDevicePathNode(dp)) {
			if (DevicePathType(dp) == MEDIA_DEVICE_PATH &&
			    DevicePathSubType(dp) == MEDIA_RAM_DISK_DP) {
				disks++;
				break;
			}
		}
	}
	if (h)
		FreePool(h);
	Print(L"NETBOOT-RAMDISKS %d\n", disks);
}

EFI_STATUS
efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab)
{
	EFI_LOADED_IMAGE *li;
	EFI_FILE_IO_INTERFACE *fs;
	EFI_FILE_HANDLE root, f;
	CHAR8 buf[128];
	UINTN len = sizeof(buf) - 1, i;
	EFI_STATUS st;

	InitializeLib(self, systab);
	count_ram_disks();
	st = BS->HandleProtocol(self, &LoadedImageProtocol, (void **)&li);
	if (!EFI_ERROR(st))
		st = BS->HandleProtocol(li->DeviceHandle, &FileSystemProtocol, (void **)&fs);
	if (!EFI_ERROR(st))
		st = fs->OpenVolume(fs, &root);
	if (!EFI_ERROR(st)) {
		st = root->Open(root, &f, L"\\marker.txt", EFI_FILE_MODE_READ, 0);
		root->Close(root);
	}
	if (!EFI_ERROR(st)) {
		st = f->Read(f, &len, buf);
		f->Close(f);
	}
	if (EFI_ERROR(st)) {
		Print(L"marker.efi: cannot read \\marker.txt from my own device: %r\n", st);
	} else {
		buf[len] = 0;
		for (i = 0; i < len; i++) {
			if (buf[i] == '\n' || buf[i] == '\r')
				buf[i] = 0;
		}
		Print(L"NETBOOT-MARKER %a\n", buf);
	}
	RT->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
	return EFI_SUCCESS;
}
