/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-replay.c — runs fuzz targets' inputs without libFuzzer, for `make check`.
 *
 * Usage: fuzz-replay FILE|DIR...  Each file (directories: each regular
 * file in them, sorted) is handed to LLVMFuzzerTestOneInput once, as the
 * fuzzer would; a crash, a sanitizer report or a leak fails the test.
 * Prints how many inputs ran.  The inputs kept in tests/fuzz/regress/
 * are those a fuzzer once found a fault with: they stay tests forever.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    gchar *data;
    gsize len;
    GError *error = NULL;
    if (!g_file_get_contents(path, &data, &len, &error)) {
        fprintf(stderr, "fuzz-replay: %s\n", error->message);
        g_error_free(error);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    g_free(data);
    return 1;
}

static gint compare_names(gconstpointer a, gconstpointer b)
{
    return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int ran = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
            int r = replay_file(argv[i]);
            r < 0 ? failed++ : (ran += r);
            continue;
        }
        GDir *dir = g_dir_open(argv[i], 0, NULL);
        if (!dir) {
            fprintf(stderr, "fuzz-replay: cannot open %s\n", argv[i]);
            failed++;
            continue;
        }
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        for (const char *name; (name = g_dir_read_name(dir)) != NULL;)
            if (name[0] != '.' && !g_str_has_suffix(name, ".md"))
                g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
        g_dir_close(dir);
        g_ptr_array_sort(names, compare_names);
        for (guint j = 0; j < names->len; j++) {
            int r = replay_file(g_ptr_array_index(names, j));
            r < 0 ? failed++ : (ran += r);
        }
        g_ptr_array_free(names, TRUE);
    }
    printf("fuzz-replay: %d inputs replayed, %d unreadable\n", ran, failed);
    return failed || ran == 0 ? 1 : 0;
}
