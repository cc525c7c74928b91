/* SPDX-License-Identifier: BSD-3-Clause */
/* fuzz-smtp.c — libFuzzer target: the SMTP state machine fed hostile streams directly.
 *
 * fuzz-analyzer.c reaches SMTP only through valid TCP; here each input is
 * records of [control: 1 byte][length: 1 byte][bytes], the control's low
 * bit the direction (0 client, 1 server), bit 1 a gap of `length` bytes
 * instead of data (a capture loss), bit 2 a 10 s pause before it.  At the
 * end the session is finished and trimmed, as a flow's end does.
 */
#include "flow.h"
#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mx_smtp *s = mx_smtp_new();
    uint64_t off[2] = { 0, 0 };
    int64_t ts = 1000000;
    uint64_t frame = 0;
    size_t at = 0;
    while (at + 2 <= size) {
        uint8_t ctl = data[at];
        size_t len = data[at + 1];
        at += 2;
        int dir = ctl & 1 ? MX_DIR_S2C : MX_DIR_C2S;
        ts += ctl & 4 ? 10000000 : 1000;
        mx_packet p = { .frame = ++frame, .ts_us = ts };
        if (ctl & 2) {
            mx_smtp_gap(s, dir, off[dir], len, &p);
        } else {
            if (len > size - at)
                len = size - at;
            mx_smtp_data(s, dir, data + at, len, off[dir], &p);
            at += len;
        }
        off[dir] += len;
    }
    mx_smtp_finish(s);
    mx_smtp_trim(s);
    mx_smtp_free(s);
    return 0;
}
