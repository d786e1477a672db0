/* rest_channels.c: the REST calls apps reach for right after auth (rtauth/rest.h): publish to
 * a channel (RSL1), a channel's history (RSL2), the app's stats (RSC6). Each is one
 * rta_rest_request with the client's auth and renewal rules; this file only builds the path,
 * with the channel name percent-encoded as encodeURIComponent does (so "a/b c" stays one
 * channel), the query string, and the publish body. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h" /* rta__finish */
#include "core/buf.h"
#include "core/codec.h"
#include "core/protocol.h"
#include "rtauth/rest.h"

/* encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is %XX of its UTF-8 bytes. */
static void encode_component(rta_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-_.!~*'()", *p)) {
            rta_buf_putc(b, (char)*p);
        } else {
            rta_buf_putc(b, '%');
            rta_buf_putc(b, hex[*p >> 4]);
            rta_buf_putc(b, hex[*p & 15]);
        }
    }
}

/* "/channels/<encoded name>/messages"; 40010 for a name that is not 1..1024 bytes of UTF-8. */
static int channel_path(const char *channel, rta_buf *path, rta_error *err)
{
    if (!channel) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL channel");
    if (!rta_channel_name_valid(channel))
        return rta_error_set(err, RTA_ERR_INVALID_CHANNEL, "Invalid channel name");
    rta_buf_puts(path, "/channels/");
    encode_component(path, channel);
    rta_buf_puts(path, "/messages");
    return path->oom ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory") : 0;
}

/* RSL2b, RSC6b: ?start=&end=&limit=&direction=(&unit=), only what is set. */
static int add_query(rta_buf *path, const rta_rest_query *q, int with_unit, rta_error *err)
{
    if (!q) return 0;
    if (q->limit < 0 || q->start < 0 || q->end < 0 || (q->end && q->start > q->end))
        return rta_error_set(err, RTA_ERR_INVALID_PARAMETER,
                             "start, end and limit must be positive, start not after end");
    char sep = '?';
    if (q->start) rta_buf_printf(path, "%cstart=%lld", sep, (long long)q->start), sep = '&';
    if (q->end) rta_buf_printf(path, "%cend=%lld", sep, (long long)q->end), sep = '&';
    if (q->limit) rta_buf_printf(path, "%climit=%d", sep, q->limit), sep = '&';
    if (q->forwards) rta_buf_printf(path, "%cdirection=forwards", sep), sep = '&';
    if (with_unit && q->unit) {
        rta_buf_printf(path, "%cunit=", sep);
        encode_component(path, q->unit);
    }
    return path->oom ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory") : 0;
}

static int get(rta_rest *rest, rta_buf *path, rta_rest_response *resp, rta_error *err)
{
    rta_buf_putc(path, '\0');
    if (path->oom) return rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory");
    return rta_rest_request(rest, "GET", path->data, NULL, resp, err);
}

static int publish_impl(rta_rest *rest, const char *channel, const char *name, const char *data,
                        rta_error *err)
{
    if (!rest) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL client");
    rta_buf path = RTA_BUF_INIT, body = RTA_BUF_INIT;
    int rc = channel_path(channel, &path, err);
    if (!rc) {
        rta_writer w;
        rta_writer_init(&w, RTA_FORMAT_JSON, &body);
        rta_w_map(&w, (name != NULL) + (data != NULL));
        if (name) rta_w_key(&w, "name"), rta_w_str(&w, name);
        if (data) rta_w_key(&w, "data"), rta_w_str(&w, data);
        rta_w_map_end(&w);
        rta_buf_putc(&path, '\0');
        rta_buf_putc(&body, '\0');
        rc = path.oom || body.oom
                 ? rta_error_set(err, RTA_ERR_INTERNAL, "Out of memory")
                 : rta_rest_request(rest, "POST", path.data, body.data, NULL, err);
    }
    rta_buf_free(&path);
    rta_buf_free(&body);
    return rc;
}

int rta_rest_publish(rta_rest *rest, const char *channel, const char *name, const char *data,
                     rta_error *err)
{
    return rta__finish(err, publish_impl(rest, channel, name, data, err));
}

static int history_impl(rta_rest *rest, const char *channel, const rta_rest_query *q,
                        rta_rest_response *resp, rta_error *err)
{
    if (resp) memset(resp, 0, sizeof(*resp));
    if (!rest || !resp) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_buf path = RTA_BUF_INIT;
    int rc = channel_path(channel, &path, err);
    if (!rc) rc = add_query(&path, q, 0, err);
    if (!rc) rc = get(rest, &path, resp, err);
    rta_buf_free(&path);
    return rc;
}

int rta_rest_history(rta_rest *rest, const char *channel, const rta_rest_query *q,
                     rta_rest_response *resp, rta_error *err)
{
    return rta__finish(err, history_impl(rest, channel, q, resp, err));
}

static int stats_impl(rta_rest *rest, const rta_rest_query *q, rta_rest_response *resp,
                      rta_error *err)
{
    if (resp) memset(resp, 0, sizeof(*resp));
    if (!rest || !resp) return rta_error_set(err, RTA_ERR_BAD_REQUEST, "NULL argument");
    rta_buf path = RTA_BUF_INIT;
    rta_buf_puts(&path, "/stats");
    int rc = add_query(&path, q, 1, err);
    if (!rc) rc = get(rest, &path, resp, err);
    rta_buf_free(&path);
    return rc;
}

int rta_rest_stats(rta_rest *rest, const rta_rest_query *q, rta_rest_response *resp,
                   rta_error *err)
{
    return rta__finish(err, stats_impl(rest, q, resp, err));
}
