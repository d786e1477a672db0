/* console/api.c: the console's actions and views, through the same code as the REST API and
 * the CLI: keys are made by auth/provision.c and written by the store thread before the
 * registry learns them; a key's state changes in the store first too; revocations are
 * planned by auth/token_service.c (as POST /keys/{keyName}/revokeTokens with that key's
 * Basic auth, RSA17), stored, then applied and sent to live connections (40141). Key secrets
 * leave only in the reply that creates them. Logs name keys by name only. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "core/token_codec.h"
#include "server/auth/provision.h"
#include "server/clock.h"
#include "server/console/internal.h"
#include "server/console/metrics_view.h"
#include "server/metrics.h"
#include "server/log.h"

#define MAX_CONNECTIONS_LISTED 200
#define MAX_TARGET_VALUE 2048

/* ---- GET /console/api/apps --------------------------------------------------------------- */

typedef struct conn_counts {
    json_t *per_app; /* appId -> {live, detached} */
    size_t live, detached;
} conn_counts;

static void count_conn(void *ctx, const rta_gateway_conn_info *ci)
{
    conn_counts *cc = ctx;
    json_t *a = json_object_get(cc->per_app, ci->app_id);
    if (!a) {
        a = json_pack("{s:i, s:i}", "live", 0, "detached", 0);
        json_object_set_new(cc->per_app, ci->app_id, a);
    }
    const char *field = ci->live ? "live" : "detached";
    json_object_set_new(a, field, json_integer(json_integer_value(json_object_get(a, field)) + 1));
    if (ci->live)
        cc->live++;
    else
        cc->detached++;
}

static json_t *key_json(const rta_key_entry *k)
{
    return json_pack("{s:s, s:s, s:b, s:b, s:I}", "keyName", k->key_name, "capability",
                     k->capability_text ? k->capability_text : "", "revocableTokens", k->revocable,
                     "enabled", k->enabled, "created", (json_int_t)k->created);
}

void rta__console_apps(rta_console *c, rta_http_session *s)
{
    const rta_registry *reg = c->deps.registry;
    conn_counts cc = {json_object(), 0, 0};
    rta_gateway_each_conn(c->deps.gateway, count_conn, &cc);
    json_t *apps = json_object(); /* appId -> app, then flattened sorted */
    for (size_t i = 0; i < reg->apps.cap; i++) {
        const rta_app_entry *a = reg->apps.slots[i].key ? reg->apps.slots[i].value : NULL;
        if (!a) continue;
        json_t *conns = json_object_get(cc.per_app, a->app_id);
        conns = conns ? json_incref(conns) : json_pack("{s:i, s:i}", "live", 0, "detached", 0);
        json_object_set_new(apps, a->app_id,
                            json_pack("{s:s, s:b, s:I, s:o, s:[]}", "appId", a->app_id, "sandbox",
                                      a->sandbox, "created", (json_int_t)a->created,
                                      "connections", conns, "keys"));
    }
    for (size_t i = 0; i < reg->keys.cap; i++) {
        const rta_key_entry *k = reg->keys.slots[i].key ? reg->keys.slots[i].value : NULL;
        json_t *app = k ? json_object_get(apps, k->app_id) : NULL;
        if (app) json_array_append_new(json_object_get(app, "keys"), key_json(k));
    }
    json_t *list = json_array();
    const char *id;
    json_t *app;
    json_object_foreach(apps, id, app) json_array_append(list, app);
    json_decref(apps);
    json_decref(cc.per_app);
    rta__console_reply_json(s, 200, json_pack("{s:o, s:{s:I, s:I}}", "apps", list, "connections",
                                              "live", (json_int_t)cc.live, "detached",
                                              (json_int_t)cc.detached));
}

/* ---- GET /console/api/connections?clientId= ---------------------------------------------- */

typedef struct conn_find {
    const char *client_id; /* NULL: all */
    json_t *list;
    size_t matched;
    conn_counts counts;
} conn_find;

static void find_conn(void *ctx, const rta_gateway_conn_info *ci)
{
    conn_find *f = ctx;
    count_conn(&f->counts, ci);
    if (f->client_id && (!ci->client_id || strcmp(ci->client_id, f->client_id))) return;
    if (++f->matched > MAX_CONNECTIONS_LISTED) return;
    json_array_append_new(
        f->list, json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I}", "connectionId", ci->connection_id,
                           "appId", ci->app_id, "keyName", ci->key_name, "clientId",
                           ci->client_id, "live", ci->live, "expires", (json_int_t)ci->expires));
}

void rta__console_connections(rta_console *c, rta_http_session *s)
{
    char arg[600];
    const char *client_id = lws_get_urlarg_by_name(s->wsi, "clientId=", arg, (int)sizeof(arg));
    conn_find f = {client_id && client_id[0] ? client_id : NULL, json_array(), 0,
                   {json_object(), 0, 0}};
    rta_gateway_each_conn(c->deps.gateway, find_conn, &f);
    rta__console_reply_json(
        s, 200,
        json_pack("{s:o, s:{s:I, s:I}, s:o, s:I, s:b}", "perApp", f.counts.per_app, "total", "live",
                  (json_int_t)f.counts.live, "detached", (json_int_t)f.counts.detached,
                  "connections", f.list, "matched", (json_int_t)f.matched, "truncated",
                  f.matched > MAX_CONNECTIONS_LISTED));
}

/* ---- POST /console/api/keys -------------------------------------------------------------- */

typedef struct key_job {
    rta_store_job job;
    rta_http_pending *pending;
    rta_console *console;
    rta_new_key key;
    char app_id[RTA_KEY_ID_MAX + 1];
    int64_t created;
    int enabled;  /* key/state */
    int is_state; /* key/state: key holds only the name; else a new key */
} key_job;

static void key_job_free(key_job *j)
{
    rta_new_key_clear(&j->key);
    free(j);
}

static void create_run(rta_store_job *job, rta_store *store)
{
    key_job *j = (key_job *)job;
    rta_key_record rec = rta_new_key_record(&j->key, j->app_id, j->created);
    job->rc = store->ops->add_key(store, &rec, &job->err);
}

static void create_done(rta_store_job *job)
{
    key_job *j = (key_job *)job;
    rta_registry *reg = j->console->deps.registry;
    if (!job->rc) {
        rta_key_record rec = rta_new_key_record(&j->key, j->app_id, j->created);
        job->rc = rta_registry_put_key(reg, &rec, &job->err);
    }
    if (!job->rc) rta_log_info("console: key %s created", j->key.key_name);
    rta_http_session *s = j->pending->session;
    if (s && job->rc) {
        rta__console_reply_error(s, job->err.code, 0, job->err.message);
    } else if (s) {
        char full[RTA_KEY_NAME_MAX + RTA_KEY_SECRET_MAX + 2];
        snprintf(full, sizeof(full), "%s:%s", j->key.key_name, j->key.secret);
        rta__console_reply_json(s, 201,
                                json_pack("{s:s, s:s, s:s, s:s, s:b}", "keyName", j->key.key_name,
                                          "appId", j->app_id, "keyStr", full, "capability",
                                          j->key.capability, "revocableTokens", j->key.revocable));
        OPENSSL_cleanse(full, sizeof(full));
    }
    rta_http_finish(j->pending);
    key_job_free(j);
}

static int submit(rta_console *c, rta_http_session *s, key_job *j)
{
    if (!(j->pending = rta_http_go_async(s))) {
        key_job_free(j);
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return -1;
    }
    j->console = c;
    c->deps.submit(c->deps.ctx, &j->job);
    return 0;
}

void rta__console_create_key(rta_console *c, rta_http_session *s, json_t *body)
{
    json_t *app = json_object_get(body, "appId"), *cap = json_object_get(body, "capability");
    json_t *rev = json_object_get(body, "revocableTokens");
    if (!json_is_string(app) || (cap && !json_is_string(cap) && !json_is_object(cap)) ||
        (rev && !json_is_boolean(rev))) {
        rta__console_reply_error(s, RTA_ERR_INVALID_BODY, 400,
                                 "Expected {appId, capability?: JSON text or object, "
                                 "revocableTokens?: boolean}");
        return;
    }
    if (!rta_registry_app(c->deps.registry, json_string_value(app))) {
        rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such app");
        return;
    }
    char *cap_text = NULL;
    if (json_is_object(cap))
        cap_text = json_dumps(cap, JSON_COMPACT);
    else if (json_is_string(cap) && json_string_length(cap) > 0)
        cap_text = strdup(json_string_value(cap));
    rta_key_spec spec = {cap_text, json_is_true(rev)};
    key_job *j = calloc(1, sizeof(*j));
    rta_error err;
    int rc = j ? rta_new_key_prepare(json_string_value(app), &spec, &j->key, &err)
               : rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    free(cap_text);
    if (rc) { /* 40000: an invalid or empty capability (RSA9f, core/capability.c) */
        free(j);
        rta__console_reply_error(s, err.code, 0, err.message);
        return;
    }
    snprintf(j->app_id, sizeof(j->app_id), "%s", json_string_value(app));
    j->created = rta_clock_now();
    j->job.run = create_run;
    j->job.done = create_done;
    submit(c, s, j);
}

/* ---- POST /console/api/keys/state -------------------------------------------------------- */

static void state_run(rta_store_job *job, rta_store *store)
{
    key_job *j = (key_job *)job;
    job->rc = store->ops->set_key_enabled(store, j->key.key_name, j->enabled, &job->err);
}


/* Answers a key job's request (the key as it is now, or the job's error), then frees it. */
static void key_job_reply(key_job *j, const rta_key_entry *k)
{
    rta_store_job *job = &j->job;
    rta_http_session *s = j->pending->session;
    if (s && job->rc)
        rta__console_reply_error(s, job->err.code, 0, job->err.message);
    else if (s)
        rta__console_reply_json(s, 200, k ? key_json(k) : json_object());
    rta_http_finish(j->pending);
    key_job_free(j);
}

static void state_done(rta_store_job *job)
{
    key_job *j = (key_job *)job;
    rta_console *c = j->console;
    const rta_key_entry *k = NULL;
    if (!job->rc) {
        /* the registry now, not at the next reload: live connections of a disabled key end
         * at once (40131, rta_gateway_credentials_changed) */
        k = rta_registry_key(c->deps.registry, j->key.key_name, strlen(j->key.key_name));
        if (k && k->enabled != j->enabled) {
            rta_key_record rec = {k->key_name, k->app_id, k->secret, k->capability_text,
                                  k->revocable, j->enabled, k->created};
            char name[RTA_KEY_NAME_MAX + 1];
            snprintf(name, sizeof(name), "%s", k->key_name);
            rta_registry_put_key(c->deps.registry, &rec, &job->err); /* frees k */
            k = rta_registry_key(c->deps.registry, name, strlen(name));
            c->deps.credentials_changed(c->deps.ctx);
        }
        rta_log_info("console: key %s %s", j->key.key_name, j->enabled ? "enabled" : "disabled");
    }
    key_job_reply(j, k);
}

void rta__console_key_state(rta_console *c, rta_http_session *s, json_t *body)
{
    json_t *name = json_object_get(body, "keyName"), *enabled = json_object_get(body, "enabled");
    if (!json_is_string(name) || !json_is_boolean(enabled)) {
        rta__console_reply_error(s, RTA_ERR_INVALID_BODY, 400, "Expected {keyName, enabled}");
        return;
    }
    const char *n = json_string_value(name);
    if (!rta_registry_key(c->deps.registry, n, strlen(n))) {
        rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such key");
        return;
    }
    key_job *j = calloc(1, sizeof(*j));
    if (!j) {
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    snprintf(j->key.key_name, sizeof(j->key.key_name), "%s", n);
    j->enabled = json_is_true(enabled);
    j->is_state = 1;
    j->job.run = state_run;
    j->job.done = state_done;
    submit(c, s, j);
}

/* ---- POST /console/api/keys/capability ---------------------------------------------------- */

static void capability_run(rta_store_job *job, rta_store *store)
{
    key_job *j = (key_job *)job;
    job->rc = store->ops->set_key_capability
                  ? store->ops->set_key_capability(store, j->key.key_name, j->key.capability,
                                                   &job->err)
                  : rta_error_set(&job->err, RTA_ERR_INTERNAL, "This store cannot change a key");
}

static void capability_done(rta_store_job *job)
{
    key_job *j = (key_job *)job;
    rta_console *c = j->console;
    const rta_key_entry *k = NULL;
    if (!job->rc) {
        /* new tokens get the new capability now, not at the next reload; tokens already
         * issued keep theirs until they expire (a JWT beyond the key's is refused, 40160) */
        k = rta_registry_key(c->deps.registry, j->key.key_name, strlen(j->key.key_name));
        if (k) {
            rta_key_record rec = {k->key_name, k->app_id, k->secret, j->key.capability,
                                  k->revocable, k->enabled, k->created};
            job->rc = rta_registry_put_key(c->deps.registry, &rec, &job->err); /* frees k */
            k = rta_registry_key(c->deps.registry, j->key.key_name, strlen(j->key.key_name));
        }
        rta_log_info("console: key %s capability changed", j->key.key_name);
    }
    key_job_reply(j, k);
}

void rta__console_key_capability(rta_console *c, rta_http_session *s, json_t *body)
{
    json_t *name = json_object_get(body, "keyName"), *cap = json_object_get(body, "capability");
    if (!json_is_string(name) || !(json_is_string(cap) || json_is_object(cap))) {
        rta__console_reply_error(s, RTA_ERR_INVALID_BODY, 400,
                                 "Expected {keyName, capability: JSON text or object}");
        return;
    }
    const char *n = json_string_value(name);
    if (!rta_registry_key(c->deps.registry, n, strlen(n))) {
        rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such key");
        return;
    }
    char *text = json_is_object(cap) ? json_dumps(cap, JSON_COMPACT)
                                     : strdup(json_string_value(cap));
    rta_capability parsed;
    rta_error err;
    int rc = text ? rta_capability_parse(text, strlen(text), &parsed, &err)
                  : rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    free(text);
    if (rc) { /* 40000, as for a new key (RSA9f) */
        rta__console_reply_error(s, err.code, 0, err.message);
        return;
    }
    rta_buf canonical = RTA_BUF_INIT;
    int empty = rta_capability_is_empty(&parsed);
    if (!empty) rta_capability_canonical(&parsed, &canonical);
    rta_capability_free(&parsed);
    key_job *j = empty ? NULL : calloc(1, sizeof(*j));
    if (!j) {
        rta_buf_free(&canonical);
        if (empty)
            rta__console_reply_error(s, RTA_ERR_BAD_REQUEST, 400,
                                     "A key capability must not be empty");
        else
            rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    snprintf(j->key.key_name, sizeof(j->key.key_name), "%s", n);
    j->key.capability = rta_buf_detach(&canonical, NULL);
    if (!j->key.capability) {
        free(j);
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    j->job.run = capability_run;
    j->job.done = capability_done;
    submit(c, s, j);
}

/* ---- POST /console/api/revoke ------------------------------------------------------------ */

typedef struct revoke_job {
    rta_store_job job;
    rta_http_pending *pending;
    rta_console *console;
    char key_name[RTA_KEY_NAME_MAX + 1];
    rta_revocation_batch result;
    rta_revocation_plan *plans;
    size_t plan_count;
} revoke_job;

static void revoke_job_free(revoke_job *j)
{
    rta_revocation_batch_clear(&j->result);
    rta_revocation_plans_free(j->plans, j->plan_count);
    free(j);
}

static void revoke_run(rta_store_job *job, rta_store *store)
{
    revoke_job *j = (revoke_job *)job;
    job->rc = rta_revocation_plans_store(store, j->key_name, j->plans, j->plan_count, &job->err);
}

static void reply_batch(rta_http_session *s, const char *key_name, const rta_revocation_batch *b)
{
    rta_buf out = RTA_BUF_INIT;
    rta_revocation_batch_encode(b, RTA_FORMAT_JSON, &out);
    json_t *batch = out.data ? json_loadb(out.data, out.len, 0, NULL) : NULL;
    rta_buf_free(&out);
    rta__console_reply_json(s, 201, json_pack("{s:s, s:o*}", "keyName", key_name, "result", batch));
}

static void revoke_done(rta_store_job *job)
{
    revoke_job *j = (revoke_job *)job;
    rta_console *c = j->console;
    if (!job->rc) {
        /* durable: enforce it, and end live connections (40141, RTN22a) */
        rta_token_service_apply_revocations(c->deps.tokens, j->key_name, j->plans, j->plan_count);
        const char *targets[RTA_MAX_REVOCATION_TARGETS];
        size_t n = rta_revocation_plan_targets(j->plans, j->plan_count, targets);
        c->deps.revoked(c->deps.ctx, j->key_name, targets, n);
        rta_log_info("console: revoked %zu target(s) of key %s", j->plan_count, j->key_name);
    }
    rta_http_session *s = j->pending->session;
    if (s && job->rc)
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Could not store the revocation");
    else if (s)
        reply_batch(s, j->key_name, &j->result);
    rta_http_finish(j->pending);
    revoke_job_free(j);
}

void rta__console_revoke(rta_console *c, rta_http_session *s, json_t *body)
{
    json_t *jk = json_object_get(body, "keyName"), *jt = json_object_get(body, "type");
    json_t *jv = json_object_get(body, "value");
    const char *type = json_string_value(jt), *value = json_string_value(jv);
    if ((jk && !json_is_string(jk)) || !type || !value || !value[0] ||
        json_string_length(jv) > MAX_TARGET_VALUE ||
        (strcmp(type, "clientId") && strcmp(type, "revocationKey") && strcmp(type, "token"))) {
        rta__console_reply_error(s, RTA_ERR_INVALID_BODY, 400,
                                 "Expected {keyName, type: clientId | revocationKey | token, "
                                 "value} (keyName optional for a token)");
        return;
    }
    char key_name[RTA_KEY_NAME_MAX + 1] = "";
    rta_error err;
    if (jk) {
        snprintf(key_name, sizeof(key_name), "%s", json_string_value(jk));
    } else if (!strcmp(type, "token")) { /* the key that issued it */
        char ref[40];
        int64_t issued, expires;
        if (rta_token_ref(c->deps.tokens, value, strlen(value), ref, key_name, &issued, &expires,
                          &err)) {
            rta__console_reply_error(s, err.code, 0, "Not a token this server issued");
            return;
        }
    }
    const rta_key_entry *k = rta_registry_key(c->deps.registry, key_name, strlen(key_name));
    if (!k) {
        rta__console_reply_error(s, RTA_ERR_NOT_FOUND, 404, "No such key");
        return;
    }
    /* revokeTokens as the key itself would send it (RSA17, S-66..S-70) */
    rta_auth_context basic;
    memset(&basic, 0, sizeof(basic));
    basic.method = RTA_AUTH_BASIC;
    snprintf(basic.key_name, sizeof(basic.key_name), "%s", k->key_name);
    snprintf(basic.app_id, sizeof(basic.app_id), "%s", k->app_id);
    size_t tlen = strlen(type) + 1 + strlen(value) + 1;
    char *target = malloc(tlen);
    revoke_job *j = calloc(1, sizeof(*j));
    int rc;
    if (!target || !j) {
        rc = rta_error_set(&err, RTA_ERR_INTERNAL, "Out of memory");
    } else {
        snprintf(target, tlen, "%s:%s", type, value);
        rta_revoke_request req = {&target, 1, 0, -1};
        rc = rta_token_service_plan_revocation(c->deps.tokens, k->key_name, &basic, &req,
                                               rta_clock_now(), &j->result, &j->plans,
                                               &j->plan_count, &err);
    }
    free(target);
    if (rc) {
        free(j);
        rta__console_reply_error(s, err.code, 0, err.message);
        return;
    }
    snprintf(j->key_name, sizeof(j->key_name), "%s", k->key_name);
    if (j->plan_count == 0) { /* the target failed: nothing to store */
        reply_batch(s, j->key_name, &j->result);
        revoke_job_free(j);
        return;
    }
    if (!(j->pending = rta_http_go_async(s))) {
        revoke_job_free(j);
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    j->console = c;
    j->job.run = revoke_run;
    j->job.done = revoke_done;
    c->deps.submit(c->deps.ctx, &j->job);
}

/* ---- GET /console/api/metrics ------------------------------------------------------------ */

/* The server's own metrics (server/metrics.h, what GET /metrics renders), reduced to what the
 * charts draw: the connection gauge and the token request counter (the page turns the counter
 * into a rate). */
void rta__console_metrics(rta_console *c, rta_http_session *s)
{
    (void)c;
    rta_buf text = RTA_BUF_INIT;
    rta_console_metrics m;
    if (rta_metrics_render(&text)) {
        rta_buf_free(&text);
        rta__console_reply_error(s, RTA_ERR_INTERNAL, 500, "Out of memory");
        return;
    }
    rta_console_metrics_summarize(text.data ? text.data : "", text.len, &m);
    rta_buf_free(&text);
    rta__console_reply_json(
        s, 200,
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "time", (json_int_t)rta_clock_now(),
                  "connections", (json_int_t)m.connected, "awaitingResume",
                  (json_int_t)m.awaiting_resume, "tokenRequests",
                  (json_int_t)(m.tokens_issued + m.tokens_refused), "tokenRequestsIssued",
                  (json_int_t)m.tokens_issued, "tokenRequestsRefused",
                  (json_int_t)m.tokens_refused));
}
