/*
 * The PKCS#11 module's C_Initialize started by each level's card proxy worker in a thread of its
 * own as soon as the worker accepts its connection, instead of when the application's C_Initialize
 * arrives. Preloaded into pkcs11proxyd by levelCardProxy.ts beside the module; does anything only
 * in the processes pkcs11proxyd forks (its workers), never in the controller.
 *
 * Why: Caml Crush's worker calls the module's C_Initialize when the application's C_Initialize
 * arrives — for SoftHSM2 its configuration, its object store's files, its generator — while the
 * application waits. The application's first two calls (C_SetupArch, C_LoadModule: two round
 * trips through the guard) come before it; the module's initialisation now runs beside them.
 *
 * Why at the accept and not at the fork: the module reads the token when it initialises, and a
 * worker forked ahead of its connection would read it while another worker's login rewrites it
 * (SoftHSM2 2.6 truncates token.object, unlocks it, then writes it): a spare initialised at its
 * fork kept an empty token until its connection ("Token not initialized", bench/RESULTS.md). At
 * the accept, the module's view of the token is the connection's, as without this library.
 *
 * How: Caml Crush finds the module's functions by dlsym(handle, "C_GetFunctionList"); this
 * library's dlsym gives it, for that one module, a function list of its own: until the
 * application's C_Initialize, every function answers CKR_CRYPTOKI_NOT_INITIALIZED, as the module
 * would; that C_Initialize waits for the thread (if it was started) and answers its result, then
 * puts the module's own functions in the list. So the application sees what it saw before
 * (C_Initialize first, or "not initialised"), the filter above is unchanged, and no session,
 * login or handle exists before the application asks. Whatever fails here (no thread, the
 * thread's C_Initialize refused), the worker initialises the module when asked, as before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef unsigned long ck_rv;
#define CKR_OK 0UL
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL
/* PKCS#11 2.x's CK_FUNCTION_LIST: a version, then 68 functions, C_Initialize first. */
#define FUNCTIONS 68
#define C_INITIALIZE 0
#define C_FINALIZE 1
#define C_GET_FUNCTION_LIST 3

struct function_list {
	unsigned char version[2];
	void *function[FUNCTIONS];
};
typedef ck_rv (*get_function_list_fn)(struct function_list **);
typedef ck_rv (*initialize_fn)(void *);
typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*accept4_fn)(int, struct sockaddr *, socklen_t *, int);

static void *(*real_dlsym)(void *, const char *);
/* Set in a worker (the child of a fork) whose module was found: the module's entry point and list. */
static get_function_list_fn module_get;
static struct function_list *module_list;
/* Caml Crush's view of the module until the application's C_Initialize succeeded. */
static struct function_list held_list;
static int held;

/* The thread's C_Initialize: not started, running (or done, not yet joined), joined. */
enum { THREAD_NONE, THREAD_STARTED, THREAD_JOINED };
static int thread_state;
static pthread_t thread;
static ck_rv thread_result;

/* Every function but C_Initialize and C_GetFunctionList until then (one return type, CK_RV). */
static ck_rv not_initialized(void)
{
	return CKR_CRYPTOKI_NOT_INITIALIZED;
}

static ck_rv module_initialize(void *args)
{
	return ((initialize_fn)module_list->function[C_INITIALIZE])(args);
}

/* The thread's result, once it is done (CKR_CRYPTOKI_NOT_INITIALIZED: no thread ran). */
static ck_rv joined_result(void)
{
	if (thread_state != THREAD_STARTED)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	pthread_join(thread, NULL);
	thread_state = THREAD_JOINED;
	return thread_result;
}

/* The application's C_Initialize: the thread's result, then the module's own functions. */
static ck_rv held_initialize(void *args)
{
	if (!held)
		return module_initialize(args);
	ck_rv result = joined_result();
	if (result == CKR_OK && args != NULL) {
		/* Arguments the thread did not initialise with (Caml Crush passes none): the module's way. */
		((initialize_fn)module_list->function[C_FINALIZE])(NULL);
		result = module_initialize(args);
	} else if (result != CKR_OK) {
		/* No thread, or its C_Initialize refused: the application's own, as without this library. */
		result = module_initialize(args);
	}
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

static void *initialize_in_thread(void *unused)
{
	(void)unused;
	thread_result = module_initialize(NULL);
	return NULL;
}

/* A worker ending before its application's C_Initialize: the module's own exit after the thread's. */
static void join_at_exit(void)
{
	joined_result();
}

/* The worker's connection accepted: the module's C_Initialize started beside its first calls. */
static void begin_initialize(void)
{
	if (!held || thread_state != THREAD_NONE)
		return;
	/* No signal of the worker's is handled on this thread (OCaml's handlers run on its own). */
	sigset_t all, previous;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &previous);
	int created = pthread_create(&thread, NULL, initialize_in_thread, NULL);
	pthread_sigmask(SIG_SETMASK, &previous, NULL);
	if (created != 0)
		return;
	thread_state = THREAD_STARTED;
	atexit(join_at_exit);
}

int accept(int fd, struct sockaddr *address, socklen_t *length)
{
	accept_fn real = find_real_dlsym() ? (accept_fn)real_dlsym(RTLD_NEXT, "accept") : NULL;
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	int connection = real(fd, address, length);
	if (connection >= 0)
		begin_initialize();
	return connection;
}

int accept4(int fd, struct sockaddr *address, socklen_t *length, int flags)
{
	accept4_fn real = find_real_dlsym() ? (accept4_fn)real_dlsym(RTLD_NEXT, "accept4") : NULL;
	if (real == NULL) {
		errno = ENOSYS;
		return -1;
	}
	int connection = real(fd, address, length, flags);
	if (connection >= 0)
		begin_initialize();
	return connection;
}

/* In the child of each fork: the module preloaded beside this library found, its list held. */
static void hold_after_fork(void)
{
	get_function_list_fn get = (get_function_list_fn)real_dlsym(RTLD_DEFAULT, "C_GetFunctionList");
	struct function_list *list = NULL;
	if (get == NULL || get(&list) != CKR_OK || list == NULL)
		return;
	memcpy(held_list.version, list->version, sizeof held_list.version);
	for (int i = 0; i < FUNCTIONS; i++)
		held_list.function[i] = (void *)not_initialized;
	held_list.function[C_INITIALIZE] = (void *)held_initialize;
	held_list.function[C_GET_FUNCTION_LIST] = (void *)held_get_function_list;
	module_list = list;
	held = 1;
	module_get = get;
}

__attribute__((constructor))
static void worker_module_init(void)
{
	if (find_real_dlsym())
		pthread_atfork(NULL, NULL, hold_after_fork);
}
