/*
 * imgboot.efi: boot a disk image held in RAM (the UEFI counterpart of
 * syslinux's MEMDISK). Shared declarations of the modules:
 *
 *   main.c   flow, load options, cleanup
 *   opts.c   load-option and key=value config parsing (pure, no firmware calls)
 *   net.c    HTTP download through EFI_HTTP_PROTOCOL, netbootd discovery
 *   disk.c   image type detection, RAM disk protocol / own Block I/O, booting
 *
 * gnu-efi 3.0.15 has no declarations for the HTTP, IP4 config 2 and RAM disk
 * protocols: they are declared here from the UEFI 2.10 specification.
 */
#ifndef IMGBOOT_H
#define IMGBOOT_H

#include <efi.h>
#include <efilib.h>

#define IMGBOOT_VERSION "0.1"
/* UEFI's removable-media path for this architecture (UEFI 2.x §3.5.1.1). */
#if defined(__aarch64__)
#define IMGBOOT_DEFAULT_PATH L"\\EFI\\BOOT\\BOOTAA64.EFI"
#else
#define IMGBOOT_DEFAULT_PATH L"\\EFI\\BOOT\\BOOTX64.EFI"
#endif
#define IMGBOOT_MAX_ARG 1024
#define IMGBOOT_MAX_REDIRECTS 5

/* ---- options ---------------------------------------------------------- */

enum img_type { IMG_TYPE_AUTO = 0, IMG_TYPE_ISO, IMG_TYPE_DISK };
enum img_mode { IMG_MODE_AUTO = 0, IMG_MODE_RAMDISK, IMG_MODE_BLOCKIO };
enum img_memory { IMG_MEM_RESERVED = 0, IMG_MEM_BS };

struct img_opts {
	CHAR16 source[IMGBOOT_MAX_ARG]; /* file name or URL; empty: none given */
	CHAR16 path[IMGBOOT_MAX_ARG];	/* loader inside the image */
	enum img_type type;
	enum img_mode mode;
	enum img_memory memory;
	BOOLEAN help;
	BOOLEAN verbose;
};

void opts_init(struct img_opts *o);
/* Parse a command line (UCS-2, not necessarily NUL-terminated; len in
 * characters). Returns 0 or -1 with a message in err (errlen characters). */
int opts_parse_cmdline(struct img_opts *o, const CHAR16 *s, UINTN len, CHAR16 *err,
		       UINTN errlen);
/* Parse key=value lines (ASCII): url=, path=, mode=, memory=, type=.
 * Unknown keys are ignored (forward compatibility); bad values are errors. */
int opts_parse_config(struct img_opts *o, const CHAR8 *s, UINTN len, CHAR16 *err, UINTN errlen);
BOOLEAN opts_is_url(const CHAR16 *s);
void opts_usage(void);

/* ---- progress ---------------------------------------------------------- */

struct progress {
	const CHAR16 *what;
	UINT64 total;
	UINT64 done;
	UINT64 start_ms;
	UINT64 last_ms;
	UINTN last_pct;
};

/* progress.c: the clock (TSC, calibrated once by clock_init) and the
 * progress line of a read or a download. */
void clock_init(void);
UINT64 clock_ms(void);
void progress_start(struct progress *p, const CHAR16 *what, UINT64 total);
void progress_update(struct progress *p, UINT64 done);
void progress_end(struct progress *p);

/* figures.c (pure, host-tested): what the progress line says. */
struct progress_figures {
	UINT64 pct;               /* 0..100 */
	UINT64 done_mib, total_mib;
	UINT64 rate10;            /* MiB/s times 10: one decimal without floating point */
};
void progress_figures(UINT64 done, UINT64 total, UINT64 elapsed_ms, struct progress_figures *f);
/* Print again? At most about once a second (the serial console is slow),
 * and only when the percentage moved. */
BOOLEAN progress_due(UINT64 now_ms, UINT64 last_ms, UINTN pct, UINTN last_pct);

/* ---- the image in memory ---------------------------------------------- */

struct image {
	EFI_PHYSICAL_ADDRESS base; /* 0 when not allocated */
	UINTN pages;
	UINT64 size;	  /* bytes of the image itself */
	UINT64 padded;	  /* size rounded up to 4 KiB */
	enum img_memory memory;
	enum img_type type;
};

EFI_STATUS image_alloc(struct image *img, UINT64 size, enum img_memory memory);
void image_free(struct image *img);

/* ---- net.c -------------------------------------------------------------- */

/* Download url into a freshly allocated image. */
EFI_STATUS net_fetch_image(EFI_HANDLE self, const CHAR16 *url, struct image *img,
			   enum img_memory memory);
/* Download a small text document (config) into buf (NUL-terminated). */
EFI_STATUS net_fetch_text(EFI_HANDLE self, const CHAR16 *url, CHAR8 *buf, UINTN bufsize,
			  UINTN *len);
/* Work out which netbootd loaded us and this NIC's MAC; fills
 * "http://server[:port]/boot/<mac>.imgboot" into url. */
EFI_STATUS net_discover_config_url(EFI_HANDLE self, CHAR16 *url, UINTN urllen);

/* ---- disk.c ------------------------------------------------------------- */

struct disk {
	BOOLEAN ramdisk;		 /* registered with EFI_RAM_DISK_PROTOCOL */
	EFI_DEVICE_PATH *ramdisk_dp;	 /* as returned by Register() */
	EFI_HANDLE handle;		 /* Block I/O handle of the disk */
	BOOLEAN own_installed;		 /* our Block I/O + device path installed */
};

enum img_type disk_detect(const struct image *img, const CHAR16 **why);
EFI_STATUS disk_register(struct image *img, enum img_mode mode, struct disk *d);
void disk_unregister(struct disk *d);
EFI_STATUS disk_boot(EFI_HANDLE self, struct disk *d, const CHAR16 *path);

/* ---- messages ------------------------------------------------------------ */

#define info(...) Print(L"imgboot: " __VA_ARGS__)
/* crt0-efi-$(ARCH).o calls efi_main (on x86_64 with the SysV ABI: it converts). */
EFI_STATUS efi_main(EFI_HANDLE self, EFI_SYSTEM_TABLE *systab);

#define fail(...) Print(L"imgboot: error: " __VA_ARGS__)

/* ---- protocols gnu-efi lacks --------------------------------------------- */

#define RAM_DISK_PROTOCOL_GUID                                                                 \
	{ 0xab38a0df, 0x6873, 0x44a9, { 0x87, 0xe6, 0xd4, 0xeb, 0x56, 0x14, 0x84, 0x49 } }
#define RAM_DISK_VIRTUAL_DISK_GUID                                                             \
	{ 0x77AB535A, 0x45FC, 0x624B, { 0x55, 0x60, 0xF7, 0xB2, 0x81, 0xD1, 0xF9, 0x6E } }
#define RAM_DISK_VIRTUAL_CD_GUID                                                               \
	{ 0x3D5ABD30, 0x4175, 0x87CE, { 0x6D, 0x64, 0xD2, 0xAD, 0xE5, 0x23, 0xC4, 0xBB } }

typedef struct _RAM_DISK_PROTOCOL RAM_DISK_PROTOCOL;
struct _RAM_DISK_PROTOCOL {
	EFI_STATUS(EFIAPI *Register)(UINT64 RamDiskBase, UINT64 RamDiskSize,
				     EFI_GUID *RamDiskType, EFI_DEVICE_PATH *ParentDevicePath,
				     EFI_DEVICE_PATH **DevicePath);
	EFI_STATUS(EFIAPI *Unregister)(EFI_DEVICE_PATH *DevicePath);
};

/* UEFI 2.10 §10.3.5.23: RAM disk media device path node. */
#define MEDIA_RAM_DISK_DP 0x09
typedef struct {
	EFI_DEVICE_PATH_PROTOCOL Header;
	UINT32 StartingAddr[2];
	UINT32 EndingAddr[2];
	EFI_GUID TypeGuid;
	UINT16 Instance;
} __attribute__((packed)) RAM_DISK_DEVICE_PATH;

#define HTTP_SERVICE_BINDING_PROTOCOL_GUID                                                     \
	{ 0xbdc8e6af, 0xd9bc, 0x4379, { 0xa7, 0x2a, 0xe0, 0xc4, 0xe7, 0x5d, 0xae, 0x1c } }
#define HTTP_PROTOCOL_GUID                                                                     \
	{ 0x7a59b29b, 0x910b, 0x4171, { 0x82, 0x42, 0xa8, 0x5a, 0x0d, 0xf2, 0x5b, 0x5b } }
#define IP4_CONFIG2_PROTOCOL_GUID                                                              \
	{ 0x5b446ed1, 0xe30b, 0x4faa, { 0x87, 0x1a, 0x36, 0x54, 0xec, 0xa3, 0x60, 0x80 } }

typedef struct _SERVICE_BINDING SERVICE_BINDING;
struct _SERVICE_BINDING {
	EFI_STATUS(EFIAPI *CreateChild)(SERVICE_BINDING *This, EFI_HANDLE *ChildHandle);
	EFI_STATUS(EFIAPI *DestroyChild)(SERVICE_BINDING *This, EFI_HANDLE ChildHandle);
};

typedef enum { HttpVersion10, HttpVersion11, HttpVersionUnsupported } HTTP_VERSION;
typedef enum { HttpMethodGet, HttpMethodPost, HttpMethodPatch, HttpMethodOptions,
	       HttpMethodConnect, HttpMethodHead, HttpMethodPut, HttpMethodDelete,
	       HttpMethodTrace, HttpMethodMax } HTTP_METHOD;
/* EFI_HTTP_STATUS_CODE is an enum, not the number: see net.c's table. */
typedef UINT32 HTTP_STATUS_CODE;

typedef struct {
	BOOLEAN UseDefaultAddress;
	EFI_IPv4_ADDRESS LocalAddress;
	EFI_IPv4_ADDRESS LocalSubnet;
	UINT16 LocalPort;
} HTTPv4_ACCESS_POINT;

typedef struct {
	HTTP_VERSION HttpVersion;
	UINT32 TimeOutMillisec;
	BOOLEAN LocalAddressIsIPv6;
	union {
		HTTPv4_ACCESS_POINT *IPv4Node;
		void *IPv6Node;
	} AccessPoint;
} HTTP_CONFIG_DATA;

typedef struct {
	HTTP_METHOD Method;
	CHAR16 *Url;
} HTTP_REQUEST_DATA;

typedef struct {
	HTTP_STATUS_CODE StatusCode;
} HTTP_RESPONSE_DATA;

typedef struct {
	CHAR8 *FieldName;
	CHAR8 *FieldValue;
} HTTP_HEADER;

typedef struct {
	union {
		HTTP_REQUEST_DATA *Request;
		HTTP_RESPONSE_DATA *Response;
	} Data;
	UINTN HeaderCount;
	HTTP_HEADER *Headers;
	UINTN BodyLength;
	VOID *Body;
} HTTP_MESSAGE;

typedef struct {
	EFI_EVENT Event;
	EFI_STATUS Status;
	HTTP_MESSAGE *Message;
} HTTP_TOKEN;

typedef struct _HTTP_PROTOCOL HTTP_PROTOCOL;
struct _HTTP_PROTOCOL {
	EFI_STATUS(EFIAPI *GetModeData)(HTTP_PROTOCOL *This, HTTP_CONFIG_DATA *Data);
	EFI_STATUS(EFIAPI *Configure)(HTTP_PROTOCOL *This, HTTP_CONFIG_DATA *Data);
	EFI_STATUS(EFIAPI *Request)(HTTP_PROTOCOL *This, HTTP_TOKEN *Token);
	EFI_STATUS(EFIAPI *Cancel)(HTTP_PROTOCOL *This, HTTP_TOKEN *Token);
	EFI_STATUS(EFIAPI *Response)(HTTP_PROTOCOL *This, HTTP_TOKEN *Token);
	EFI_STATUS(EFIAPI *Poll)(HTTP_PROTOCOL *This);
};

typedef enum {
	Ip4Config2DataTypeInterfaceInfo,
	Ip4Config2DataTypePolicy,
	Ip4Config2DataTypeManualAddress,
	Ip4Config2DataTypeGateway,
	Ip4Config2DataTypeDnsServer,
	Ip4Config2DataTypeMaximum
} IP4_CONFIG2_DATA_TYPE;
typedef enum { Ip4Config2PolicyStatic, Ip4Config2PolicyDhcp, Ip4Config2PolicyMax } IP4_CONFIG2_POLICY;

typedef struct {
	CHAR16 Name[32];
	UINT8 IfType;
	UINT32 HwAddressSize;
	EFI_MAC_ADDRESS HwAddress;
	EFI_IPv4_ADDRESS StationAddress;
	EFI_IPv4_ADDRESS SubnetMask;
	UINT32 RouteTableSize;
	void *RouteTable;
} IP4_CONFIG2_INTERFACE_INFO;

typedef struct _IP4_CONFIG2_PROTOCOL IP4_CONFIG2_PROTOCOL;
struct _IP4_CONFIG2_PROTOCOL {
	EFI_STATUS(EFIAPI *SetData)(IP4_CONFIG2_PROTOCOL *This, IP4_CONFIG2_DATA_TYPE DataType,
				    UINTN DataSize, VOID *Data);
	EFI_STATUS(EFIAPI *GetData)(IP4_CONFIG2_PROTOCOL *This, IP4_CONFIG2_DATA_TYPE DataType,
				    UINTN *DataSize, VOID *Data);
	void *RegisterDataNotify;
	void *UnregisterDataNotify;
};

/* ---- wire.c: pure parsing/formatting (host-tested, see test_host.c) ---- */

UINTN http_status_number(HTTP_STATUS_CODE c);
void url_authority(const CHAR16 *url, CHAR8 *out, UINTN outlen);
UINT64 parse_u64(const CHAR8 *s, BOOLEAN *ok);
BOOLEAN ascii_ieq(const CHAR8 *a, const CHAR8 *b);
UINTN append(CHAR16 *dst, UINTN n, UINTN cap, const CHAR16 *s);
UINTN append_ascii(CHAR16 *dst, UINTN n, UINTN cap, const CHAR8 *s, UINTN len);
BOOLEAN url_base(const CHAR8 *s, UINTN len, CHAR16 *out, UINTN cap);
/* A redirect's Location header, resolved against the URL asked for (see wire.c). */
BOOLEAN url_redirect(const CHAR16 *from, const CHAR8 *location, CHAR16 *out, UINTN cap);
const UINT8 *dhcp_option(const UINT8 *pkt, UINTN pktlen, UINT8 code, UINT8 *olen);
BOOLEAN server_from_packet(const UINT8 *pkt, UINTN pktlen, CHAR16 *base, UINTN cap);
void wire_ip_url(const UINT8 ip[4], CHAR16 *out, UINTN cap);
void wire_format_mac(const UINT8 m[6], CHAR16 out[18]);

#endif
