/* wschaos: runs chaos drills against a fleet of its own and reports whether the fleet met each
 * drill's objectives. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chaos_admin.h"
#include "chaos_drill.h"
#include "chaos_proc.h"
#include "chaos_report.h"
#include "chaos_runner.h"
#include "wsf_parse.h"

#ifndef CHAOS_CLUSTER_SCRIPT
#define CHAOS_CLUSTER_SCRIPT "scripts/cluster"
#endif
#ifndef CHAOS_DRILL_DIR
#define CHAOS_DRILL_DIR "chaos/drills"
#endif

#define WSCHAOS_DRILLS_MAX 64

static const char wschaos_usage[] =
    "usage: wschaos list [--dir DIR]\n"
    "       wschaos run [--quick] [--json] [--keep] [--quiet] [--seed N] [--dir DIR]\n"
    "                   [--fleetd PATH] [--wsctl PATH]\n"
    "                   [--admin URL --admin-token-file FILE] DRILL... | --all\n"
    "commands:\n"
    "  list          the drills in DIR, with what each one does\n"
    "  run DRILL...  run drills (a name in DIR, or a path to a .drill file) one after another,\n"
    "                each against a fleet of its own on an ephemeral 127.0.0.1 port, or with\n"
    "                [drill] cluster = 3 on a local cluster of its own (scripts/cluster:\n"
    "                $WSF_CLUSTER_SCRIPT, else the source tree's)\n"
    "options:\n"
    "  --all         run every drill in DIR\n"
    "  --quick       the drills' short timelines and client counts (what CI runs)\n"
    "  --json        print one JSON document instead of the text reports\n"
    "  --keep        keep each drill's directory (configuration, fleet log)\n"
    "  --quiet       no progress lines on stderr\n"
    "  --seed N      seed for random choices (targets, client jitter)\n"
    "  --dir DIR     drill directory (default $WSCHAOS_DRILLS, else the source tree's "
    "chaos/drills)\n"
    "  --fleetd PATH, --wsctl PATH\n"
    "                the binaries (default $WSFLEETD and $WSCTL, else next to wschaos in the\n"
    "                build tree)\n"
    "  --admin URL   also post each drill's progress and results to the dashboard at URL\n"
    "                (http://127.0.0.1:PORT); each drill's own fleet always gets them\n"
    "  --admin-token-file FILE\n"
    "                the token for --admin (that fleet's RUNDIR/admin.token)\n"
    "exit: 0 every objective held, 1 a drill failed, 2 usage or a bad drill file\n";

typedef struct wschaos_args {
    const char *dir;
    const char *fleetd;
    const char *wsctl;
    const char *admin_token_file;
    char admin_token[CHAOS_ADMIN_TOKEN_MAX];
    bool all;
    bool json;
    chaos_run_opts run;
    const char *names[WSCHAOS_DRILLS_MAX];
    size_t n_names;
} wschaos_args;

static int wschaos_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int wschaos_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "wschaos: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(wschaos --help for usage)\n");
    va_end(ap);
    return 2;
}

/* A binary next to this executable in the build tree: ../supervisor/wsfleetd, ../ctl/wsctl. */
static const char *wschaos_sibling(char *buf, size_t len, const char *rel)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0) {
        return NULL;
    }
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL) {
        return NULL;
    }
    *slash = '\0';
    if (snprintf(buf, len, "%s/../%s", self, rel) >= (int)len) {
        return NULL;
    }
    return access(buf, X_OK) == 0 ? buf : NULL;
}

static int wschaos_parse(wschaos_args *a, int argc, char **argv, int first)
{
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        const char **value = NULL;
        if (strcmp(arg, "--all") == 0) {
            a->all = true;
        } else if (strcmp(arg, "--quick") == 0) {
            a->run.quick = true;
        } else if (strcmp(arg, "--json") == 0) {
            a->json = true;
        } else if (strcmp(arg, "--keep") == 0) {
            a->run.keep = true;
        } else if (strcmp(arg, "--quiet") == 0) {
            a->run.quiet = true;
        } else if (strcmp(arg, "--seed") == 0) {
            uint64_t seed = 0;
            if (i + 1 >= argc || wsf_parse_u64(&seed, argv[i + 1], 1, UINT64_MAX) != 0) {
                return wschaos_usage_error("--seed needs a whole number above 0");
            }
            a->run.seed = seed;
            i++;
        } else if (strcmp(arg, "--dir") == 0) {
            value = &a->dir;
        } else if (strcmp(arg, "--fleetd") == 0) {
            value = &a->fleetd;
        } else if (strcmp(arg, "--wsctl") == 0) {
            value = &a->wsctl;
        } else if (strcmp(arg, "--admin") == 0) {
            value = &a->run.admin_url;
        } else if (strcmp(arg, "--admin-token-file") == 0) {
            value = &a->admin_token_file;
        } else if (arg[0] == '-') {
            return wschaos_usage_error("unknown option '%s'", arg);
        } else if (a->n_names < WSCHAOS_DRILLS_MAX) {
            a->names[a->n_names++] = arg;
        } else {
            return wschaos_usage_error("too many drills");
        }
        if (value != NULL) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                return wschaos_usage_error("%s needs a value", arg);
            }
            *value = argv[++i];
        }
    }
    return 0;
}

static int wschaos_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths of the .drill files in dir, sorted by name, as heap strings. Returns how many, or
 * -1. */
static int wschaos_scan(const char *dir, char **names, size_t max)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(stderr, "wschaos: cannot read drill directory %s: %s\n", dir, strerror(errno));
        return -1;
    }
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        char *path = NULL;
        if (len > 6 && strcmp(e->d_name + len - 6, ".drill") == 0 &&
            asprintf(&path, "%s/%s", dir, e->d_name) > 0) {
            names[n++] = path;
        }
    }
    closedir(d);
    qsort(names, n, sizeof(*names), wschaos_name_cmp);
    return (int)n;
}

/* Loads the drill a command line names: a path (with a '/' or ending in .drill) or a name. */
static chaos_drill *wschaos_load(const char *dir, const char *name)
{
    char path[PATH_MAX];
    size_t len = strlen(name);
    if (strchr(name, '/') != NULL || (len > 6 && strcmp(name + len - 6, ".drill") == 0)) {
        snprintf(path, sizeof(path), "%s", name);
    } else {
        snprintf(path, sizeof(path), "%s/%s.drill", dir, name);
    }
    chaos_drill *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        return NULL;
    }
    char err[512];
    if (chaos_drill_load(d, path, err, sizeof(err)) != 0) {
        fprintf(stderr, "wschaos: %s\n", err);
        free(d);
        return NULL;
    }
    return d;
}

static int wschaos_list(const char *dir)
{
    char *names[WSCHAOS_DRILLS_MAX];
    int n = wschaos_scan(dir, names, WSCHAOS_DRILLS_MAX);
    if (n < 0) {
        return 2;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        chaos_drill *d = wschaos_load(dir, names[i]);
        if (d == NULL) {
            rc = 2;
        } else {
            printf("%-18s %s\n", d->name, d->description);
            free(d);
        }
        free(names[i]);
    }
    return rc;
}

static int wschaos_run(wschaos_args *a)
{
    char *scanned[WSCHAOS_DRILLS_MAX];
    int n_scanned = 0;
    if (a->all) {
        n_scanned = wschaos_scan(a->dir, scanned, WSCHAOS_DRILLS_MAX);
        if (n_scanned < 0) {
            return 2;
        }
        for (int i = 0; i < n_scanned && a->n_names < WSCHAOS_DRILLS_MAX; i++) {
            a->names[a->n_names++] = scanned[i];
        }
    }
    if (a->n_names == 0) {
        return wschaos_usage_error("run needs a DRILL or --all");
    }
    chaos_drill *drills[WSCHAOS_DRILLS_MAX] = {0};
    int rc = 0;
    for (size_t i = 0; i < a->n_names; i++) {
        drills[i] = wschaos_load(a->dir, a->names[i]);
        if (drills[i] == NULL) {
            rc = 2;
        }
    }
    chaos_report *reports[WSCHAOS_DRILLS_MAX] = {0};
    size_t n_reports = 0;
    if (rc == 0) {
        for (size_t i = 0; i < a->n_names; i++) {
            chaos_report *r = calloc(1, sizeof(*r));
            if (r == NULL) {
                rc = 1;
                break;
            }
            reports[n_reports++] = r;
            if (chaos_run_drill(drills[i], &a->run, r) != 0) {
                rc = 1;
            }
            if (!a->json) {
                chaos_report_text(r, stdout);
                fflush(stdout);
            }
        }
        if (a->json) {
            if (chaos_report_json((const chaos_report *const *)reports, n_reports, stdout) != 0) {
                rc = 1;
            }
        } else if (n_reports > 1) {
            chaos_report_summary((const chaos_report *const *)reports, n_reports, stdout);
        }
    }
    for (size_t i = 0; i < n_reports; i++) {
        free(reports[i]);
    }
    for (size_t i = 0; i < a->n_names; i++) {
        free(drills[i]);
    }
    for (int i = 0; i < n_scanned; i++) {
        free(scanned[i]);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(wschaos_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        puts("wschaos " WSF_VERSION);
        return 0;
    }
    wschaos_args a;
    memset(&a, 0, sizeof(a));
    const char *env_dir = getenv("WSCHAOS_DRILLS");
    a.dir = env_dir != NULL && env_dir[0] != '\0' ? env_dir : CHAOS_DRILL_DIR;
    int rc = wschaos_parse(&a, argc, argv, 2);
    if (rc != 0) {
        return rc;
    }
    if (strcmp(argv[1], "list") == 0) {
        return wschaos_list(a.dir);
    }
    if (strcmp(argv[1], "run") != 0) {
        return wschaos_usage_error("unknown command '%s'", argv[1]);
    }
    char fleetd_buf[PATH_MAX];
    char wsctl_buf[PATH_MAX];
    if (a.fleetd == NULL) {
        const char *env = getenv("WSFLEETD");
        a.fleetd = env != NULL && env[0] != '\0'
                       ? env
                       : wschaos_sibling(fleetd_buf, sizeof(fleetd_buf), "supervisor/wsfleetd");
    }
    if (a.wsctl == NULL) {
        const char *env = getenv("WSCTL");
        a.wsctl = env != NULL && env[0] != '\0'
                      ? env
                      : wschaos_sibling(wsctl_buf, sizeof(wsctl_buf), "ctl/wsctl");
    }
    if (a.fleetd == NULL || access(a.fleetd, X_OK) != 0) {
        return wschaos_usage_error("cannot find wsfleetd (use --fleetd PATH)");
    }
    if (a.wsctl == NULL || access(a.wsctl, X_OK) != 0) {
        return wschaos_usage_error("cannot find wsctl (use --wsctl PATH)");
    }
    a.run.fleetd_path = a.fleetd;
    a.run.wsctl_path = a.wsctl;
    const char *script = getenv("WSF_CLUSTER_SCRIPT");
    a.run.cluster_script = script != NULL && script[0] != '\0' ? script : CHAOS_CLUSTER_SCRIPT;
    if (a.run.admin_url != NULL) {
        char host[64], err[600];
        uint16_t port;
        if (chaos_admin_parse_url(a.run.admin_url, host, sizeof(host), &port) != 0) {
            return wschaos_usage_error("--admin %s: not http://HOST:PORT", a.run.admin_url);
        }
        if (a.admin_token_file == NULL) {
            return wschaos_usage_error("--admin needs --admin-token-file (the fleet's "
                                       "RUNDIR/admin.token)");
        }
        if (chaos_admin_read_token(a.admin_token_file, a.admin_token, sizeof(a.admin_token), err,
                                   sizeof(err)) != 0) {
            return wschaos_usage_error("%s", err);
        }
        a.run.admin_token = a.admin_token;
    } else if (a.admin_token_file != NULL) {
        return wschaos_usage_error("--admin-token-file goes with --admin URL");
    }
    signal(SIGPIPE, SIG_IGN);
    /* Each client is a descriptor; a drill's clients come on top of the fleet's own. */
    long nofile = chaos_proc_raise_nofile();
    if (nofile > 0 && nofile < 16384) {
        fprintf(stderr, "wschaos: warning: only %ld file descriptors\n", nofile);
    }
    return wschaos_run(&a);
}
