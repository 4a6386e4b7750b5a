/* Privilege drop and the seccomp allow-list: see sandbox.h. */
#include "util/sandbox.h"

#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/log.h"

const char *
sandbox_default_user(void)
{
	if (getpwnam(SANDBOX_USER))
		return SANDBOX_USER;
	return SANDBOX_FALLBACK_USER;
}

/* capset(2) without libcap: effective and permitted = caps, inheritable none. */
static int
set_caps(uint64_t caps)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (uint32_t)caps;
	data[1].effective = data[1].permitted = (uint32_t)(caps >> 32);
	return (int)syscall(SYS_capset, &hdr, data);
}

/*
 * Started unprivileged, as systemd's User= with AmbientCapabilities does:
 * there is no user to switch to, but the capabilities that bound the ports
 * and opened the packet socket go now, ambient ones too, and no exec can
 * bring any back.
 */
static int
drop_capabilities(const char *user, bool keep_bind_service)
{
	struct passwd *pw = getpwuid(geteuid());
	const char *me = pw ? pw->pw_name : "?";
	if (user && pw && strcmp(user, me) != 0 && strcmp(user, sandbox_default_user()) != 0)
		log_warn("main", "--user %s ignored: started as %s, not root, so there is no user to "
		         "switch from", user, me);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		log_error("main", "clearing ambient capabilities: %s", strerror(errno));
		return -1;
	}
	uint64_t keep = keep_bind_service ? (1ull << CAP_NET_BIND_SERVICE) : 0;
	if (set_caps(keep) < 0) {
		/* Without CAP_NET_BIND_SERVICE to begin with, keeping it fails: keep none. */
		if (!keep || set_caps(0) < 0) {
			log_error("main", "dropping capabilities: %s", strerror(errno));
			return -1;
		}
		keep = 0;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("main", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	log_info("main", "running as user %s (uid %u, started unprivileged): capabilities dropped%s",
	         me, (unsigned)geteuid(), keep ? ", but CAP_NET_BIND_SERVICE to rebind DHCP on "
	                                         "re-created interfaces" : "");
	return 0;
}

int
sandbox_drop_privileges(const char *user, bool keep_bind_service)
{
	if (geteuid() != 0)
		return drop_capabilities(user, keep_bind_service);
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		log_error("main", "cannot drop privileges: no user '%s'", user);
		return -1;
	}
	if (pw->pw_uid == 0)
		log_warn("main", "--user %s is root: serving the network as root, with every "
		         "capability (the seccomp filter still applies)", user);
	if (strcmp(user, SANDBOX_FALLBACK_USER) == 0)
		log_warn("main", "running as %s, which other daemons share: create the system user "
		         "'%s' (make install does) or name one with --user", user, SANDBOX_USER);
	/* Keep permitted capabilities across setuid() only when one is wanted. */
	if (keep_bind_service && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		log_error("main", "PR_SET_KEEPCAPS: %s", strerror(errno));
		return -1;
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		log_error("main", "cannot drop privileges to '%s': %s", user, strerror(errno));
		return -1;
	}
	uint64_t keep = keep_bind_service ? (1ull << CAP_NET_BIND_SERVICE) : 0;
	if (keep_bind_service && (set_caps(keep) < 0 || prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)) {
		log_error("main", "cannot keep CAP_NET_BIND_SERVICE alone: %s", strerror(errno));
		return -1;
	}
	/* Make sure there is no way back. */
	if (pw->pw_uid != 0 && (setuid(0) == 0 || setgid(0) == 0)) {
		log_error("main", "privilege drop to '%s' did not stick", user);
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("main", "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -1;
	}
	log_info("main", "running as user %s (uid %u)%s", user, (unsigned)pw->pw_uid,
	         keep_bind_service ? ", keeping CAP_NET_BIND_SERVICE to rebind DHCP on "
	                             "re-created interfaces" : "");
	return 0;
}

/* ---- seccomp ------------------------------------------------------------ */

struct syscall_name {
	int nr;
	const char *name;
};

#define SC(name) { __NR_##name, #name }

/*
 * Every system call the daemon makes once it serves: the event loop, the
 * three servers, the lease journal, OpenSSL, glibc's allocator and time.
 * Measured by running `make integration` and `make e2e` with the filter on;
 * a call missing here shows up as a "refused system call" line.
 */
static const struct syscall_name allowed[] = {
	/* I/O on descriptors we already hold or open beneath the root */
	SC(read), SC(write), SC(readv), SC(writev), SC(pread64), SC(pwrite64), SC(preadv),
	SC(pwritev), SC(close), SC(openat), SC(lseek), SC(fstat), SC(newfstatat), SC(statx),
	SC(fcntl), SC(ioctl), SC(dup), SC(dup3), SC(sendfile), SC(getdents64), SC(readlinkat),
	SC(faccessat), SC(faccessat2), SC(fstatfs),
#ifdef __NR_openat2
	SC(openat2),
#endif
	/* the lease journal: write, sync, compact by rename */
	SC(fsync), SC(fdatasync), SC(ftruncate), SC(fchmod), SC(fchown), SC(renameat),
	SC(renameat2), SC(unlinkat), SC(linkat), SC(mkdirat),
	/* sockets (socket() itself: AF_INET and AF_INET6 only, below) */
	SC(bind), SC(listen), SC(accept4), SC(sendto), SC(recvfrom), SC(sendmsg), SC(recvmsg),
	SC(sendmmsg), SC(recvmmsg), SC(setsockopt), SC(getsockopt), SC(getsockname),
	SC(getpeername), SC(shutdown), SC(connect),
	/* the event loop and time */
	SC(epoll_wait), SC(epoll_pwait), SC(epoll_ctl), SC(epoll_create1), SC(ppoll), SC(pselect6),
	SC(clock_gettime), SC(clock_nanosleep), SC(nanosleep), SC(gettimeofday), SC(getrandom),
	SC(eventfd2), SC(pipe2), SC(timerfd_create), SC(timerfd_settime),
	/* memory; sysinfo: glibc's qsort asks how much RAM there is before it sorts
	 * more than 1 KiB (the status pages of a few dozen machines: found by the
	 * boot storm, where /status.txt of 300 machines stopped the daemon) */
	SC(mmap), SC(munmap), SC(mremap), SC(mprotect), SC(madvise), SC(brk), SC(sysinfo),
	/* signals, threads' bookkeeping, leaving */
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn), SC(sigaltstack), SC(futex),
	SC(sched_yield), SC(set_robust_list), SC(restart_syscall), SC(getpid), SC(gettid),
	SC(getuid), SC(geteuid), SC(getgid), SC(getegid), SC(uname), SC(prlimit64),
	SC(exit), SC(exit_group),
#ifdef __NR_rseq
	SC(rseq),
#endif
#ifdef __NR_time
	SC(time),
#endif
#ifdef __NR_poll
	SC(poll), SC(select), SC(open), SC(stat), SC(lstat), SC(access), SC(readlink),
	SC(rename), SC(unlink), SC(pipe), SC(dup2), SC(epoll_create),
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(NETBOOTD_SANITIZERS)
	/*
	 * The test build only: LeakSanitizer stops the world at exit with a
	 * ptrace()ing helper thread. Never in the daemon users run.
	 */
	SC(clone), SC(ptrace), SC(wait4), SC(sched_getaffinity), SC(prctl), SC(getppid),
	SC(mincore), SC(process_vm_readv),
#ifdef __NR_clone3
	SC(clone3),
#endif
#endif
};

/* Names for the refusal line: the allowed ones, and what an intruder reaches for. */
static const struct syscall_name notable[] = {
	SC(execve), SC(execveat), SC(clone), SC(ptrace), SC(socket), SC(setuid),
	SC(setgid), SC(kill), SC(tgkill), SC(mount), SC(chroot), SC(unshare), SC(setns),
	SC(bpf), SC(memfd_create), SC(process_vm_writev), SC(init_module), SC(kexec_load),
	SC(chmod), SC(chown), SC(prctl), SC(personality), SC(keyctl), SC(perf_event_open),
#ifdef __NR_fork
	SC(fork), SC(vfork),
#endif
};

static const char *
syscall_name(int nr)
{
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (allowed[i].nr == nr)
			return allowed[i].name;
	for (size_t i = 0; i < sizeof(notable) / sizeof(notable[0]); i++)
		if (notable[i].nr == nr)
			return notable[i].name;
	return "?";
}

/* Async-signal-safe: one write(2) of a line built by hand. */
static void
on_sigsys(int sig, siginfo_t *si, void *uctx)
{
	(void)uctx;
	char line[160], num[16];
	size_t n = 0, k = 0;
	unsigned nr = (unsigned)si->si_syscall;
	do {
		num[k++] = (char)('0' + nr % 10);
		nr /= 10;
	} while (nr && k < sizeof(num));
	const char *parts[] = { "netbootd: [error] sandbox: refused system call ", NULL, " (",
		                    syscall_name(si->si_syscall), "): stopping (seccomp)\n" };
	for (size_t p = 0; p < sizeof(parts) / sizeof(parts[0]); p++) {
		if (!parts[p]) {
			while (k && n < sizeof(line))
				line[n++] = num[--k];
			continue;
		}
		for (const char *c = parts[p]; *c && n < sizeof(line); c++)
			line[n++] = *c;
	}
	(void)!write(STDERR_FILENO, line, n);
	/* Die of the signal, for the exit status and the core; re-raised on return. */
	signal(sig, SIG_DFL);
	raise(sig);
}

#if defined(__x86_64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SANDBOX_AUDIT_ARCH
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

#define N_ALLOWED (sizeof(allowed) / sizeof(allowed[0]))
/* head (4) + one jump per allowed call + socket (4) + kill/tgkill of ourselves (6) + tail (2) */
#define PROG_MAX (4 + N_ALLOWED + 4 + 6 + 2)
_Static_assert(PROG_MAX < 250, "jump offsets are 8 bits");

static int
install_filter(void)
{
	struct sock_filter prog[PROG_MAX];
	size_t n = 0;
	const uint32_t pid = (uint32_t)getpid();
	/* The allow target is the last instruction; jumps count from the next one. */
#define TO_ALLOW(at) ((uint8_t)(PROG_MAX - 1 - (at) - 1))
#define TO_TRAP(at) ((uint8_t)(PROG_MAX - 2 - (at) - 1))

	/* Another architecture's numbers mean other calls: kill outright. */
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                         offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_AUDIT_ARCH, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                         offsetof(struct seccomp_data, nr));
	for (size_t i = 0; i < N_ALLOWED; i++, n++)
		prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)allowed[i].nr,
		                                       TO_ALLOW(n), 0);
	/* socket(): IPv4 and IPv6 only (DHCP listeners reopened on a re-created interface). */
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3);
	n++;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET, TO_ALLOW(n), 0);
	n++;
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, TO_ALLOW(n),
	                                       TO_TRAP(n));
	n++;
	/* kill() and tgkill() of ourselves only: raise() after a refusal, nothing else. */
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	                                         offsetof(struct seccomp_data, nr));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_kill, 1, 0);
	n++;
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_tgkill, 0, TO_TRAP(n));
	n++;
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0));
	prog[n] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, pid, TO_ALLOW(n),
	                                       TO_TRAP(n));
	n++;
	/* Pad to the fixed tail so the jump offsets above hold. */
	while (n < PROG_MAX - 2)
		prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
#undef TO_ALLOW
#undef TO_TRAP

	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -1;
	struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog);
}
#else
static int
install_filter(void)
{
	errno = ENOSYS;
	return -1;
}
#endif

int
sandbox_enter(bool with_seccomp)
{
	/* Nothing relative may reach where we were started; files created later are not world-readable. */
	if (chdir("/") < 0) {
		log_error("main", "chdir /: %s", strerror(errno));
		return -1;
	}
	umask(027);
	if (!with_seccomp) {
		log_warn("main", "seccomp off (--no-seccomp): every system call stays available");
		return 0;
	}
	if (install_filter() < 0) {
		log_error("main", "cannot install the seccomp filter: %s (--no-seccomp runs without it)",
		          strerror(errno));
		return -1;
	}
	log_info("main", "sandbox: %zu system calls allowed, anything else stops the daemon",
	         sizeof(allowed) / sizeof(allowed[0]) + 3);
	return 0;
}
