/* Alerts on the admin server: every firing and resolved transition becomes an event of kind
 * "alert" (so the /ws feed and the dashboard's timeline carry it), and webhook alerts link back
 * to the dashboard. */
#include <stdio.h>

#include "sup_admin.h"
#include "sup_alerting.h"
#include "sup_alerts.h"
#include "sup_ctx.h"

static void sup_admin_on_alert(const sup_alert *al, const char *fleet, void *arg)
{
    sup_ctx *ctx = arg;
    char summary[160];
    (void)fleet;
    sup_alert_summary(summary, sizeof summary, al);
    sup_events_add(ctx, "alert", al->slot, "%s %s (%s): %s", al->firing ? "firing" : "resolved",
                   sup_alert_rule_alertname(al->rule), sup_alert_severity(al->rule), summary);
}

void sup_admin_alerts_start(sup_ctx *ctx)
{
    sup_alerting_set_hook(ctx, sup_admin_on_alert, ctx);
    sup_alerting_set_generator(ctx, sup_admin_url(ctx));
}
