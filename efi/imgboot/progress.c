/*
 * imgboot's clock and progress line. Boot services have no clock finer
 * than GetTime()'s second, so a CPU counter (the TSC; on AArch64 the
 * generic timer) is calibrated against Stall() once;
 * the arithmetic of the line itself is in figures.c, tested on the host.
 */
#include "imgboot.h"

static UINT64 ticks_per_ms;

/* A free-running counter: the TSC on x86_64, the generic timer on AArch64. */
static UINT64
ticks(void)
{
#if defined(__aarch64__)
	UINT64 v;

	__asm__ __volatile__("isb; mrs %0, cntvct_el0" : "=r"(v));
	return v;
#else
	UINT32 lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((UINT64)hi << 32) | lo;
#endif
}

/* Stall() is the ACPI PM timer in OVMF: 10 ms of it gives the counter's rate. */
void
clock_init(void)
{
	UINT64 t0 = ticks();

	BS->Stall(10000);
	ticks_per_ms = (ticks() - t0) / 10;
	if (ticks_per_ms == 0)
		ticks_per_ms = 1;
}

UINT64
clock_ms(void)
{
	return ticks() / ticks_per_ms;
}

void
progress_start(struct progress *p, const CHAR16 *what, UINT64 total)
{
	p->what = what;
	p->total = total;
	p->done = 0;
	p->start_ms = p->last_ms = clock_ms();
	p->last_pct = 0;
}

static void
progress_print(struct progress *p, BOOLEAN final)
{
	struct progress_figures f;

	progress_figures(p->done, p->total, clock_ms() - p->start_ms, &f);
	Print(L"imgboot: %s %3d%% %d/%d MiB %d.%d MiB/s%s", p->what, f.pct, f.done_mib, f.total_mib,
	      f.rate10 / 10, f.rate10 % 10, final ? L"\n" : L"\r");
}

void
progress_update(struct progress *p, UINT64 done)
{
	UINT64 now = clock_ms();
	struct progress_figures f;

	p->done = done;
	progress_figures(done, p->total, 0, &f);
	if (!progress_due(now, p->last_ms, (UINTN)f.pct, p->last_pct))
		return;
	p->last_ms = now;
	p->last_pct = (UINTN)f.pct;
	progress_print(p, FALSE);
}

void
progress_end(struct progress *p)
{
	progress_print(p, TRUE);
}
