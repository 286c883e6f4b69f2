/*
 * Who holds some uids or gids, as the name service answers (system/accounts.ts): one line per id,
 *   <id> held <name>        an entry holds it (the name may be empty)
 *   <id> free               every source consulted answered "not found"
 *   <id> unavailable <errno> <why>   a source could not be asked: nobody can tell
 * Usage: nameServiceIds passwd|group <id>...  (status 0 once every id has its line; 1 for bad usage).
 *
 * Why not getent: it answers 2 for "not found" and for "a source was unavailable" (LDAP or SSSD
 * down) alike. getpwuid_r/getgrgid_r tell them apart only for the LAST source asked (glibc's
 * nss/getXXbyYY_r.c: 0 and a NULL result for NOTFOUND, the errno for UNAVAIL): with
 * `passwd: sss files`, SSSD down then files' "not found" is "not found"
 * (nameServiceUnavailFirst.attack.test.ts). So when glibc finds no entry, each module source is
 * asked itself, and any answer but "not found" is "unavailable". One case glibc does not tell: a source named in
 * /etc/nsswitch.conf whose module cannot be loaded (nss_ldap or nss_sss removed, half installed)
 * is skipped, and the answer is the sources' before it ("not found"). So each source the database's
 * line names is loaded here first, as glibc loads it (libnss_<name>.so.2, _nss_<name>_get??id_r);
 * one that cannot be makes every id not held "unavailable". `files` and `dns` are built into libc.
 *
 * Runs as its own process (the cage manager's look-ups): a source that hangs hangs this process,
 * which the caller kills at its timeout, never the manager. Reads /etc/nsswitch.conf and what its
 * sources answer; writes stdout only.
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_BUFFER (1 << 20)

/** A source's own look-up, as glibc calls it (the same arguments for getpwuid_r and getgrgid_r). */
typedef enum nss_status (*lookup_function)(unsigned int id, void *entry, char *buffer, size_t size, int *errnop);

#define MAX_SOURCES 32

struct source {
  char name[64];
  lookup_function lookup;
};

/**
 * The sources of `database` that are modules (not `files` or `dns`), loaded into `sources`; 1 with
 * `why` written when one cannot be loaded (or there are more than MAX_SOURCES), else 0. The lines
 * are read whole (getline: glibc reads them so, a source past any length is still one).
 */
static int load_sources(const char *database, const char *function, struct source *sources, int *count, char *why, size_t why_size) {
  *count = 0;
  FILE *conf = fopen("/etc/nsswitch.conf", "re");
  if (!conf) return 0; /* glibc's defaults then: files alone */
  char *line = NULL;
  size_t line_size = 0;
  size_t database_length = strlen(database);
  int problem = 0;
  while (!problem && getline(&line, &line_size, conf) != -1) {
    char *comment = strchr(line, '#');
    if (comment) *comment = '\0';
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (strncmp(p, database, database_length) != 0) continue;
    p += database_length;
    while (isspace((unsigned char)*p)) p++;
    if (*p != ':') continue;
    p++;
    for (char *token = strtok(p, " \t\r\n"); token && !problem; token = strtok(NULL, " \t\r\n")) {
      if (*token == '[') { /* an action ([NOTFOUND=return]), spaces inside included */
        while (token && !strchr(token, ']')) token = strtok(NULL, " \t\r\n");
        continue;
      }
      if (strcmp(token, "files") == 0 || strcmp(token, "dns") == 0) continue;
      char library[PATH_MAX], symbol[256];
      if (strlen(token) >= sizeof sources[0].name || snprintf(library, sizeof library, "libnss_%s.so.2", token) >= (int)sizeof library || snprintf(symbol, sizeof symbol, "_nss_%s_%s", token, function) >= (int)sizeof symbol) {
        snprintf(why, why_size, "source %.100s: a name too long", token);
        problem = 1;
        break;
      }
      if (*count >= MAX_SOURCES) {
        snprintf(why, why_size, "more than %d sources", MAX_SOURCES);
        problem = 1;
        break;
      }
      void *module = dlopen(library, RTLD_LAZY | RTLD_LOCAL);
      void *lookup = module ? dlsym(module, symbol) : NULL;
      if (!module) {
        const char *error = dlerror();
        snprintf(why, why_size, "source %.100s cannot be loaded: %.300s", token, error ? error : library);
        problem = 1;
      } else if (!lookup) {
        snprintf(why, why_size, "source %.100s has no %.200s", token, symbol);
        problem = 1;
      } else {
        snprintf(sources[*count].name, sizeof sources[0].name, "%s", token);
        sources[*count].lookup = (lookup_function)lookup;
        (*count)++;
      }
    }
  }
  free(line);
  fclose(conf);
  return problem;
}

/**
 * Asks each module source itself, as glibc would have, once glibc's look-up said "not found": glibc
 * gives the status of the LAST source it asked, so a source that was unavailable (SSSD, LDAP down)
 * before one that answered "not found" (`passwd: sss files`) read as "not found". 1 with `name`
 * set when a source holds the id, -1 with `why` written when one could not answer, 0 when each
 * answered "not found". `*buffer` grows as glibc's own would (ERANGE).
 */
static int ask_each_source(int passwd, unsigned long id, const struct source *sources, int count, char **buffer, size_t *size, const char **name, char *why, size_t why_size) {
  for (int i = 0; i < count; i++) {
    struct passwd account;
    struct group group;
    enum nss_status status;
    int error;
    for (;;) {
      error = 0;
      status = sources[i].lookup((unsigned int)id, passwd ? (void *)&account : (void *)&group, *buffer, *size, &error);
      if (!(status == NSS_STATUS_TRYAGAIN && error == ERANGE) || *size >= MAX_BUFFER) break;
      char *larger = realloc(*buffer, *size * 2);
      if (!larger) {
        snprintf(why, why_size, "source %s: out of memory", sources[i].name);
        return -1;
      }
      *buffer = larger;
      *size *= 2;
    }
    if (status == NSS_STATUS_SUCCESS) {
      const char *held = passwd ? account.pw_name : group.gr_name;
      *name = held ? held : "";
      return 1;
    }
    if (status != NSS_STATUS_NOTFOUND) {
      snprintf(why, why_size, "%d source %s answered %s: %s", error, sources[i].name, status == NSS_STATUS_UNAVAIL ? "unavailable" : status == NSS_STATUS_TRYAGAIN ? "try again" : "no answer", error ? strerror(error) : "no errno");
      return -1;
    }
  }
  return 0;
}

/** The name, one line whatever it holds. */
static void print_name(const char *name) {
  for (const char *c = name; *c; c++) putchar(*c == '\n' || *c == '\r' ? '?' : *c);
  putchar('\n');
}

int main(int argc, char **argv) {
  if (argc < 3 || (strcmp(argv[1], "passwd") != 0 && strcmp(argv[1], "group") != 0)) {
    fprintf(stderr, "usage: nameServiceIds passwd|group <id>...\n");
    return 1;
  }
  int passwd = strcmp(argv[1], "passwd") == 0;
  char why[512] = "";
  struct source sources[MAX_SOURCES];
  int source_count = 0;
  int source_missing = load_sources(argv[1], passwd ? "getpwuid_r" : "getgrgid_r", sources, &source_count, why, sizeof why);
  size_t size = 16384;
  char *buffer = malloc(size);
  if (!buffer) return 1;
  for (int i = 2; i < argc; i++) {
    char *end;
    errno = 0;
    unsigned long id = strtoul(argv[i], &end, 10);
    if (errno || *end || end == argv[i] || id > 0xfffffffeUL) {
      fprintf(stderr, "not an id: %s\n", argv[i]);
      return 1;
    }
    int error;
    const char *name = NULL;
    for (;;) {
      if (passwd) {
        struct passwd entry, *result = NULL;
        error = getpwuid_r((uid_t)id, &entry, buffer, size, &result);
        if (!error && result) name = entry.pw_name ? entry.pw_name : "";
      } else {
        struct group entry, *result = NULL;
        error = getgrgid_r((gid_t)id, &entry, buffer, size, &result);
        if (!error && result) name = entry.gr_name ? entry.gr_name : "";
      }
      if (error != ERANGE || size >= MAX_BUFFER) break;
      size *= 2;
      char *larger = realloc(buffer, size);
      if (!larger) return 1;
      buffer = larger;
    }
    char unanswered[512] = "";
    int asked = 0;
    if (!name && !error && !source_missing) asked = ask_each_source(passwd, id, sources, source_count, &buffer, &size, &name, unanswered, sizeof unanswered);
    printf("%lu ", id);
    if (asked < 0) printf("unavailable %s\n", unanswered);
    else if (name) {
      printf("held ");
      print_name(name);
    } else if (error) printf("unavailable %d %s\n", error, strerror(error));
    else if (source_missing) printf("unavailable 0 %s\n", why);
    else printf("free\n");
  }
  free(buffer);
  return fflush(stdout) == 0 ? 0 : 1;
}
