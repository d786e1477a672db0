/* test_nonce_journal.c: the used-nonce journal (store/nonce_journal.h): records survive reopening,
 * a torn or corrupt tail ends a segment without losing what came before, duplicates list
 * once with the latest expiry, and purging drops whole expired minutes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/store/nonce_journal.h"

typedef struct {
    char got[16][64];
    int64_t exp[16];
    int n;
} collected;

static void collect(void *ctx, const rta_nonce_record *r)
{
    collected *c = ctx;
    if (c->n < 16) {
        snprintf(c->got[c->n], 64, "%s|%s", r->key_name, r->nonce);
        c->exp[c->n++] = r->expires;
    }
}

static int has(const collected *c, const char *s, int64_t exp)
{
    for (int i = 0; i < c->n; i++)
        if (!strcmp(c->got[i], s)) return exp == 0 || c->exp[i] == exp;
    return 0;
}

static void test_journal(void **state)
{
    (void)state;
    char dir[64] = "/tmp/rtauth-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    rta_nonce_journal *j;
    rta_error err;
    assert_int_equal(rta_nonce_journal_open(dir, &j, &err), 0);
    int64_t m = 1700000000000 / 60000 * 60000; /* start of a minute */
    rta_nonce_record batch[] = {{"app.k", "n1", m + 100}, {"app.k", "n2", m + 200},
                                {"app.k", "n1", m + 300}, /* again, later: listed once */
                                {"app.j", "n1", m + 60000 + 5}};
    assert_int_equal(rta_nonce_journal_add(j, batch, 4, &err), 0);
    rta_nonce_journal_close(j);

    /* a torn record at the end of the first minute's segment (a crash mid-write) */
    char path[128];
    snprintf(path, sizeof(path), "%s/nonces/%lld.log", dir, (long long)(m / 60000));
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fwrite("\xa5\x05\x00\x10\x00\x00", 1, 6, f);
    fclose(f);

    assert_int_equal(rta_nonce_journal_open(dir, &j, &err), 0);
    collected c = {0};
    assert_int_equal(rta_nonce_journal_list(j, m, collect, &c, &err), 0);
    assert_int_equal(c.n, 3);
    assert_true(has(&c, "app.k|n1", m + 300));
    assert_true(has(&c, "app.k|n2", m + 200));
    assert_true(has(&c, "app.j|n1", m + 60005));
    /* opening cut the torn tail, so a record appended now is readable after it */
    rta_nonce_record more = {"app.k", "n3", m + 400};
    assert_int_equal(rta_nonce_journal_add(j, &more, 1, &err), 0);

    /* expired records are not listed; purge drops only minutes wholly in the past */
    c.n = 0;
    assert_int_equal(rta_nonce_journal_list(j, m + 250, collect, &c, &err), 0);
    assert_int_equal(c.n, 3); /* app.k|n1 (m+300), app.k|n3, app.j|n1; n2 expired */
    assert_true(has(&c, "app.k|n3", m + 400));
    assert_int_equal(rta_nonce_journal_purge(j, m + 60000, &err), 0);
    c.n = 0;
    assert_int_equal(rta_nonce_journal_list(j, 0, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    assert_true(has(&c, "app.j|n1", 0));
    rta_nonce_journal_close(j);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_journal)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
