/* SPDX-License-Identifier: BSD-3-Clause */
/* test-json-numbers.c — numbers in mxray's JSON come out exactly as
 * printf's %.15g prints them (as they did when json-glib's 17 digits were
 * rounded again by hand), whatever their magnitude. */
#include "json-out.h"

#include <glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static double random_value(GRand *rand, int i)
{
    switch (i % 4) {
    case 0:       /* what mxray computes: microseconds as milliseconds */
        return (double)g_rand_int_range(rand, 0, 100000000) / 1000.0;
    case 1:       /* any magnitude printf keeps in fixed notation, and past it */
        return g_rand_double(rand) * pow(10, g_rand_int_range(rand, -6, 18));
    case 2:       /* few digits: 0.5, 12.25 ... and their neighbours */
        return nextafter((double)g_rand_int_range(rand, 0, 4000) / 8.0, i % 8 < 4 ? 0 : 1e9);
    default:      /* rounds up into a carry: 9.9999999999999982 and the like */
        return (10.0 - g_rand_double_range(rand, 0, 1e-13)) * pow(10, g_rand_int_range(rand, -4, 14));
    }
}

static void test_random(void)
{
    enum { N = 200000 };
    GRand *rand = g_rand_new_with_seed(20261125);
    double *values = g_new(double, N);
    mx_json_out *w = mx_json_out_new(NULL, false);
    mx_json_begin_array(w);
    for (int i = 0; i < N; i++) {
        values[i] = (i % 3 == 0 ? -1 : 1) * random_value(rand, i);
        mx_json_double(w, values[i]);
    }
    mx_json_end_array(w);
    g_assert_null(mx_json_out_error(w));
    char *text = g_strdup(mx_json_out_text(w, NULL));
    mx_json_out_free(w);

    g_assert_cmpint(text[0], ==, '[');
    char *p = text + 1;
    for (int i = 0; i < N; i++) {
        char *end = strpbrk(p, ",]");
        g_assert_nonnull(end);
        *end = '\0';
        char want[G_ASCII_DTOSTR_BUF_SIZE];
        g_ascii_formatd(want, sizeof want, "%.15g", values[i]);
        if (strcmp(p, want) != 0)
            g_error("value %d (%.17g): wrote %s, %%.15g is %s", i, values[i], p, want);
        p = end + 1;
    }
    g_free(text);
    g_free(values);
    g_rand_free(rand);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/json/numbers/random", test_random);
    return g_test_run();
}
