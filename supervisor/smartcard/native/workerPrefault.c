/*
 * The page tables of a level's card proxy worker filled for its read-only code and data as soon
 * as it is forked, while it waits for its connection, instead of one page fault at a time while
 * an application waits on it. Preloaded into pkcs11proxyd by levelCardProxy.ts; runs only in the
 * processes pkcs11proxyd forks (its workers), never in the controller.
 *
 * Why: fork() copies no page-table entry of a file mapping (the kernel lets the child fault them
 * in again), so each worker faulted in the text and read-only data of pkcs11proxyd, libc, the
 * module, libstdc++ and libcrypto page by page while it served: about 120 of the ~330 faults
 * of a whole `pkcs11-tool --sign`, and a fault costs ~20 µs on a virtualised machine whose
 * page tables the hypervisor shadows (bench/RESULTS.md). MADV_POPULATE_READ (Linux 5.14) maps a
 * whole mapping in one call; older kernels refuse it, and the worker faults as before.
 *
 * The same for what the worker writes: its malloc heap and the small private writable mappings
 * (libraries' data, OCaml's and the module's small allocations) are the controller's pages, shared
 * copy-on-write, and each first write of a served worker was a copy plus a TLB flush through the
 * hypervisor (~100 of its ~200 remaining faults). MADV_POPULATE_WRITE makes those copies while it
 * waits. Bounded: the heap only up to HEAP_FILL_MAX, other mappings only up to SMALL_FILL_MAX each
 * (OCaml's major heap and thread stacks are larger and left to fault), so a worker copies at most a
 * few MiB of the controller's memory, contents unchanged.
 *
 * What it reads: /proc/self/maps, the kernel's; what it does: madvise() on the mappings that are
 * readable and of a file and not writable (read), or private and writable within those bounds
 * (write). No input of the cages, no file of its own, no output, no failure path (whatever fails,
 * the worker faults the pages in as before).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* The malloc heap is filled whole up to this size (a controller's is ~1 MiB), else left to fault. */
#define HEAP_FILL_MAX (4UL << 20)
/* Other private writable mappings filled up to this size each. */
#define SMALL_FILL_MAX (1UL << 20)

#ifndef WORKER_PREFAULT_READ_ONLY /* the benchmark's build of the read fill alone, to compare */
/* A private writable mapping: filled for writing within the bounds above. */
static void populate_writable(unsigned long start, unsigned long stop, const char *perms)
{
	int heap = strstr(perms, "[heap]") != NULL;
	/* [stack], [vvar] and the like: not ours to copy. */
	if (!heap && strchr(perms, '['))
		return;
	if (stop - start > (heap ? HEAP_FILL_MAX : SMALL_FILL_MAX))
		return;
	madvise((void *)start, stop - start, MADV_POPULATE_WRITE);
}
#endif

/* One line of /proc/self/maps: "start-end perms offset dev inode   path". */
static void populate_line(const char *line)
{
	char *end;
	unsigned long start = strtoul(line, &end, 16);
	if (*end != '-')
		return;
	unsigned long stop = strtoul(end + 1, &end, 16);
	if (*end != ' ' || stop <= start)
		return;
	const char *perms = end + 1;
	if (perms[0] != 'r')
		return;
	if (perms[1] == 'w') {
#ifndef WORKER_PREFAULT_READ_ONLY
		if (perms[3] == 'p')
			populate_writable(start, stop, perms);
#endif
		return;
	}
	/* A file's (its path after the inode), not an anonymous mapping nor [vdso] and the like. */
	const char *path = strchr(perms, '/');
	if (!path)
		return;
	madvise((void *)start, stop - start, MADV_POPULATE_READ);
}

/* In the child of each fork: no stdio, no allocation (the parent may have forked anywhere). */
static void populate_after_fork(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[8192];
	size_t held = 0;
	for (;;) {
		ssize_t got = read(fd, buf + held, sizeof buf - 1 - held);
		if (got <= 0)
			break;
		held += (size_t)got;
		buf[held] = '\0';
		char *line = buf;
		char *newline;
		while ((newline = strchr(line, '\n'))) {
			*newline = '\0';
			populate_line(line);
			line = newline + 1;
		}
		held = (size_t)(buf + held - line);
		/* A line longer than the buffer (a very long path): dropped. */
		if (held == sizeof buf - 1)
			held = 0;
		memmove(buf, line, held);
	}
	close(fd);
}

__attribute__((constructor))
static void worker_prefault(void)
{
	pthread_atfork(NULL, NULL, populate_after_fork);
}
