/* fuzz_control_log.c: the control log's parsers (store/control_log.c). The body of a "rev"
 * entry has two decoders: a scanner for the encoder's compact form and jansson for the rest.
 * Whenever the scanner accepts an input, jansson must accept it too with the same records;
 * whatever jansson accepts must survive an encode and decode unchanged. The doorbell parser
 * runs on the same input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/control_log.h"

static int same(const rta_ctl_rev_body *a, const rta_ctl_rev_body *b)
{
    if (strcmp(a->key_name, b->key_name) || a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        const rta_revocation_record *x = &a->recs[i], *y = &b->recs[i];
        if (strcmp(x->key_name, a->key_name) || strcmp(y->key_name, b->key_name) ||
            strcmp(x->target, y->target) || x->issued_before != y->issued_before ||
            x->applies_at != y->applies_at || x->expires != y->expires)
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data;
    rta_ctl_entry e;
    if (rta_ctl_doorbell_parse(body, size, &e) == 0 &&
        (e.body < body || e.body + e.body_len != body + size || !e.type[0]))
        abort();

    rta_ctl_rev_body fast, slow, again;
    int rf = rta__ctl_rev_body_decode_fast(body, size, &fast);
    int rs = rta__ctl_rev_body_decode_json(body, size, &slow);
    if (rf == 0 && (rs != 0 || !same(&fast, &slow))) abort();
    if (rs == 0) {
        char *text;
        if (rta_ctl_rev_body_encode(slow.key_name, slow.recs, slow.n, &text)) abort();
        if (rta_ctl_rev_body_decode(text, strlen(text), &again) || !same(&slow, &again)) abort();
        rta_ctl_rev_body_free(&again);
        free(text);
    }
    if (rf == 0) rta_ctl_rev_body_free(&fast);
    if (rs == 0) rta_ctl_rev_body_free(&slow);
    return 0;
}
