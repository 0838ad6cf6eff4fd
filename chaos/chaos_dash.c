/* A drill on the dashboards: its start and objectives, every progress line (phases, faults, the
 * fleet's moves) and the objectives' results, as events of kind "drill" on the admin server of
 * the fleet the drill started, and on the one `wschaos run --admin URL` names. Each text begins
 * with the drill's name and a word the page reads: "start", "objective", "result", or the
 * line's time on the timeline. */
#include <stdio.h>
#include <string.h>

#include "chaos_admin.h"
#include "chaos_run.h"

static void chaos_dash_send(const chaos_run *run, int slot, const char *text)
{
    chaos_admin_post(run->admin_own, slot, text);
    chaos_admin_post(run->admin_given, slot, text);
}

static void chaos_dash_objectives(const chaos_run *run, bool judged)
{
    const chaos_drill *d = run->d;
    const chaos_report *r = run->r;
    char text[256];
    for (size_t i = 0; i < d->n_objectives; i++) {
        const chaos_objective *o = &d->objectives[i];
        const char *verdict = !judged ? "pending" : r->passed[i] ? "PASS" : "FAIL";
        if (judged && r->have[o->metric])
            snprintf(text, sizeof text, "%s: objective %s %s (%g)", d->name, verdict, o->text,
                     r->metric[o->metric]);
        else if (judged)
            snprintf(text, sizeof text, "%s: objective %s %s (not measured)", d->name, verdict,
                     o->text);
        else
            snprintf(text, sizeof text, "%s: objective %s %s", d->name, verdict, o->text);
        chaos_dash_send(run, -1, text);
    }
}

void chaos_dash_start(chaos_run *run)
{
    char err[512], url[256], token[CHAOS_ADMIN_TOKEN_MAX], path[CHAOS_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/admin.token", run->fleet.run_dir);
    if (chaos_admin_find_url(run->fleet.log, url, sizeof url) == 0 &&
        chaos_admin_read_token(path, token, sizeof token, err, sizeof err) == 0) {
        run->admin_own = chaos_admin_new(run->base, url, token, err, sizeof err);
    }
    if (run->o->admin_url != NULL) {
        run->admin_given =
            chaos_admin_new(run->base, run->o->admin_url, run->o->admin_token, err, sizeof err);
        if (run->admin_given == NULL)
            chaos_progress(run, "dashboard: %s", err);
    }
    char text[512];
    snprintf(text, sizeof text, "%s: start%s: %s", run->d->name, run->o->quick ? " (quick)" : "",
             run->d->description);
    chaos_dash_send(run, -1, text);
    chaos_dash_objectives(run, false);
}

void chaos_dash_line(const chaos_run *run, const char *line)
{
    if (run->admin_own == NULL && run->admin_given == NULL)
        return;
    char text[640];
    if (run->t0 != 0)
        snprintf(text, sizeof text, "%s: %.2fs %s", run->d->name,
                 (double)chaos_run_ms(run) / 1000.0, line);
    else
        snprintf(text, sizeof text, "%s: %s", run->d->name, line);
    chaos_dash_send(run, -1, text);
}

void chaos_dash_result(chaos_run *run)
{
    if (run->admin_own == NULL && run->admin_given == NULL)
        return;
    chaos_report_judge(run->r);
    chaos_dash_objectives(run, true);
    size_t held = 0;
    for (size_t i = 0; i < run->d->n_objectives; i++)
        held += run->r->passed[i];
    char text[512];
    snprintf(text, sizeof text, "%s: result %s (%zu of %zu objectives held)%s%s", run->d->name,
             run->r->all_passed ? "PASS" : "FAIL", held, run->d->n_objectives,
             run->r->error[0] ? ": " : "", run->r->error);
    chaos_dash_send(run, -1, text);
}

bool chaos_dash_idle(chaos_run *run)
{
    return chaos_admin_idle(run->admin_own) && chaos_admin_idle(run->admin_given);
}

void chaos_dash_close(chaos_run *run)
{
    chaos_admin *both[] = {run->admin_own, run->admin_given};
    for (size_t i = 0; i < 2; i++) {
        if (both[i] != NULL && !run->o->quiet)
            fprintf(stderr, "wschaos: %s: dashboard %s: %llu events posted, %llu failed\n",
                    run->d->name, chaos_admin_url(both[i]),
                    (unsigned long long)chaos_admin_posted(both[i]),
                    (unsigned long long)chaos_admin_failed(both[i]));
        chaos_admin_free(both[i]);
    }
    run->admin_own = run->admin_given = NULL;
}
