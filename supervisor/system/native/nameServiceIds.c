/*
 * Who holds some uids or gids, as the name service answers (system/accounts.ts): one line per id,
 *   <id> held <name>        an entry holds it (the name may be empty)
 *   <id> free               every source consulted answered "not found"
 *   <id> unavailable <errno> <why>   a source could not be asked: nobody can tell
 * Usage: nameServiceIds passwd|group <id>...  (status 0 once every id has its line; 1 for bad usage).
 *
 * Why not getent: it answers 2 for "not found" and for "a source was unavailable" (LDAP or SSSD
 * down) alike. getpwuid_r/getgrgid_r tell them apart (glibc's nss/getXXbyYY_r.c: 0 and a NULL
 * result for NOTFOUND, the errno for UNAVAIL). One case they do not: a source named in
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
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MAX_BUFFER (1 << 20)

/** A source of `database` that cannot be loaded, written into `why`; 0 when each one can. */
static int unloadable_source(const char *database, const char *function, char *why, size_t why_size) {
  FILE *conf = fopen("/etc/nsswitch.conf", "re");
  if (!conf) return 0; /* glibc's defaults then: files alone */
  char line[4096];
  size_t database_length = strlen(database);
  int problem = 0;
  while (!problem && fgets(line, sizeof line, conf)) {
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
      if (snprintf(library, sizeof library, "libnss_%s.so.2", token) >= (int)sizeof library || snprintf(symbol, sizeof symbol, "_nss_%s_%s", token, function) >= (int)sizeof symbol) {
        snprintf(why, why_size, "source %.100s: a name too long", token);
        problem = 1;
        break;
      }
      void *module = dlopen(library, RTLD_LAZY | RTLD_LOCAL);
      if (!module) {
        const char *error = dlerror();
        snprintf(why, why_size, "source %.100s cannot be loaded: %.300s", token, error ? error : library);
        problem = 1;
      } else if (!dlsym(module, symbol)) {
        snprintf(why, why_size, "source %.100s has no %.200s", token, symbol);
        problem = 1;
      }
    }
  }
  fclose(conf);
  return problem;
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
  int source_missing = unloadable_source(argv[1], passwd ? "getpwuid_r" : "getgrgid_r", why, sizeof why);
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
    printf("%lu ", id);
    if (name) {
      printf("held ");
      print_name(name);
    } else if (error) printf("unavailable %d %s\n", error, strerror(error));
    else if (source_missing) printf("unavailable 0 %s\n", why);
    else printf("free\n");
  }
  free(buffer);
  return fflush(stdout) == 0 ? 0 : 1;
}
