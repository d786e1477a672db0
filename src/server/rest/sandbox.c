/* rest/sandbox.c: POST /apps and DELETE /apps/{appId}, the provisioning API that test suites
 * and CI use to create disposable apps (only with --sandbox). The request and reply follow
 * Ably's sandbox (test-app-setup.json): keys in request order, a key without capability gets
 * {"*":["*"]}, namespaces and channels echoed. Key secrets appear in the 201 reply and
 * nowhere else. */
#include <stdlib.h>
#include <string.h>

#include "core/token_codec.h"
#include "server/clock.h"
#include "server/log.h"
#include "server/auth/provision.h"
#include "server/rest/routes.h"
#include "server/rest/rest.h"

#define MAX_SANDBOX_KEYS 32

typedef struct app_job {
    rta_store_job job;
    rta_http_pending *pending;
    const rta_route_env *env;
    rta_new_app app;
    rta_doc *doc; /* the request, for echoing namespaces and channels */
    char app_id[RTA_KEY_ID_MAX + 1];
} app_job;

static void write_key(rta_writer *w, const rta_new_key *k)
{
    rta_w_map(w, 6);
    rta_w_key(w, "id");
    rta_w_str(w, k->key_id);
    rta_w_key(w, "keyName");
    rta_w_str(w, k->key_name);
    rta_w_key(w, "keySecret");
    rta_w_str(w, k->secret);
    rta_w_key(w, "keyStr");
    char full[RTA_KEY_NAME_MAX + RTA_KEY_SECRET_MAX + 2];
    snprintf(full, sizeof(full), "%s:%s", k->key_name, k->secret);
    rta_w_str(w, full);
    rta_w_key(w, "capability");
    rta_w_str(w, k->capability);
    rta_w_key(w, "revocableTokens");
    rta_w_bool(w, k->revocable);
    rta_w_map_end(w);
}

static void reply_app(rta_http_session *s, const rta_new_app *app, rta_doc *doc)
{
    rta_node root = rta_doc_root(doc);
    rta_node ns = rta_node_get(root, "namespaces"), ch = rta_node_get(root, "channels");
    int has_ns = rta_node_kind(ns) == RTA_NODE_ARRAY, has_ch = rta_node_kind(ch) == RTA_NODE_ARRAY;
    rta_writer w;
    rta_http_begin_reply(s, &w);
    rta_w_map(&w, 3 + (size_t)has_ns + (size_t)has_ch);
    rta_w_key(&w, "appId");
    rta_w_str(&w, app->app_id);
    rta_w_key(&w, "accountId");
    rta_w_str(&w, app->account_id);
    rta_w_key(&w, "keys");
    rta_w_array(&w, app->key_count);
    for (size_t i = 0; i < app->key_count; i++) write_key(&w, &app->keys[i]);
    rta_w_array_end(&w);
    if (has_ns) rta_w_key(&w, "namespaces"), rta_w_node(&w, ns);
    if (has_ch) rta_w_key(&w, "channels"), rta_w_node(&w, ch);
    rta_w_map_end(&w);
    rta_http_reply_encoded(s, 201);
}

static void app_job_free(app_job *j)
{
    rta_new_app_clear(&j->app);
    rta_doc_free(j->doc);
    free(j);
}

static void create_run(rta_store_job *job, rta_store *store)
{
    app_job *j = (app_job *)job;
    job->rc = rta_new_app_store(store, &j->app, &job->err);
}

static void create_done(rta_store_job *job)
{
    app_job *j = (app_job *)job;
    if (!job->rc) job->rc = rta_new_app_register(j->env->registry, &j->app, &job->err);
    rta_http_session *s = j->pending->session;
    if (s) {
        if (job->rc)
            rta_http_reply_error(s, &job->err);
        else
            reply_app(s, &j->app, j->doc);
    }
    if (!job->rc)
        rta_log_event(RTA_LOG_INFO, "app.created", &(rta_log_fields){.app = j->app.app_id},
                      "sandbox app %s created with %zu key(s)", j->app.app_id,
                               j->app.key_count);
    rta_http_finish(j->pending);
    app_job_free(j);
}

/* Reads {"keys":[{capability?, revocableTokens?}, ...]} into specs; capability may be a JSON
 * string (as Ably's fixture has it) or an object. */
static int read_specs(rta_node root, rta_key_spec *specs, char **texts, size_t *n, rta_error *err)
{
    rta_node keys = rta_node_get(root, "keys");
    *n = 0;
    if (rta_node_kind(root) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "Body must be an object");
    if (rta_node_kind(keys) == RTA_NODE_ABSENT) {
        specs[0] = (rta_key_spec){NULL, 0};
        *n = 1;
        return 0;
    }
    if (rta_node_kind(keys) != RTA_NODE_ARRAY || rta_node_len(keys) > MAX_SANDBOX_KEYS)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "keys must be an array of at most %d",
                             MAX_SANDBOX_KEYS);
    for (size_t i = 0; i < rta_node_len(keys); i++) {
        rta_node k = rta_node_at(keys, i), cap = rta_node_get(k, "capability");
        rta_node rev = rta_node_get(k, "revocableTokens");
        int revocable = 0;
        if (rta_node_kind(k) != RTA_NODE_MAP ||
            (rta_node_kind(rev) != RTA_NODE_ABSENT && !rta_node_bool(rev, &revocable)))
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "Invalid keys[%zu]", i);
        specs[i] = (rta_key_spec){NULL, revocable};
        if (rta_node_kind(cap) == RTA_NODE_STR) {
            int rc = rta_node_strdup(cap, 64 * 1024, "capability", &texts[i], err);
            if (rc) return rc;
        } else if (rta_node_kind(cap) == RTA_NODE_MAP) {
            rta_buf b = RTA_BUF_INIT;
            rta_writer w;
            rta_writer_init(&w, RTA_FORMAT_JSON, &b);
            rta_w_node(&w, cap);
            texts[i] = rta_buf_detach(&b, NULL);
        } else if (rta_node_kind(cap) != RTA_NODE_ABSENT) {
            return rta_error_set(err, RTA_ERR_INVALID_BODY, "keys[%zu].capability must be a "
                                 "JSON string", i);
        }
        specs[i].capability = texts[i];
        (*n)++;
    }
    return 0;
}

/* {"limits":{"maxConnections":N,"maxConnectionsPerClient":N}} (both optional): the app's own
 * connection caps (gateway/limits.c). A sandbox app may only tighten the server's: anyone
 * may create one, so a higher cap would let a test tenant take a shared server's slots. */
static int read_limits(rta_node root, const rta_route_env *server, rta_new_app *app,
                       rta_error *err)
{
    rta_node limits = rta_node_get(root, "limits");
    if (rta_node_kind(limits) == RTA_NODE_ABSENT) return 0;
    if (rta_node_kind(limits) != RTA_NODE_MAP)
        return rta_error_set(err, RTA_ERR_INVALID_BODY, "limits must be an object");
    const struct {
        const char *name;
        long long server_cap;
        long long *out;
    } caps[] = {
        {"maxConnections", server->max_connections_per_app, &app->max_connections},
        {"maxConnectionsPerClient", server->max_connections_per_client,
         &app->max_connections_per_client},
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        rta_node v = rta_node_get(limits, caps[i].name);
        if (rta_node_kind(v) == RTA_NODE_ABSENT) continue;
        long long most = caps[i].server_cap ? caps[i].server_cap : server->max_connections;
        int64_t n;
        if (!rta_node_int(v, &n) || n < 1 || n > most)
            return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                                 "limits.%s must be an integer 1..%lld", caps[i].name, most);
        *caps[i].out = n;
    }
    return 0;
}

void rta_route_create_app(rta_http_session *s)
{
    rta_error err;
    rta_doc *doc = NULL;
    const char *body = s->body.data ? s->body.data : "{}";
    size_t len = s->body.data ? s->body.len : 2;
    if (!s->body_format_known ||
        rta_doc_parse(&doc, s->body_format, body, len, NULL, &err)) {
        if (!s->body_format_known) rta_error_set(&err, RTA_ERR_UNSUPPORTED_MEDIA, NULL);
        rta_http_reply_error(s, &err);
        return;
    }
    rta_key_spec specs[MAX_SANDBOX_KEYS];
    char *texts[MAX_SANDBOX_KEYS] = {0};
    size_t n = 0;
    app_job *j = calloc(1, sizeof(*j));
    int rc = j ? read_specs(rta_doc_root(doc), specs, texts, &n, &err)
               : rta_error_set(&err, RTA_ERR_INTERNAL, NULL);
    if (!rc) rc = rta_new_app_prepare(NULL, specs, n, 1, rta_clock_now(), &j->app, &err);
    if (!rc) rc = read_limits(rta_doc_root(doc), s->env, &j->app, &err);
    for (size_t i = 0; i < MAX_SANDBOX_KEYS; i++) free(texts[i]);
    if (!rc && !(j->pending = rta_http_go_async(s))) rc = rta_error_set(&err, RTA_ERR_INTERNAL, NULL);
    if (rc) {
        if (j) rta_new_app_clear(&j->app);
        free(j);
        rta_doc_free(doc);
        rta_http_reply_error(s, &err);
        return;
    }
    j->doc = doc;
    j->env = s->env;
    j->job.run = create_run;
    j->job.done = create_done;
    s->env->submit(s->env->ctx, &j->job);
}

static void delete_run(rta_store_job *job, rta_store *store)
{
    app_job *j = (app_job *)job;
    job->rc = store->ops->delete_app(store, j->app_id, &job->err);
}

static void delete_done(rta_store_job *job)
{
    app_job *j = (app_job *)job;
    if (!job->rc) {
        rta_registry_remove_app(j->env->registry, j->app_id);
        rta_log_event(RTA_LOG_INFO, "app.deleted", &(rta_log_fields){.app = j->app_id},
                      "sandbox app %s deleted", j->app_id);
        j->env->credentials_changed(j->env->ctx);
    }
    rta_http_session *s = j->pending->session;
    if (s) {
        if (job->rc)
            rta_http_reply_error(s, &job->err);
        else
            rta_http_reply_body(s, 204, "application/json", "", 0);
    }
    rta_http_finish(j->pending);
    app_job_free(j);
}

void rta_route_delete_app(rta_http_session *s, const char *app_id)
{
    rta_auth_context auth;
    if (rta_route_authenticate(s, &auth)) return;
    int own = auth.method == RTA_AUTH_BASIC && !strcmp(auth.app_id, app_id);
    rta_auth_context_clear(&auth);
    if (!own) {
        rta_http_reply_code(s, RTA_ERR_FORBIDDEN, "Deleting an app needs Basic auth with one of "
                                                  "its keys");
        return;
    }
    app_job *j = calloc(1, sizeof(*j));
    if (!j || !(j->pending = rta_http_go_async(s))) {
        free(j);
        rta_http_reply_code(s, RTA_ERR_INTERNAL, NULL);
        return;
    }
    snprintf(j->app_id, sizeof(j->app_id), "%s", app_id);
    j->env = s->env;
    j->job.run = delete_run;
    j->job.done = delete_done;
    s->env->submit(s->env->ctx, &j->job);
}
