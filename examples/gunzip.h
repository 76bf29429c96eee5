/* gunzip.h - decompress a .gz file into memory (RFC 1952 around RFC 1951 deflate), for the
   examples and benchmarks that read Fashion-MNIST. Not part of nn.h: the library itself reads
   no compressed data. Canonical-Huffman decoding one bit at a time, in the manner of zlib's
   reference decoder "puff"; the CRC-32 and length in the gzip trailer are checked.

   unsigned char *gunzip_file(const char *path, size_t *len, const char **err);
   returns a malloc'd buffer (free it) or NULL with *err set. */
#ifndef GUNZIP_H
#define GUNZIP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *in; size_t in_len, pos;
    unsigned bitbuf, bitcnt;
    unsigned char *out; size_t out_len, out_cap;
    int bad;
} gz_state;

typedef struct { short count[16]; short symbol[320]; } gz_huff;

static unsigned gz_bits(gz_state *s, unsigned need) {
    unsigned long v = s->bitbuf;
    while (s->bitcnt < need) {
        if (s->pos >= s->in_len) { s->bad = 1; return 0; }
        v |= (unsigned long)s->in[s->pos++] << s->bitcnt;
        s->bitcnt += 8;
    }
    s->bitbuf = (unsigned)(v >> need);
    s->bitcnt -= need;
    return (unsigned)(v & ((1ul << need) - 1));
}

/* builds the decoding table; returns 0 when the lengths form a valid (possibly incomplete) code */
static int gz_build(gz_huff *h, const short *lengths, int n) {
    short offs[16];
    int sym, len, left = 1;
    memset(h->count, 0, sizeof h->count);
    for (sym = 0; sym < n; sym++) h->count[lengths[sym]]++;
    if (h->count[0] == n) return 0;
    for (len = 1; len < 16; len++) {
        left <<= 1;
        left -= h->count[len];
        if (left < 0) return -1; /* over-subscribed */
    }
    offs[1] = 0;
    for (len = 1; len < 15; len++) offs[len + 1] = (short)(offs[len] + h->count[len]);
    for (sym = 0; sym < n; sym++) if (lengths[sym]) h->symbol[offs[lengths[sym]]++] = (short)sym;
    return 0;
}

static int gz_decode(gz_state *s, const gz_huff *h) {
    int code = 0, first = 0, index = 0, len;
    for (len = 1; len < 16; len++) {
        int count;
        code |= (int)gz_bits(s, 1);
        if (s->bad) return -1;
        count = h->count[len];
        if (code - count < first) return h->symbol[index + (code - first)];
        index += count; first += count;
        first <<= 1; code <<= 1;
    }
    s->bad = 1;
    return -1;
}

static int gz_put(gz_state *s, unsigned char c) {
    if (s->out_len == s->out_cap) { s->bad = 1; return -1; } /* more than the trailer's size */
    s->out[s->out_len++] = c;
    return 0;
}

static int gz_codes(gz_state *s, const gz_huff *lit, const gz_huff *dist) {
    static const short lbase[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
    static const short lext[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
    static const short dbase[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
    static const short dext[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};
    for (;;) {
        int sym = gz_decode(s, lit);
        if (sym < 0) return -1;
        if (sym < 256) { if (gz_put(s, (unsigned char)sym)) return -1; }
        else if (sym == 256) return 0;
        else {
            size_t len, d;
            sym -= 257;
            if (sym >= 29) return -1;
            len = (size_t)lbase[sym] + gz_bits(s, (unsigned)lext[sym]);
            sym = gz_decode(s, dist);
            if (sym < 0 || sym >= 30) return -1;
            d = (size_t)dbase[sym] + gz_bits(s, (unsigned)dext[sym]);
            if (s->bad || d > s->out_len || s->out_len + len > s->out_cap) return -1;
            for (; len; len--, s->out_len++) s->out[s->out_len] = s->out[s->out_len - d];
        }
    }
}

static int gz_inflate(gz_state *s) {
    static const short order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    gz_huff lit, dist;
    short lengths[320];
    int last, type, i;
    do {
        last = (int)gz_bits(s, 1);
        type = (int)gz_bits(s, 2);
        if (s->bad) return -1;
        if (type == 0) { /* stored */
            unsigned len, nlen;
            s->bitbuf = 0; s->bitcnt = 0;
            if (s->pos + 4 > s->in_len) return -1;
            len = s->in[s->pos] | (unsigned)s->in[s->pos + 1] << 8;
            nlen = s->in[s->pos + 2] | (unsigned)s->in[s->pos + 3] << 8;
            s->pos += 4;
            if (len != (~nlen & 0xffffu) || s->pos + len > s->in_len || s->out_len + len > s->out_cap) return -1;
            memcpy(s->out + s->out_len, s->in + s->pos, len);
            s->out_len += len; s->pos += len;
        } else if (type == 1) { /* fixed codes */
            for (i = 0; i < 144; i++) lengths[i] = 8;
            for (; i < 256; i++) lengths[i] = 9;
            for (; i < 280; i++) lengths[i] = 7;
            for (; i < 288; i++) lengths[i] = 8;
            gz_build(&lit, lengths, 288);
            for (i = 0; i < 30; i++) lengths[i] = 5;
            gz_build(&dist, lengths, 30);
            if (gz_codes(s, &lit, &dist)) return -1;
        } else if (type == 2) { /* dynamic codes */
            int nlen = (int)gz_bits(s, 5) + 257, ndist = (int)gz_bits(s, 5) + 1, ncode = (int)gz_bits(s, 4) + 4, idx;
            if (s->bad || nlen > 286 || ndist > 30) return -1;
            for (i = 0; i < 19; i++) lengths[order[i]] = i < ncode ? (short)gz_bits(s, 3) : 0;
            if (gz_build(&lit, lengths, 19)) return -1;
            for (idx = 0; idx < nlen + ndist;) {
                int sym = gz_decode(s, &lit), rep, val = 0;
                if (sym < 0) return -1;
                if (sym < 16) { lengths[idx++] = (short)sym; continue; }
                if (sym == 16) { if (idx == 0) return -1; val = lengths[idx - 1]; rep = 3 + (int)gz_bits(s, 2); }
                else if (sym == 17) rep = 3 + (int)gz_bits(s, 3);
                else rep = 11 + (int)gz_bits(s, 7);
                if (idx + rep > nlen + ndist) return -1;
                while (rep--) lengths[idx++] = (short)val;
            }
            if (lengths[256] == 0) return -1;
            if (gz_build(&lit, lengths, nlen) || gz_build(&dist, lengths + nlen, ndist)) return -1;
            if (gz_codes(s, &lit, &dist)) return -1;
        } else return -1;
    } while (!last);
    return s->bad ? -1 : 0;
}

static unsigned long gz_crc32(const unsigned char *p, size_t n) {
    static unsigned long table[256];
    unsigned long c = 0xffffffffUL;
    size_t i;
    if (!table[1])
        for (i = 0; i < 256; i++) {
            unsigned long v = (unsigned long)i;
            int k;
            for (k = 0; k < 8; k++) v = v & 1 ? 0xedb88320UL ^ (v >> 1) : v >> 1;
            table[i] = v;
        }
    for (i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffUL;
}

static unsigned char *gunzip_file(const char *path, size_t *len, const char **err) {
    FILE *f = fopen(path, "rb");
    unsigned char *in = NULL, *out = NULL;
    long size;
    size_t pos = 10, isize;
    unsigned long crc;
    gz_state s;
    *err = "cannot open file";
    if (!f) return NULL;
    *err = "cannot read file";
    if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 18 || fseek(f, 0, SEEK_SET)) { fclose(f); return NULL; }
    in = (unsigned char *)malloc((size_t)size);
    if (!in || fread(in, 1, (size_t)size, f) != (size_t)size) { fclose(f); free(in); return NULL; }
    fclose(f);
    *err = "not a gzip file";
    if (in[0] != 0x1f || in[1] != 0x8b || in[2] != 8) { free(in); return NULL; }
    if (in[3] & 4) pos += 2 + (size_t)(in[10] | in[11] << 8);              /* FEXTRA */
    if (in[3] & 8) { while (pos < (size_t)size && in[pos]) pos++; pos++; }   /* FNAME */
    if (in[3] & 16) { while (pos < (size_t)size && in[pos]) pos++; pos++; }  /* FCOMMENT */
    if (in[3] & 2) pos += 2;                                                 /* FHCRC */
    if (pos + 8 > (size_t)size) { free(in); return NULL; }
    isize = (size_t)in[size - 4] | (size_t)in[size - 3] << 8 | (size_t)in[size - 2] << 16 | (size_t)in[size - 1] << 24;
    crc = (unsigned long)in[size - 8] | (unsigned long)in[size - 7] << 8 | (unsigned long)in[size - 6] << 16 |
          (unsigned long)in[size - 5] << 24;
    out = (unsigned char *)malloc(isize ? isize : 1);
    *err = "out of memory";
    if (!out) { free(in); return NULL; }
    memset(&s, 0, sizeof s);
    s.in = in + pos; s.in_len = (size_t)size - 8 - pos;
    s.out = out; s.out_cap = isize;
    *err = "corrupt deflate data";
    if (gz_inflate(&s) || s.out_len != isize) { free(in); free(out); return NULL; }
    *err = "CRC mismatch";
    if (gz_crc32(out, s.out_len) != crc) { free(in); free(out); return NULL; }
    free(in);
    *len = s.out_len;
    *err = NULL;
    return out;
}
#endif
