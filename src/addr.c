/* SPDX-License-Identifier: BSD-3-Clause */
/* addr.c — IP addresses as mxray prints and compares them. */
#include "packet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <string.h>

/* Dotted quad by hand: glibc's inet_ntop goes through sprintf (~2,000
 * instructions an address), and every session's JSON writes two. */
static const char *ipv4_str(const uint8_t *b, char *buf, size_t len)
{
    if (len < 16)
        return inet_ntop(AF_INET, b, buf, (socklen_t)len) ? buf : "?";
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 3 ? '.' : '\0';
    }
    return buf;
}

const char *mx_addr_str(const mx_addr *a, char *buf, size_t len)
{
    if (a->family == 4)
        return ipv4_str(a->bytes, buf, len);
    if (a->family == 6)
        return inet_ntop(AF_INET6, a->bytes, buf, (socklen_t)len) ? buf : "?";
    if (len > 0) {
        strncpy(buf, "?", len);
        buf[len - 1] = '\0';
    }
    return buf;
}

bool mx_addr_equal(const mx_addr *a, const mx_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, sizeof a->bytes) == 0;
}

bool mx_addr_parse(const char *text, mx_addr *out)
{
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = 6;
        return true;
    }
    return false;
}

unsigned mx_addr_sockaddr(const mx_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == 4) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        memcpy(&sin->sin_addr, a->bytes, 4);
        return sizeof *sin;
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    memcpy(&sin6->sin6_addr, a->bytes, 16);
    return sizeof *sin6;
}

const char *mx_addr_endpoint(const mx_addr *a, uint16_t port, char *buf, size_t len)
{
    char ip[64];
    mx_addr_str(a, ip, sizeof ip);
    snprintf(buf, len, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)port);
    return buf;
}

unsigned mx_addr_hash(const void *p)
{
    /* FNV-1a over the bytes the family uses. */
    const mx_addr *a = p;
    uint32_t h = 2166136261u ^ a->family;
    size_t n = a->family == 4 ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        h = (h ^ a->bytes[i]) * 16777619u;
    return h;
}

int mx_addr_equal_key(const void *a, const void *b)
{
    return mx_addr_equal(a, b);
}
