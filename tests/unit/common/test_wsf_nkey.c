/* Unit tests for common/wsf_nkey.c: a seed's public key against a vector made apart (openssl
 * pkey for the Ed25519 key, Python's base32 and CRC), finding seeds in files, damaged seeds. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "wsf_nkey.h"

Suite *wsf_nkey_suite(void);

/* The seed of the bytes 1..32 and its public key. */
static const char seed[] = "SUAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ";
static const char pub[] = "UB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJBFE";

START_TEST(public_key_of_seed)
{
    char out[WSF_NKEY_PUBLIC_LEN + 1];
    ck_assert_int_eq(wsf_nkey_public(seed, strlen(seed), out), 0);
    ck_assert_str_eq(out, pub);
}
END_TEST

START_TEST(damaged_seeds_refused)
{
    char out[WSF_NKEY_PUBLIC_LEN + 1], bad[sizeof seed];
    memcpy(bad, seed, sizeof seed);
    bad[20] = bad[20] == 'A' ? 'B' : 'A'; /* the CRC no longer matches */
    ck_assert_int_eq(wsf_nkey_public(bad, strlen(bad), out), -1);
    ck_assert_int_eq(wsf_nkey_public(seed, strlen(seed) - 1, out), -1);
    memcpy(bad, seed, sizeof seed);
    bad[10] = '1'; /* not base32 */
    ck_assert_int_eq(wsf_nkey_public(bad, strlen(bad), out), -1);
    /* An account seed (SA...) is not a user's. */
    ck_assert_int_eq(wsf_nkey_public("SAAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IC5CQ",
                                     58, out),
                     -1);
}
END_TEST

START_TEST(find_seed_in_files)
{
    char creds[512];
    snprintf(creds, sizeof creds,
             "-----BEGIN NATS USER JWT-----\neyJ0eXAi.eyJqdGki.sig\n------END NATS USER "
             "JWT------\n\n-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n",
             seed);
    long at = wsf_nkey_find_seed(creds, strlen(creds));
    ck_assert_int_ge(at, 0);
    ck_assert_int_eq(strncmp(creds + at, seed, 58), 0);
    ck_assert(wsf_nkey_has_jwt(creds, strlen(creds)));
    ck_assert_int_eq(wsf_nkey_find_seed(seed, strlen(seed)), 0);
    snprintf(creds, sizeof creds, "  %s\n", seed);
    ck_assert_int_eq(wsf_nkey_find_seed(creds, strlen(creds)), 2);
    ck_assert(!wsf_nkey_has_jwt(creds, strlen(creds)));
    /* Longer or shorter runs are not seeds. */
    snprintf(creds, sizeof creds, "%sA", seed);
    ck_assert_int_eq(wsf_nkey_find_seed(creds, strlen(creds)), -1);
    ck_assert_int_eq(wsf_nkey_find_seed(seed, 57), -1);
    ck_assert_int_eq(wsf_nkey_find_seed("", 0), -1);
}
END_TEST

Suite *wsf_nkey_suite(void)
{
    Suite *s = suite_create("wsf_nkey");
    TCase *tc = tcase_create("nkey");
    tcase_add_test(tc, public_key_of_seed);
    tcase_add_test(tc, damaged_seeds_refused);
    tcase_add_test(tc, find_seed_in_files);
    suite_add_tcase(s, tc);
    return s;
}
