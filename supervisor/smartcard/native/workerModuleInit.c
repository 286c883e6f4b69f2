/*
 * The PKCS#11 module initialised by each level's card proxy worker while it waits for its
 * connection, its view of the token kept valid until then. Preloaded into pkcs11proxyd by
 * levelCardProxy.ts beside the module; does anything only in the processes pkcs11proxyd forks
 * (its workers), never in the controller, and only for SoftHSM2 (see "Other modules").
 *
 * Why: Caml Crush's worker calls the module's C_Initialize when the application's C_Initialize
 * arrives — for SoftHSM2 its configuration, its object store's files, its generator: 4-5 ms of the
 * served worker's CPU while the application waits (bench/RESULTS.md).
 *
 * The view kept valid: the module reads the token when it initialises, and SoftHSM2 2.6 rewrites
 * token.object at each login (truncate, unlock, write): a spare initialised once at its fork
 * could read an empty token and keep it ("Token not initialized", card-5). So:
 *  1. at the fork, inotify watches the token folders (SoftHSM2's tokendir, each token's folder and
 *     the configuration file), then a snapshot of their files (size, mtime and ctime in ns, inode)
 *     is taken before and after C_Initialize: the view counts only if both are equal (a seqlock; the
 *     timestamps are coarse, so sizes and inodes count too). One exception: each token's
 *     `generation` file, SoftHSM2's change counter, which every C_Initialize rewrites with the same
 *     value: it counts by its value (and inode and size), and its own watch events are not changes
 *     (every change to the token writes an object file too, and moves the counter);
 *  2. while the worker waits, a thread of its own waits on those watches and, after any change
 *     (debounced), does C_Finalize and the same C_Initialize again: ready for the next connection;
 *  3. at the application's C_Initialize, the thread is stopped and joined, then the view is
 *     checked: any watch event not yet handled, a snapshot that differs from the files now, or an
 *     init that failed, and the module is initialised again right there, on the connection's path
 *     (only then). The module's view is so the token as it was when the application asked, as
 *     before this library. Not at the accept: the guard connects ahead of the cage
 *     (spareProxyConnection.ts), so a worker may hold its connection a long while before any call.
 *     Until then the thread's re-initialisation never meets the worker's own use of the module:
 *     every function of the list Caml Crush holds answers without touching it (below).
 *
 * Caml Crush finds the module's functions by dlsym(handle, "C_GetFunctionList"); this library's
 * dlsym gives it, for that one module, a function list of its own: until the application's
 * C_Initialize, every function answers CKR_CRYPTOKI_NOT_INITIALIZED, as the module would; that
 * C_Initialize answers CKR_OK and puts the module's own functions in the list. No session, login
 * or handle exists before the application asks: only the module's state, each worker's own.
 * Whatever fails here, the worker initialises the module when asked, as before.
 *
 * Other modules (a real card through pcscd and OpenSC): not initialised ahead. Their view is the
 * reader's and the card's, with no file to watch — a card pulled or swapped between the spare's
 * C_Initialize and its connection would go unseen — and a held pcscd context per spare is the
 * reader daemon's to bear; they are initialised when the application asks, as before.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

typedef unsigned long ck_rv;
#define CKR_OK 0UL
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL
/* PKCS#11 2.x's CK_FUNCTION_LIST: a version, then 68 functions, C_Initialize first. */
#define FUNCTIONS 68
#define C_INITIALIZE 0
#define C_FINALIZE 1
#define C_GET_FUNCTION_LIST 3
/* A burst of writes (a login's truncate and write) ends before the module is read again. */
#define DEBOUNCE_MS 2
/* The watcher's stack: SoftHSM2's and OpenSSL's initialisation need far less. */
#define WATCHER_STACK (1024 * 1024)
#define WATCHED (IN_MODIFY | IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF)

struct function_list {
	unsigned char version[2];
	void *function[FUNCTIONS];
};
typedef ck_rv (*get_function_list_fn)(struct function_list **);
typedef ck_rv (*initialize_fn)(void *);
typedef int (*close_fn)(int);

/* SoftHSM2's change counter in each token's folder (see above). */
#define GENERATION "generation"

/* One file of the token's folders as a snapshot sees it (zeroed first: compared with memcmp). */
struct file_state {
	uint64_t device, inode, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	uint32_t mode, pad;
};
struct snapshot {
	size_t count, capacity;
	struct file_state *files;
};

static void *(*real_dlsym)(void *, const char *);
/* Set in a worker (the child of a fork) whose module is SoftHSM2: its entry point and list. */
static get_function_list_fn module_get;
static struct function_list *module_list;
/* Caml Crush's view of the module until the application's C_Initialize succeeded. */
static struct function_list held_list;
static int held;

/* What this worker's module was read from: the configuration file and the tokendir. */
static char conf_path[PATH_MAX];
static char token_dir[PATH_MAX];
/* The module's state: initialised by us, and whether that view was read unchanged. */
static int module_initialised;
static int view_valid;
static struct snapshot view;
/* The watches and the thread redoing the init after a change, until the connection. */
static int watch_fd = -1;
static int stop_fd = -1;
static pthread_t watcher;
static int watcher_running;
static int settled;

static ck_rv not_initialized(void)
{
	return CKR_CRYPTOKI_NOT_INITIALIZED;
}

static ck_rv module_initialize(void *args)
{
	return ((initialize_fn)module_list->function[C_INITIALIZE])(args);
}

static void module_finalize(void)
{
	if (module_initialised)
		((initialize_fn)module_list->function[C_FINALIZE])(NULL);
	module_initialised = 0;
}

/* A file's state; for the change counter its value instead of its times (`counter`: its path). */
static void add_file(struct snapshot *s, const struct stat *st, const char *counter)
{
	if (s->count == s->capacity) {
		size_t capacity = s->capacity ? s->capacity * 2 : 32;
		struct file_state *grown = realloc(s->files, capacity * sizeof *grown);
		if (grown == NULL)
			return;
		s->files = grown;
		s->capacity = capacity;
	}
	struct file_state *f = &s->files[s->count++];
	memset(f, 0, sizeof *f);
	f->device = st->st_dev;
	f->inode = st->st_ino;
	f->size = (uint64_t)st->st_size;
	f->mtime_s = st->st_mtim.tv_sec;
	f->mtime_ns = st->st_mtim.tv_nsec;
	f->ctime_s = st->st_ctim.tv_sec;
	f->ctime_ns = st->st_ctim.tv_nsec;
	f->mode = st->st_mode;
	if (counter == NULL)
		return;
	f->mtime_s = f->mtime_ns = f->ctime_s = f->ctime_ns = 0;
	FILE *file = fopen(counter, "re");
	if (file == NULL)
		return;
	if (fread(&f->mtime_s, 1, sizeof f->mtime_s, file) == 0)
		f->mtime_s = 0;
	fclose(file);
}

/* A folder's own state, then each entry's; `depth` 1: each sub-folder's (a token's) too. With `watch`, inotify on each folder. */
static void add_folder(struct snapshot *s, const char *path, int depth, int watch)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	add_file(s, &st, NULL);
	if (!S_ISDIR(st.st_mode))
		return;
	if (watch)
		inotify_add_watch(watch_fd, path, WATCHED | IN_ONLYDIR);
	DIR *dir = opendir(path);
	if (dir == NULL)
		return;
	struct dirent *entry;
	char child[PATH_MAX];
	while ((entry = readdir(dir)) != NULL) {
		if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof child, "%s/%s", path, entry->d_name) >= (int)sizeof child)
			continue;
		if (depth > 0 && entry->d_type == DT_DIR) {
			add_folder(s, child, depth - 1, watch);
		} else if (lstat(child, &st) == 0) {
			add_file(s, &st, S_ISREG(st.st_mode) && strcmp(entry->d_name, GENERATION) == 0 ? child : NULL);
		}
	}
	closedir(dir);
}

static int by_file(const void *a, const void *b)
{
	const struct file_state *x = a, *y = b;
	if (x->device != y->device)
		return x->device < y->device ? -1 : 1;
	return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* The files the module reads, in inode order (readdir's order is not the state). With `watch`, new folders watched first. */
static struct snapshot take_snapshot(int watch)
{
	struct snapshot s = { 0, 0, NULL };
	struct stat st;
	if (stat(conf_path, &st) == 0)
		add_file(&s, &st, NULL);
	add_folder(&s, token_dir, 1, watch);
	if (s.count > 1)
		qsort(s.files, s.count, sizeof *s.files, by_file);
	return s;
}

static int same_snapshot(const struct snapshot *a, const struct snapshot *b)
{
	return a->count == b->count && (a->count == 0 || memcmp(a->files, b->files, a->count * sizeof *a->files) == 0);
}

/* Watch events waiting: read and dropped; whether any was a change (not the change counter's own). */
static int drain_events(void)
{
	char buffer[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	ssize_t length;
	while ((length = read(watch_fd, buffer, sizeof buffer)) > 0) {
		for (char *at = buffer; at < buffer + length;) {
			const struct inotify_event *event = (const struct inotify_event *)at;
			if (event->len == 0 || strcmp(event->name, GENERATION) != 0 || (event->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)))
				changed = 1;
			at += sizeof *event + event->len;
		}
	}
	return changed;
}

/* The module (re)initialised, its view valid only if the files were the same before and after. */
static void initialize_view(void)
{
	module_finalize();
	struct snapshot before = take_snapshot(1);
	module_initialised = module_initialize(NULL) == CKR_OK;
	struct snapshot after = take_snapshot(0);
	view_valid = module_initialised && same_snapshot(&before, &after);
	free(before.files);
	free(view.files);
	view = after;
}

/* Until the connection: after each change to the token's files, once they are quiet, the init again. */
static void *watch_token(void *unused)
{
	(void)unused;
	struct pollfd fds[2] = { { .fd = watch_fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };
	for (;;) {
		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		if (fds[0].revents & (POLLNVAL | POLLERR))
			break;
		if (!(fds[0].revents & POLLIN) || !drain_events())
			continue;
		int ready;
		while ((ready = poll(fds, 2, DEBOUNCE_MS)) > 0 && !fds[1].revents)
			drain_events();
		if (ready > 0 && fds[1].revents)
			break;
		initialize_view();
	}
	return NULL;
}

static void stop_watcher(void)
{
	if (!watcher_running)
		return;
	uint64_t one = 1;
	if (write(stop_fd, &one, sizeof one) != sizeof one)
		return;
	pthread_join(watcher, NULL);
	watcher_running = 0;
}

/*
 * The connection's: the thread stopped, the view checked against the files now, and the module
 * initialised again here if anything changed since it was read (or its init failed).
 */
static void settle_view(void)
{
	if (!held || settled || watch_fd < 0)
		return;
	settled = 1;
	stop_watcher();
	int changed = drain_events();
	struct snapshot now = take_snapshot(0);
	if (changed || !view_valid || !same_snapshot(&view, &now)) {
		module_finalize();
		module_initialised = module_initialize(NULL) == CKR_OK;
	}
	free(now.files);
	free(view.files);
	view.files = NULL;
	close_fn real = (close_fn)real_dlsym(RTLD_NEXT, "close");
	int watch = watch_fd, stop = stop_fd;
	watch_fd = stop_fd = -1;
	if (real != NULL) {
		real(watch);
		real(stop);
	}
}

/* The application's C_Initialize: the module's own functions from now on. */
static ck_rv held_initialize(void *args)
{
	if (!held)
		return module_initialize(args);
	settle_view();
	ck_rv result = CKR_OK;
	if (module_initialised && args != NULL) {
		/* Arguments the module was not initialised with (Caml Crush passes none): the module's way. */
		module_finalize();
		result = module_initialize(args);
	} else if (!module_initialised) {
		result = module_initialize(args);
	}
	module_initialised = result == CKR_OK;
	if (result == CKR_OK) {
		memcpy(&held_list, module_list, sizeof held_list);
		held = 0;
	}
	return result;
}

static ck_rv held_get_function_list(struct function_list **list)
{
	if (list == NULL)
		return module_get(list);
	*list = &held_list;
	return CKR_OK;
}

/* glibc's own dlsym (2.34 moved it into libc; before, libdl's): found at the first call, which may come from another library's constructor before this one's. */
static int find_real_dlsym(void)
{
	if (real_dlsym == NULL)
		real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
	if (real_dlsym == NULL)
		real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
	return real_dlsym != NULL;
}

/* Caml Crush's lookup of the module's entry point: the list above, for that module alone, in a worker. */
void *dlsym(void *handle, const char *name)
{
	if (!find_real_dlsym())
		return NULL;
	void *found = real_dlsym(handle, name);
	if (found != NULL && module_get != NULL && found == (void *)module_get && strcmp(name, "C_GetFunctionList") == 0)
		return (void *)held_get_function_list;
	return found;
}

/*
 * Netplex closes every descriptor it did not open in each worker it forks, after the fork
 * handlers ran: the watches and the thread's stop signal are kept open (their closing a no-op)
 * until the connection settles the view.
 */
int close(int fd)
{
	if (fd >= 0 && (fd == watch_fd || fd == stop_fd))
		return 0;
	close_fn real = find_real_dlsym() ? (close_fn)real_dlsym(RTLD_NEXT, "close") : NULL;
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	return real(fd);
}

/* SoftHSM2's configuration (SOFTHSM2_CONF, else its default) and the tokendir it names: 0 if not found. */
static int find_token_dir(void)
{
	const char *conf = getenv("SOFTHSM2_CONF");
	if (conf == NULL || *conf == '\0')
		conf = "/etc/softhsm/softhsm2.conf";
	if (snprintf(conf_path, sizeof conf_path, "%s", conf) >= (int)sizeof conf_path)
		return 0;
	FILE *file = fopen(conf_path, "re");
	if (file == NULL)
		return 0;
	char line[PATH_MAX + 64];
	int found = 0;
	while (!found && fgets(line, sizeof line, file) != NULL) {
		char *key = line + strspn(line, " \t");
		if (strncmp(key, "directories.tokendir", 20) != 0)
			continue;
		char *value = key + 20;
		value += strspn(value, " \t");
		if (*value++ != '=')
			continue;
		value += strspn(value, " \t");
		size_t end = strcspn(value, "\r\n");
		while (end > 0 && (value[end - 1] == ' ' || value[end - 1] == '\t'))
			end--;
		value[end] = '\0';
		found = *value == '/' && snprintf(token_dir, sizeof token_dir, "%s", value) < (int)sizeof token_dir;
	}
	fclose(file);
	return found;
}

/* A worker ending without a connection: the thread stopped before the module's own exit. */
static void stop_at_exit(void)
{
	stop_watcher();
}

/* In the child of each fork: SoftHSM2 preloaded beside this library, initialised, watched. */
static void initialize_after_fork(void)
{
	get_function_list_fn get = (get_function_list_fn)real_dlsym(RTLD_DEFAULT, "C_GetFunctionList");
	struct function_list *list = NULL;
	Dl_info info;
	if (get == NULL || dladdr((void *)get, &info) == 0 || info.dli_fname == NULL || strstr(info.dli_fname, "libsofthsm2") == NULL)
		return;
	if (get(&list) != CKR_OK || list == NULL || !find_token_dir())
		return;
	memcpy(held_list.version, list->version, sizeof held_list.version);
	for (int i = 0; i < FUNCTIONS; i++)
		held_list.function[i] = (void *)not_initialized;
	held_list.function[C_INITIALIZE] = (void *)held_initialize;
	held_list.function[C_GET_FUNCTION_LIST] = (void *)held_get_function_list;
	module_list = list;
	module_get = get;
	held = 1;
	/* Without its watches the view could not be kept valid: the module initialised when asked. */
	watch_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	stop_fd = eventfd(0, EFD_CLOEXEC);
	if (watch_fd < 0 || stop_fd < 0 || inotify_add_watch(watch_fd, conf_path, WATCHED) < 0) {
		int watch = watch_fd, stop = stop_fd;
		watch_fd = stop_fd = -1;
		if (watch >= 0)
			close(watch);
		if (stop >= 0)
			close(stop);
		return;
	}
	initialize_view();
	/* No signal of the worker's is handled on this thread (OCaml's handlers run on its own). */
	sigset_t all, previous;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	/* A small stack (the default is RLIMIT_STACK, 8 MiB, kept in glibc's cache once joined): the worker's address space is limited. */
	pthread_attr_t attributes;
	pthread_attr_init(&attributes);
	pthread_attr_setstacksize(&attributes, WATCHER_STACK);
	watcher_running = pthread_create(&watcher, &attributes, watch_token, NULL) == 0;
	pthread_attr_destroy(&attributes);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (watcher_running)
		atexit(stop_at_exit);
}

__attribute__((constructor))
static void worker_module_init(void)
{
	if (find_real_dlsym())
		pthread_atfork(NULL, NULL, initialize_after_fork);
}
