/* test_secret_box.c: envelope encryption of secrets at rest (store/secret_box.h): round trips in
 * both forms, fresh nonces, tamper detection, a wrong KEK, a value moved to another record
 * (AAD), and loading the KEK from a file or hex, with its refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/store/secret_box.h"

#define HEX_KEK "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define SECRET  "pl41nTextK3ySecretThatMustNotLeak"

static rta_secret_box *box_of(unsigned char first)
{
    unsigned char kek[RTA_KEK_LEN];
    for (int i = 0; i < RTA_KEK_LEN; i++)
        kek[i] = (unsigned char)(first + i);
    rta_secret_box *b = NULL;
    rta_error err;
    assert_int_equal(rta_secret_box_new(kek, &b, &err), 0);
    return b;
}

static int contains(const void *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp((const char *)hay + i, needle, k)) return 1;
    return 0;
}

static void test_binary_round_trip(void **state)
{
    (void)state;
    rta_secret_box *b = box_of(0);
    rta_error err;
    unsigned char plain[32], sealed[32 + RTA_SECRET_BOX_OVERHEAD], again[sizeof(sealed)];
    unsigned char out[32];
    for (int i = 0; i < 32; i++)
        plain[i] = (unsigned char)(i * 7);
    assert_int_equal(rta_secret_box_seal(b, "secret:1", plain, 32, sealed, &err), 0);
    assert_int_equal(sizeof(sealed), 64);
    assert_memory_equal(sealed, "kek1", 4);
    assert_true(rta_secret_box_is_sealed(sealed, sizeof(sealed)));
    assert_false(rta_secret_box_is_sealed(plain, sizeof(plain)));
    assert_memory_not_equal(sealed + 16, plain, 32); /* encrypted, not copied */
    assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, sizeof(sealed), out, &err), 0);
    assert_memory_equal(out, plain, 32);
    /* Each seal draws a fresh nonce: sealing twice gives two different values. */
    assert_int_equal(rta_secret_box_seal(b, "secret:1", plain, 32, again, &err), 0);
    assert_memory_not_equal(again + 4, sealed + 4, RTA_SECRET_BOX_NONCE_LEN);
    assert_memory_not_equal(again, sealed, sizeof(sealed));
    rta_secret_box_free(b);
}

static void test_text_round_trip(void **state)
{
    (void)state;
    rta_secret_box *b = box_of(0);
    rta_error err;
    char text[RTA_SECRET_BOX_TEXT_SIZE(128)];
    unsigned char out[128];
    size_t len;
    assert_int_equal(
        rta_secret_box_seal_text(b, "key:app.k1", SECRET, strlen(SECRET), text, sizeof(text), &err),
        0);
    assert_true(rta_secret_box_is_sealed_text(text));
    assert_false(rta_secret_box_is_sealed_text(SECRET));
    assert_null(strstr(text, SECRET));
    assert_int_equal(rta_secret_box_open_text(b, "key:app.k1", text, out, sizeof(out), &len, &err),
                     0);
    assert_int_equal(len, strlen(SECRET));
    assert_memory_equal(out, SECRET, len);
    /* The longest key secret fits the advertised size. */
    char longest[129];
    memset(longest, 'x', 128);
    longest[128] = '\0';
    assert_int_equal(rta_secret_box_seal_text(b, "key:a.b", longest, 128, text, sizeof(text), &err),
                     0);
    assert_int_equal(rta_secret_box_open_text(b, "key:a.b", text, out, sizeof(out), &len, &err), 0);
    assert_int_equal(len, 128);
    /* Too small an output buffer is an error, not an overflow. */
    assert_int_equal(rta_secret_box_seal_text(b, "key:a.b", longest, 128, text, 40, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open_text(b, "key:a.b", text, out, 10, &len, &err),
                     RTA_ERR_INTERNAL);
    rta_secret_box_free(b);
}

/* Any changed byte (version, nonce, ciphertext, tag) or a cut fails to open, and the output
 * holds no plaintext afterwards. */
static void test_tamper_detected(void **state)
{
    (void)state;
    rta_secret_box *b = box_of(0);
    rta_error err;
    unsigned char sealed[32 + RTA_SECRET_BOX_OVERHEAD], out[32];
    unsigned char plain[32];
    memset(plain, 0x41, sizeof(plain));
    assert_int_equal(rta_secret_box_seal(b, "secret:1", plain, 32, sealed, &err), 0);
    for (size_t i = 0; i < sizeof(sealed); i++) {
        sealed[i] ^= 0x01;
        memset(out, 0, sizeof(out));
        assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, sizeof(sealed), out, &err),
                         RTA_ERR_INTERNAL);
        assert_false(contains(out, sizeof(out), "AAAA"));
        sealed[i] ^= 0x01;
    }
    assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, sizeof(sealed) - 1, out, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, 10, out, &err), RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, sizeof(sealed), out, &err), 0);

    char text[RTA_SECRET_BOX_TEXT_SIZE(32)];
    size_t len;
    assert_int_equal(rta_secret_box_seal_text(b, "key:a.b", SECRET, 32, text, sizeof(text), &err),
                     0);
    text[10] = text[10] == 'A' ? 'B' : 'A';
    assert_int_equal(rta_secret_box_open_text(b, "key:a.b", text, out, sizeof(out), &len, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open_text(b, "key:a.b", "kek1:!!", out, 32, &len, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open_text(b, "key:a.b", SECRET, out, 32, &len, &err),
                     RTA_ERR_INTERNAL);
    rta_secret_box_free(b);
}

static void test_wrong_kek(void **state)
{
    (void)state;
    rta_secret_box *b = box_of(0), *other = box_of(1);
    rta_error err;
    char text[RTA_SECRET_BOX_TEXT_SIZE(64)];
    unsigned char out[64];
    size_t len;
    assert_int_equal(
        rta_secret_box_seal_text(b, "key:app.k1", SECRET, strlen(SECRET), text, sizeof(text), &err),
        0);
    assert_int_equal(
        rta_secret_box_open_text(other, "key:app.k1", text, out, sizeof(out), &len, &err),
        RTA_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "key:app.k1")); /* names the record */
    assert_null(strstr(err.message, SECRET));
    assert_null(strstr(err.message, text + 5));
    rta_secret_box_free(b);
    rta_secret_box_free(other);
}

/* A sealed value moved to another record (another key name or secret id) does not open:
 * the record's identity is the AAD. */
static void test_aad_swap_detected(void **state)
{
    (void)state;
    rta_secret_box *b = box_of(0);
    rta_error err;
    char text[RTA_SECRET_BOX_TEXT_SIZE(64)];
    unsigned char out[64], sealed[32 + RTA_SECRET_BOX_OVERHEAD], plain[32] = {1, 2, 3};
    size_t len;
    assert_int_equal(
        rta_secret_box_seal_text(b, "key:app.k1", SECRET, strlen(SECRET), text, sizeof(text), &err),
        0);
    assert_int_equal(rta_secret_box_open_text(b, "key:app.k2", text, out, sizeof(out), &len, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_seal(b, "secret:1", plain, 32, sealed, &err), 0);
    assert_int_equal(rta_secret_box_open(b, "secret:2", sealed, sizeof(sealed), out, &err),
                     RTA_ERR_INTERNAL);
    assert_int_equal(rta_secret_box_open(b, "secret:1", sealed, sizeof(sealed), out, &err), 0);
    rta_secret_box_free(b);
}

/* ---- loading the KEK -------------------------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/rtauth-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    unlink(path);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
    assert_int_equal(chmod(path, mode), 0);
}

/* Two boxes hold the same KEK when one opens what the other sealed. */
static void assert_same_kek(rta_secret_box *a, rta_secret_box *b)
{
    rta_error err;
    unsigned char plain[8] = "12345678", sealed[8 + RTA_SECRET_BOX_OVERHEAD], out[8];
    assert_int_equal(rta_secret_box_seal(a, "x", plain, 8, sealed, &err), 0);
    assert_int_equal(rta_secret_box_open(b, "x", sealed, sizeof(sealed), out, &err), 0);
}

static void test_load(void **state)
{
    (void)state;
    rta_secret_box *ref = box_of(0), *b = NULL;
    rta_error err;
    char path[128];
    snprintf(path, sizeof(path), "%s/kek", dir);

    /* none: no box, no error */
    assert_int_equal(rta_secret_box_load(NULL, NULL, "RTAUTHD_KEK", &b, &err), 0);
    assert_null(b);
    assert_int_equal(rta_secret_box_load("", "", "RTAUTHD_KEK", &b, &err), 0);
    assert_null(b);

    /* hex (as from the environment), with a trailing newline tolerated */
    assert_int_equal(rta_secret_box_load(NULL, HEX_KEK "\n", "RTAUTHD_KEK", &b, &err), 0);
    assert_same_kek(ref, b);
    rta_secret_box_free(b);

    /* a file of 32 raw bytes, and one of 64 hex digits and a newline (openssl rand -hex 32) */
    unsigned char raw[RTA_KEK_LEN];
    for (int i = 0; i < RTA_KEK_LEN; i++)
        raw[i] = (unsigned char)i;
    write_file(path, raw, sizeof(raw), 0600);
    assert_int_equal(rta_secret_box_load(path, NULL, "RTAUTHD_KEK", &b, &err), 0);
    assert_same_kek(ref, b);
    rta_secret_box_free(b);
    write_file(path, HEX_KEK "\n", 65, 0400);
    assert_int_equal(rta_secret_box_load(path, NULL, "RTAUTHD_KEK", &b, &err), 0);
    assert_same_kek(ref, b);
    rta_secret_box_free(b);
    rta_secret_box_free(ref);
}

static void test_load_refusals(void **state)
{
    (void)state;
    rta_secret_box *b = NULL;
    rta_error err;
    char path[128];
    snprintf(path, sizeof(path), "%s/kek", dir);
    write_file(path, HEX_KEK, 64, 0600);

    /* both a file and hex */
    assert_int_equal(rta_secret_box_load(path, HEX_KEK, "RTAUTHD_KEK", &b, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_null(b);
    /* hex of the wrong length or with non-hex digits; the message never echoes it */
    static const char *bad_hex[] = {
        "00", HEX_KEK "00", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "secret-passphrase"};
    for (size_t i = 0; i < sizeof(bad_hex) / sizeof(bad_hex[0]); i++) {
        assert_int_equal(rta_secret_box_load(NULL, bad_hex[i], "RTAUTHD_KEK", &b, &err),
                         RTA_ERR_INVALID_PARAMETER);
        assert_null(b);
        assert_non_null(strstr(err.message, "RTAUTHD_KEK"));
        assert_null(strstr(err.message, bad_hex[i]));
    }
    /* a file group or others can access: refused, named with its mode, left as it is */
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0602};
    for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]); i++) {
        assert_int_equal(chmod(path, open_modes[i]), 0);
        assert_int_equal(rta_secret_box_load(path, NULL, "RTAUTHD_KEK", &b, &err),
                         RTA_ERR_INVALID_PARAMETER);
        assert_null(b);
        assert_non_null(strstr(err.message, path));
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)open_modes[i]);
        assert_non_null(strstr(err.message, mode));
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, open_modes[i]);
    }
    /* wrong contents: too short, too long, not hex; never echoed */
    static const char *bad_files[] = {
        "0011", (HEX_KEK HEX_KEK),
        ("passphrase-passphrase-passphrase!passphrase-passphrase-passphrase!")};
    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        write_file(path, bad_files[i], strlen(bad_files[i]), 0600);
        assert_int_equal(rta_secret_box_load(path, NULL, "RTAUTHD_KEK", &b, &err),
                         RTA_ERR_INVALID_PARAMETER);
        assert_null(strstr(err.message, "passphrase"));
        assert_null(strstr(err.message, "0011"));
    }
    /* missing, or a directory */
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(rta_secret_box_load(path, NULL, "RTAUTHD_KEK", &b, &err),
                     RTA_ERR_INVALID_PARAMETER);
    assert_non_null(strstr(err.message, path));
    assert_int_equal(rta_secret_box_load(dir, NULL, "RTAUTHD_KEK", &b, &err),
                     RTA_ERR_INVALID_PARAMETER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_round_trip),
        cmocka_unit_test(test_text_round_trip),
        cmocka_unit_test(test_tamper_detected),
        cmocka_unit_test(test_wrong_kek),
        cmocka_unit_test(test_aad_swap_detected),
        cmocka_unit_test_setup_teardown(test_load, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_load_refusals, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
