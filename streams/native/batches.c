/* Kafka record batches (message format v2) read in C: the bulk reader's values straight from a
 * fetch response's record set, instead of a ConsumerRecord object per record built by aiokafka
 * in Python (about 3 µs each; bench/README.md, "Replay: the raw fetch path").
 *
 * It reads only what it is sure of: an uncompressed v2 batch whose CRC-32C holds. Anything else
 * (a compressed batch, an older magic) stops it at that batch's first byte with `fallback` set,
 * and the caller reads that one batch with aiokafka and calls again after it. A batch whose CRC
 * fails, or whose records do not fit their lengths, is an error naming the batch's offset.
 *
 * values(data, pos, partition, first, stop) -> (values, next_offset, pos, fallback)
 *   data:        the record set of one partition, as a fetch response holds it
 *   values:      [(partition, offset, value bytes or None)] for first <= offset < stop
 *   next_offset: the offset after the last whole batch read (control batches included), or -1
 *   pos:         where reading stopped: the end, a batch cut off by the fetch's size, or the
 *                batch left to the caller (fallback true)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define HEADER 61           /* baseOffset .. recordsCount */
#define CRC_FROM 21         /* the CRC covers attributes .. the batch's end */
#define COMPRESSION 0x07    /* attribute bits */
#define CONTROL 0x20

static uint32_t crc_table[8][256];

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0x82F63B78u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            crc_table[t][n] = crc_table[0][crc_table[t - 1][n] & 0xff] ^ (crc_table[t - 1][n] >> 8);
}

/* CRC-32C (Castagnoli), eight bytes a step (slicing-by-8). */
static uint32_t crc32c(const unsigned char *p, Py_ssize_t n) {
    uint32_t c = 0xFFFFFFFFu;
    while (n >= 8) {
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                           (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 |
                      (uint32_t)p[7] << 24;
        c = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
            crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
            crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
            crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
        p += 8; n -= 8;
    }
    while (n-- > 0) c = crc_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

static int64_t be64(const unsigned char *p) {
    uint64_t v = 0;
    for (int k = 0; k < 8; k++) v = v << 8 | p[k];
    return (int64_t)v;
}

static int32_t be32(const unsigned char *p) {
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* A zigzag varint (Kafka's record fields): 0, or -1 when it runs past `end` or past 64 bits. */
static int varint(const unsigned char **p, const unsigned char *end, int64_t *out) {
    uint64_t n = 0; int shift = 0;
    while (*p < end && shift < 64) {
        unsigned char b = *(*p)++;
        n |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *out = (int64_t)(n >> 1) ^ -(int64_t)(n & 1); return 0; }
        shift += 7;
    }
    return -1;
}

/* A length-prefixed field: its bytes (NULL for -1, Kafka's null), or -1 when malformed. */
static int field(const unsigned char **p, const unsigned char *end, const unsigned char **s,
                 int64_t *len) {
    if (varint(p, end, len) || *len < -1 || *len > end - *p) return -1;
    *s = *len < 0 ? NULL : *p;
    if (*len > 0) *p += *len;
    return 0;
}

static PyObject *corrupt(long long offset, const char *what) {
    PyErr_Format(PyExc_ValueError, "record batch at offset %lld: %s", offset, what);
    return NULL;
}

/* The records of one whole batch in [first, stop) appended to `out`: 0, or -1 on an error. */
static int read_batch(const unsigned char *b, Py_ssize_t size, PyObject *partition, int64_t base,
                      int64_t first, int64_t stop, PyObject *out) {
    int32_t count = be32(b + 57);
    const unsigned char *p = b + HEADER, *end = b + size;
    for (int32_t r = 0; r < count; r++) {
        int64_t length, skip, delta, key_len, value_len;
        const unsigned char *key, *value;
        if (varint(&p, end, &length) || length < 0 || length > end - p) goto bad;
        const unsigned char *record_end = p + length;
        if (record_end - p < 1) goto bad;
        p++; /* attributes: unused */
        if (varint(&p, record_end, &skip) || varint(&p, record_end, &delta) ||
            field(&p, record_end, &key, &key_len) || field(&p, record_end, &value, &value_len))
            goto bad;
        p = record_end; /* headers: unused */
        int64_t offset = base + delta;
        if (offset < first || offset >= stop) continue;
        PyObject *v = value ? PyBytes_FromStringAndSize((const char *)value, value_len) : Py_None;
        if (!v) return -1;
        if (v == Py_None) Py_INCREF(v);
        PyObject *item = PyTuple_New(3), *at = PyLong_FromLongLong(offset);
        if (!item || !at) { Py_XDECREF(item); Py_XDECREF(at); Py_DECREF(v); return -1; }
        Py_INCREF(partition);
        PyTuple_SET_ITEM(item, 0, partition);
        PyTuple_SET_ITEM(item, 1, at);
        PyTuple_SET_ITEM(item, 2, v);
        int failed = PyList_Append(out, item);
        Py_DECREF(item);
        if (failed) return -1;
    }
    if (p != end) goto bad;
    return 0;
bad:
    corrupt(base, "records do not fit their lengths");
    return -1;
}

static PyObject *values(PyObject *self, PyObject *args) {
    Py_buffer data;
    Py_ssize_t pos;
    PyObject *partition;
    long long first, stop;
    if (!PyArg_ParseTuple(args, "y*nO!LL", &data, &pos, &PyLong_Type, &partition, &first, &stop))
        return NULL;
    const unsigned char *buf = data.buf;
    Py_ssize_t size = data.len;
    long long next_offset = -1;
    int fallback = 0;
    PyObject *out = PyList_New(0);
    if (!out) goto error;
    while (pos >= 0 && size - pos >= 17) { /* through magic: enough to judge the batch */
        const unsigned char *b = buf + pos;
        int64_t base = be64(b);
        int32_t length = be32(b + 8);
        if (b[16] != 2) { fallback = 1; break; } /* an older format */
        if (length < HEADER - 12) { corrupt(base, "batch shorter than its header"); goto error; }
        Py_ssize_t whole = 12 + (Py_ssize_t)length;
        if (whole > size - pos) break; /* cut off by the fetch's size: fetched again next */
        int attributes = b[21] << 8 | b[22];
        if (attributes & COMPRESSION) { fallback = 1; break; }
        if ((uint32_t)be32(b + 17) != crc32c(b + CRC_FROM, whole - CRC_FROM)) {
            corrupt(base, "CRC-32C does not match (corrupt)");
            goto error;
        }
        int64_t last = base + be32(b + 23);
        if (!(attributes & CONTROL) && last >= first && base < stop &&
            read_batch(b, whole, partition, base, first, stop, out))
            goto error;
        next_offset = last + 1;
        pos += whole;
    }
    PyBuffer_Release(&data);
    return Py_BuildValue("(NLnO)", out, next_offset, pos, fallback ? Py_True : Py_False);
error:
    PyBuffer_Release(&data);
    Py_XDECREF(out);
    return NULL;
}

static PyMethodDef methods[] = {
    {"values", values, METH_VARARGS, "The values of a record set's uncompressed v2 batches."},
    {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_batches", NULL, -1, methods};
PyMODINIT_FUNC PyInit__batches(void) {
    crc_init();
    return PyModule_Create(&module);
}
