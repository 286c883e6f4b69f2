/*
 * The PKCS#11 module initialised by each level's card proxy worker as soon as it is forked, while
 * it waits for its connection, instead of in the application's first call. Preloaded into
 * pkcs11proxyd by levelCardProxy.ts beside the module; does anything only in the processes
 * pkcs11proxyd forks (its workers), never in the controller.
 *
 * Why: Caml Crush's worker calls the module's C_Initialize when the application's C_Initialize
 * arrives — for SoftHSM2 its configuration, its object store's files, its generator — while the
 * application waits; every worker serves one connection, so every application paid it.
 *
 * How: after the fork, the module's C_Initialize(NULL) — the arguments Caml Crush always passes.
 * Caml Crush finds the module's functions by dlsym(handle, "C_GetFunctionList"); this library's
 * dlsym gives it, for that one module, a function list of its own: until the application's
 * C_Initialize, every function answers CKR_CRYPTOKI_NOT_INITIALIZED, as the module would; that
 * C_Initialize answers CKR_OK and puts the module's own functions in the list. So the application
 * sees what it saw before (C_Initialize first, or "not initialised"), the filter above is
 * unchanged, and no session, login or handle exists before the connection: only the module's
 * state, each worker's own. Whatever fails here, the list is the module's and the worker
 * initialises it when asked, as before.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

typedef unsigned long ck_rv;
#define CKR_OK 0UL
#define CKR_CRYPTOKI_NOT_INITIALIZED 0x190UL
/* PKCS#11 2.x's CK_FUNCTION_LIST: a version, then 68 functions, C_Initialize first. */
#define FUNCTIONS 68
#define C_INITIALIZE 0
#define C_GET_FUNCTION_LIST 3

struct function_list {
	unsigned char version[2];
	void *function[FUNCTIONS];
};
typedef ck_rv (*get_function_list_fn)(struct function_list **);
typedef ck_rv (*initialize_fn)(void *);
typedef ck_rv (*finalize_fn)(void *);

static void *(*real_dlsym)(void *, const char *);
static get_function_list_fn module_get;
static struct function_list *module_list;
/* Caml Crush's view of the module while its C_Initialize was done here and not yet asked for. */
static struct function_list held_list;
static int held;

/* Every function but C_Initialize and C_GetFunctionList until then (one return type, CK_RV). */
static ck_rv not_initialized(void)
{
	return CKR_CRYPTOKI_NOT_INITIALIZED;
}

/* The application's C_Initialize: the module's own functions from now on. */
static ck_rv held_initialize(void *args)
{
	if (!held)
		return ((initialize_fn)module_list->function[C_INITIALIZE])(args);
	held = 0;
	memcpy(&held_list, module_list, sizeof held_list);
	if (args == NULL)
		return CKR_OK;
	/* Arguments this worker did not initialise with (Caml Crush passes none): the module's way. */
	((finalize_fn)module_list->function[C_INITIALIZE + 1])(NULL);
	return ((initialize_fn)module_list->function[C_INITIALIZE])(args);
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

/* Caml Crush's lookup of the module's entry point: the list above, for that module alone. */
void *dlsym(void *handle, const char *name)
{
	if (!find_real_dlsym())
		return NULL;
	void *found = real_dlsym(handle, name);
	if (found != NULL && found == (void *)module_get && strcmp(name, "C_GetFunctionList") == 0)
		return (void *)held_get_function_list;
	return found;
}

/* In the child of each fork: the module preloaded beside this library, initialised. */
static void initialize_after_fork(void)
{
	get_function_list_fn get = (get_function_list_fn)real_dlsym(RTLD_DEFAULT, "C_GetFunctionList");
	struct function_list *list = NULL;
	if (get == NULL || get(&list) != CKR_OK || list == NULL)
		return;
	if (((initialize_fn)list->function[C_INITIALIZE])(NULL) != CKR_OK)
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
		pthread_atfork(NULL, NULL, initialize_after_fork);
}
