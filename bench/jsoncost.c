/* SPDX-License-Identifier: BSD-3-Clause */
/* jsoncost.c — what writing mxray's session JSON costs with json-glib alone,
 * and with a streaming generator (yajl's yajl_gen) for comparison.
 *
 * Usage: bench-jsoncost [--runs N] SESSIONS.jsonl
 *
 * SESSIONS.jsonl is mxray's own output (`mxray read --format jsonl`), one
 * session a line.  Each line is parsed once, untimed, into a flat list of
 * events (open object, member name, string, number, ...).  Then, per pass:
 *
 *   json-glib  the events replayed into a JsonBuilder (reset between
 *              sessions, as mxray does), the root written by a compact
 *              JsonGenerator into a reused GString, the tree freed;
 *              build, generate and free are timed separately;
 *   yajl_gen   the same events replayed into one yajl_gen (numbers passed
 *              as mxray formats them, %.15g), buffer cleared per session.
 *
 * No capture is read and no analysis is done: the times are a floor under
 * what `mxray read --format json` spends writing, to set against the
 * benchmark's reading floor.  The yajl output is compared with the input
 * line byte for byte, so the two write the same contract.
 *
 * Prints one "name seconds" line per measure (median of the passes, wall
 * clock of this single thread), then "sessions", "bytes" and "identical".
 */
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

enum ev_type { EV_OBJ_OPEN, EV_OBJ_CLOSE, EV_ARR_OPEN, EV_ARR_CLOSE, EV_KEY, EV_STR, EV_INT, EV_DBL, EV_BOOL, EV_NULL };

typedef struct {
    enum ev_type type;
    gsize len;              /* EV_KEY, EV_STR */
    const char *str;        /* EV_KEY, EV_STR: in the string chunk */
    gint64 i;               /* EV_INT, EV_BOOL */
    double d;               /* EV_DBL */
} ev;

typedef struct {
    GArray *events;         /* of ev, every session in turn */
    GArray *starts;         /* of guint: first event of each session, then the end */
    GPtrArray *lines;       /* the input lines, for the byte comparison */
    GStringChunk *strings;
} corpus;

static void push(corpus *c, ev e)
{
    g_array_append_val(c->events, e);
}

static void push_str(corpus *c, enum ev_type type, const char *s)
{
    ev e = { .type = type, .len = strlen(s), .str = g_string_chunk_insert_const(c->strings, s) };
    push(c, e);
}

static void flatten(corpus *c, JsonNode *n)
{
    switch (json_node_get_node_type(n)) {
    case JSON_NODE_OBJECT: {
        push(c, (ev){ .type = EV_OBJ_OPEN });
        JsonObjectIter it;
        const char *name;
        JsonNode *member;
        json_object_iter_init_ordered(&it, json_node_get_object(n));
        while (json_object_iter_next_ordered(&it, &name, &member)) {
            push_str(c, EV_KEY, name);
            flatten(c, member);
        }
        push(c, (ev){ .type = EV_OBJ_CLOSE });
        break;
    }
    case JSON_NODE_ARRAY: {
        push(c, (ev){ .type = EV_ARR_OPEN });
        JsonArray *a = json_node_get_array(n);
        for (guint i = 0; i < json_array_get_length(a); i++)
            flatten(c, json_array_get_element(a, i));
        push(c, (ev){ .type = EV_ARR_CLOSE });
        break;
    }
    case JSON_NODE_NULL:
        push(c, (ev){ .type = EV_NULL });
        break;
    case JSON_NODE_VALUE:
        switch (json_node_get_value_type(n)) {
        case G_TYPE_STRING:
            push_str(c, EV_STR, json_node_get_string(n));
            break;
        case G_TYPE_INT64:
            push(c, (ev){ .type = EV_INT, .i = json_node_get_int(n) });
            break;
        case G_TYPE_DOUBLE:
            push(c, (ev){ .type = EV_DBL, .d = json_node_get_double(n) });
            break;
        case G_TYPE_BOOLEAN:
            push(c, (ev){ .type = EV_BOOL, .i = json_node_get_boolean(n) });
            break;
        default:
            g_error("unexpected JSON value type");
        }
        break;
    }
}

static gboolean load(corpus *c, const char *path, GError **error)
{
    gchar *text;
    gsize len;
    if (!g_file_get_contents(path, &text, &len, error))
        return FALSE;
    c->events = g_array_new(FALSE, FALSE, sizeof(ev));
    c->starts = g_array_new(FALSE, FALSE, sizeof(guint));
    c->lines = g_ptr_array_new_with_free_func(g_free);
    c->strings = g_string_chunk_new(1 << 20);
    g_autoptr(JsonParser) parser = json_parser_new();
    gchar **lines = g_strsplit(text, "\n", -1);
    g_free(text);
    for (gchar **l = lines; *l; l++) {
        if (**l == '\0')
            continue;
        if (!json_parser_load_from_data(parser, *l, -1, error)) {
            g_strfreev(lines);
            return FALSE;
        }
        guint start = c->events->len;
        g_array_append_val(c->starts, start);
        flatten(c, json_parser_get_root(parser));
        g_ptr_array_add(c->lines, g_strdup(*l));
    }
    guint end = c->events->len;
    g_array_append_val(c->starts, end);
    g_strfreev(lines);
    return TRUE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static JsonNode *build(JsonBuilder *b, const ev *e, const ev *end)
{
    for (; e < end; e++) {
        switch (e->type) {
        case EV_OBJ_OPEN: json_builder_begin_object(b); break;
        case EV_OBJ_CLOSE: json_builder_end_object(b); break;
        case EV_ARR_OPEN: json_builder_begin_array(b); break;
        case EV_ARR_CLOSE: json_builder_end_array(b); break;
        case EV_KEY: json_builder_set_member_name(b, e->str); break;
        case EV_STR: json_builder_add_string_value(b, e->str); break;
        case EV_INT: json_builder_add_int_value(b, e->i); break;
        case EV_DBL: json_builder_add_double_value(b, e->d); break;
        case EV_BOOL: json_builder_add_boolean_value(b, (gboolean)e->i); break;
        case EV_NULL: json_builder_add_null_value(b); break;
        }
    }
    JsonNode *root = json_builder_get_root(b);
    json_builder_reset(b);
    return root;
}

static void yajl_replay(yajl_gen g, const ev *e, const ev *end)
{
    char num[32];
    for (; e < end; e++) {
        switch (e->type) {
        case EV_OBJ_OPEN: yajl_gen_map_open(g); break;
        case EV_OBJ_CLOSE: yajl_gen_map_close(g); break;
        case EV_ARR_OPEN: yajl_gen_array_open(g); break;
        case EV_ARR_CLOSE: yajl_gen_array_close(g); break;
        case EV_KEY:
        case EV_STR: yajl_gen_string(g, (const unsigned char *)e->str, e->len); break;
        case EV_INT: yajl_gen_integer(g, (long long)e->i); break;
        case EV_DBL: {
            int n = snprintf(num, sizeof num, "%.15g", e->d);
            yajl_gen_number(g, num, (size_t)n);
            break;
        }
        case EV_BOOL: yajl_gen_bool(g, (int)e->i); break;
        case EV_NULL: yajl_gen_null(g); break;
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

enum { M_BUILD, M_GENERATE, M_FREE, M_GLIB, M_YAJL, N_MEASURES };
static const char *measure_names[N_MEASURES] = { "json-glib-build", "json-glib-generate", "json-glib-free",
                                                  "json-glib", "yajl_gen" };

int main(int argc, char **argv)
{
    int runs = 5;
    if (argc == 4 && strcmp(argv[1], "--runs") == 0) {
        runs = atoi(argv[2]);
        argv += 2;
        argc -= 2;
    }
    if (argc != 2 || runs < 1 || runs > 100) {
        fprintf(stderr, "usage: bench-jsoncost [--runs N] SESSIONS.jsonl\n");
        return 2;
    }
    corpus c;
    GError *error = NULL;
    if (!load(&c, argv[1], &error)) {
        fprintf(stderr, "bench-jsoncost: %s: %s\n", argv[1], error->message);
        return 2;
    }
    guint sessions = c.starts->len - 1;
    const ev *events = (const ev *)(void *)c.events->data;
    const guint *starts = (const guint *)(void *)c.starts->data;

    JsonBuilder *b = json_builder_new();
    JsonGenerator *gen = json_generator_new();
    GString *out = g_string_sized_new(8192);
    yajl_gen g = yajl_gen_alloc(NULL);
    double *times[N_MEASURES];
    for (int m = 0; m < N_MEASURES; m++)
        times[m] = g_new0(double, runs);
    guint64 glib_bytes = 0, yajl_bytes = 0;
    guint identical = 0;

    for (int r = 0; r < runs; r++) {
        double t_build = 0, t_gen = 0, t_free = 0;
        for (guint s = 0; s < sessions; s++) {
            double t0 = now();
            JsonNode *root = build(b, events + starts[s], events + starts[s + 1]);
            double t1 = now();
            json_generator_set_root(gen, root);
            g_string_truncate(out, 0);
            json_generator_to_gstring(gen, out);
            double t2 = now();
            json_generator_set_root(gen, NULL);
            json_node_unref(root);
            double t3 = now();
            t_build += t1 - t0;
            t_gen += t2 - t1;
            t_free += t3 - t2;
            if (r == 0)
                glib_bytes += out->len;
        }
        times[M_BUILD][r] = t_build;
        times[M_GENERATE][r] = t_gen;
        times[M_FREE][r] = t_free;
        times[M_GLIB][r] = t_build + t_gen + t_free;

        double t0 = now();
        for (guint s = 0; s < sessions; s++) {
            yajl_replay(g, events + starts[s], events + starts[s + 1]);
            const unsigned char *buf;
            size_t len;
            yajl_gen_get_buf(g, &buf, &len);
            if (r == 0) {
                yajl_bytes += len;
                const char *line = g_ptr_array_index(c.lines, s);
                if (strlen(line) == len && memcmp(line, buf, len) == 0)
                    identical++;
            }
            yajl_gen_clear(g);
            yajl_gen_reset(g, NULL);
        }
        times[M_YAJL][r] = now() - t0;
    }

    for (int m = 0; m < N_MEASURES; m++)
        printf("%s %.4f\n", measure_names[m], median(times[m], runs));
    printf("sessions %u\n", sessions);
    printf("bytes json-glib %" G_GUINT64_FORMAT " yajl_gen %" G_GUINT64_FORMAT "\n", glib_bytes, yajl_bytes);
    printf("identical %u\n", identical);

    yajl_gen_free(g);
    g_string_free(out, TRUE);
    g_object_unref(gen);
    g_object_unref(b);
    for (int m = 0; m < N_MEASURES; m++)
        g_free(times[m]);
    g_array_free(c.events, TRUE);
    g_array_free(c.starts, TRUE);
    g_ptr_array_free(c.lines, TRUE);
    g_string_chunk_free(c.strings);
    return 0;
}
