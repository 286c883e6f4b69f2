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
 * What it reads: /proc/self/maps, the kernel's; what it does: madvise() on the mappings that are
 * readable, not writable and of a file. No input of the cages, no file of its own, no output, no
 * failure path (whatever fails, the worker faults the pages in as before).
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
	/* Readable, not writable (what a write would copy is no use filled in read-only). */
	if (perms[0] != 'r' || perms[1] != '-')
		return;
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
