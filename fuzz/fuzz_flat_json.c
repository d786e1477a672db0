/* fuzz_flat_json.c: differential test of codec_flat.c. Whenever the flat-JSON transcoder
 * accepts an input, jansson must accept it too and both documents must hold the same
 * members with the same values (compared through rta_w_node re-encoding, which writes kinds
 * and values exactly), and rta_doc_parse_scalars must agree with rta_doc_parse on success
 * and on the error code. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"

static void encode(rta_node n, rta_buf *out)
{
    rta_writer w;
    rta_writer_init(&w, RTA_FORMAT_JSON, out);
    rta_w_node(&w, n);
}

/* Members of a flat map as "key=value" JSON lines sorted by key: order-free comparison. */
static int same_members(rta_node a, rta_node b)
{
    size_t n = rta_node_len(a);
    if (n != rta_node_len(b) || rta_node_kind(a) != RTA_NODE_MAP || rta_node_kind(b) != RTA_NODE_MAP)
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t kl;
        const char *k = rta_node_key_at(a, i, &kl);
        if (!k) return 0;
        char key[4096];
        if (kl >= sizeof(key) || memchr(k, 0, kl)) continue; /* rta_node_get takes C strings */
        memcpy(key, k, kl);
        key[kl] = 0;
        rta_node va = rta_node_value_at(a, i), vb = rta_node_get(b, key);
        if (rta_node_kind(va) != rta_node_kind(vb)) return 0;
        rta_buf ea = RTA_BUF_INIT, eb = RTA_BUF_INIT;
        encode(va, &ea);
        encode(vb, &eb);
        int same = ea.len == eb.len && !memcmp(ea.data, eb.data, ea.len);
        rta_buf_free(&ea);
        rta_buf_free(&eb);
        if (!same) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rta_buf mp = RTA_BUF_INIT;
    int flat = rta__json_flat_to_msgpack((const char *)data, size, &mp);
    rta_doc *slow = NULL, *fast = NULL, *via = NULL;
    rta_error e1, e2;
    int r1 = rta_doc_parse(&slow, RTA_FORMAT_JSON, data, size, NULL, &e1);
    int r2 = rta_doc_parse_scalars(&via, RTA_FORMAT_JSON, data, size, NULL, &e2);
    if (r1 != r2) abort(); /* same verdict, same code */
    if (flat) {
        if (r1) abort(); /* accepted something jansson rejects */
        if (rta_doc_parse(&fast, RTA_FORMAT_MSGPACK, mp.data, mp.len, NULL, &e2)) abort();
        if (!same_members(rta_doc_root(slow), rta_doc_root(fast)) ||
            !same_members(rta_doc_root(fast), rta_doc_root(slow)))
            abort();
    }
    rta_doc_free(slow);
    rta_doc_free(fast);
    rta_doc_free(via);
    rta_buf_free(&mp);
    return 0;
}
