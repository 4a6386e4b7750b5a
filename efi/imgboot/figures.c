/* The progress line's arithmetic, pure (imgboot.h: progress_figures). */
#include "imgboot.h"

void
progress_figures(UINT64 done, UINT64 total, UINT64 elapsed_ms, struct progress_figures *f)
{
	f->pct = total ? done * 100 / total : 0;
	if (f->pct > 100)
		f->pct = 100; /* a server that sends more than it announced */
	f->done_mib = done >> 20;
	f->total_mib = total >> 20;
	/* bytes * 10 * 1000 / ms, in MiB: overflows only past 1.8 EB. */
	f->rate10 = elapsed_ms ? (done * 10 * 1000 / elapsed_ms) >> 20 : 0;
}

BOOLEAN
progress_due(UINT64 now_ms, UINT64 last_ms, UINTN pct, UINTN last_pct)
{
	return now_ms - last_ms >= 1000 && pct != last_pct;
}
