/* The log's activity-only records (calls, visits, leads, qualifications: most of a log) read
 * in C, a batch per call, into one tuple of the fields the fold reads per record: the replay's
 * bulk build folds these rows column-wise (projections.model.columns) instead of decoding each
 * record through cavro and Python objects (bench/README.md, "Replay: the activity path in C").
 *
 * It reads a subset of what schemas.trusted reads, never more: whatever it is not sure of (an
 * unknown fingerprint, a non-canonical event id, an instant or an offset outside the window
 * below, an int beyond 32 bits, a string holding NUL or not UTF-8, truncated bytes) goes back
 * to the caller as "other", and the caller decodes that the product's way (which also refuses
 * what is corrupt). So for a record both paths read, both read the same values.
 *
 * scan(values, programs) -> (rows, others)
 *   values:   list of bytes (or None) as on the log: 2-byte marker, 8-byte fingerprint, body
 *   programs: {fingerprint: (type_index, ops: bytes, enums: tuple of tuples of str)}
 *   rows:     [(type_index, i, event_id as int, occurred_at us, offset min, rep_id, field...)]
 *   others:   indices of the non-None values this does not read
 * ops, one per Avro field in writer order; upper case keeps the value, lower case skips it:
 *   U uuid string as a 128-bit int   T instant (long, microseconds)   O offset (int, minutes)
 *   L/l long   I/i int   S/s string   B/b boolean   E/e enum (next tuple of `enums`)
 *   N/n union [null, string]   M/m union [null, long]
 *   D decimal bytes as its unscaled int   X union [null, decimal bytes]   A date (int days)
 *   0 a field the writer lacks: None (its default) in the reader's place
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

typedef struct { const unsigned char *p, *end; } cursor;

/* Instants from 1900-01-01 to 2200-01-01 UTC, offsets within a day: every conversion of these
 * (datetime, the org's local day) succeeds. Others go to the caller's path, which refuses or
 * reads them exactly as it always has. */
#define MIN_US (-2208988800LL * 1000000)
#define MAX_US (7258118400LL * 1000000)
#define MAX_OFFSET_MIN 1439
#define MIN_DAYS (-25567) /* 1900-01-01 */
#define MAX_DAYS 84006    /* 2200-01-01 */
#define MAX_DECIMAL_BYTES 16

static int read_long(cursor *c, long long *out) {
    unsigned long long n = 0; int shift = 0;
    while (c->p < c->end) {
        unsigned char b = *c->p++;
        n |= (unsigned long long)(b & 0x7f) << shift;
        if (shift == 63 && b > 1) return -1;
        if (!(b & 0x80)) { *out = (long long)(n >> 1) ^ -(long long)(n & 1); return 0; }
        shift += 7;
        if (shift > 63) return -1;
    }
    return -1;
}

static int read_bytes(cursor *c, const unsigned char **s, Py_ssize_t *len) {
    long long n;
    if (read_long(c, &n) || n < 0 || n > c->end - c->p) return -1;
    *s = c->p; *len = (Py_ssize_t)n; c->p += n;
    return 0;
}

/* A string field: -1 malformed or holding NUL (the product refuses both), else 0. */
static int read_string(cursor *c, PyObject **out) {
    const unsigned char *s; Py_ssize_t len;
    if (read_bytes(c, &s, &len) || memchr(s, 0, len)) return -1;
    if (out) {
        *out = PyUnicode_DecodeUTF8((const char *)s, len, NULL);
        if (!*out) { PyErr_Clear(); return -1; }
    }
    return 0;
}

static int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static PyObject *read_uuid(cursor *c) {
    const unsigned char *s; Py_ssize_t len; unsigned char raw[16]; int k = 0;
    if (read_bytes(c, &s, &len) || len != 36) return NULL;
    for (Py_ssize_t j = 0; j < 36; j++) {
        if (j == 8 || j == 13 || j == 18 || j == 23) { if (s[j] != '-') return NULL; continue; }
        int h = hexval(s[j]), l = hexval(s[++j]);
        if (h < 0 || l < 0) return NULL;
        raw[k++] = (unsigned char)(h << 4 | l);
    }
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromUnsignedNativeBytes(
        raw, 16, Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER);
#else
    return _PyLong_FromByteArray(raw, 16, 0, 0);
#endif
}

/* A decimal's bytes: its unscaled value, big-endian two's complement (the caller scales it). */
static PyObject *read_decimal(cursor *c) {
    const unsigned char *s; Py_ssize_t len;
    if (read_bytes(c, &s, &len) || len > MAX_DECIMAL_BYTES) return NULL;
    if (len == 0) return PyLong_FromLong(0);
#if PY_VERSION_HEX >= 0x030D0000
    return PyLong_FromNativeBytes(s, len, Py_ASNATIVEBYTES_BIG_ENDIAN);
#else
    return _PyLong_FromByteArray(s, len, 0, 1);
#endif
}

static PyObject *scan_one(const unsigned char *data, Py_ssize_t size, PyObject *program,
                          Py_ssize_t index) {
    PyObject *type_index = PyTuple_GET_ITEM(program, 0);
    PyObject *ops = PyTuple_GET_ITEM(program, 1), *enums = PyTuple_GET_ITEM(program, 2);
    const char *op = PyBytes_AS_STRING(ops);
    Py_ssize_t nops = PyBytes_GET_SIZE(ops), kept = 0, enum_at = 0;
    PyObject *values[40];
    cursor c = {data + 10, data + size};
    for (Py_ssize_t j = 0; j < nops; j++) {
        PyObject *v = NULL; long long n;
        switch (op[j]) {
        case 'U': v = read_uuid(&c); if (!v) goto fail; break;
        case 'L': if (read_long(&c, &n)) goto fail; v = PyLong_FromLongLong(n); break;
        case 'l': if (read_long(&c, &n)) goto fail; continue;
        case 'I': case 'i':
            if (read_long(&c, &n) || n < INT32_MIN || n > INT32_MAX) goto fail;
            if (op[j] == 'i') continue;
            v = PyLong_FromLongLong(n); break;
        case 'T':
            if (read_long(&c, &n) || n < MIN_US || n >= MAX_US) goto fail;
            v = PyLong_FromLongLong(n); break;
        case 'O':
            if (read_long(&c, &n) || n < -MAX_OFFSET_MIN || n > MAX_OFFSET_MIN) goto fail;
            v = PyLong_FromLongLong(n); break;
        case 'S': if (read_string(&c, &v)) goto fail; break;
        case 's': if (read_string(&c, NULL)) goto fail; continue;
        case 'B': case 'b':
            if (c.p >= c.end || *c.p > 1) goto fail;
            v = *c.p++ ? Py_True : Py_False; Py_INCREF(v);
            if (op[j] == 'b') { Py_DECREF(v); continue; }
            break;
        case 'E': case 'e': {
            PyObject *symbols = PyTuple_GET_ITEM(enums, enum_at++);
            if (read_long(&c, &n) || n < 0 || n >= PyTuple_GET_SIZE(symbols)) goto fail;
            if (op[j] == 'e') continue;
            v = PyTuple_GET_ITEM(symbols, n); Py_INCREF(v); break;
        }
        case 'N': case 'n': case 'M': case 'm':
            if (read_long(&c, &n) || (n != 0 && n != 1)) goto fail;
            if (n == 0) { if (op[j] == 'n' || op[j] == 'm') continue; v = Py_None; Py_INCREF(v); break; }
            if (op[j] == 'N') { if (read_string(&c, &v)) goto fail; break; }
            if (op[j] == 'n') { if (read_string(&c, NULL)) goto fail; continue; }
            if (read_long(&c, &n)) goto fail;
            if (op[j] == 'm') continue;
            v = PyLong_FromLongLong(n); break;
        case 'D': v = read_decimal(&c); if (!v) goto fail; break;
        case 'X':
            if (read_long(&c, &n) || (n != 0 && n != 1)) goto fail;
            if (n == 0) { v = Py_None; Py_INCREF(v); break; }
            v = read_decimal(&c); if (!v) goto fail; break;
        case 'A':
            if (read_long(&c, &n) || n < MIN_DAYS || n >= MAX_DAYS) goto fail;
            v = PyLong_FromLongLong(n); break;
        case '0': v = Py_None; Py_INCREF(v); break;
        default: goto fail;
        }
        if (!v) goto fail; /* out of memory: the caller sees the error set */
        if (kept == 38) { Py_DECREF(v); goto fail; }
        values[kept++] = v;
    }
    PyObject *row = PyTuple_New(kept + 2);
    if (!row) goto fail;
    Py_INCREF(type_index);
    PyTuple_SET_ITEM(row, 0, type_index);
    PyTuple_SET_ITEM(row, 1, PyLong_FromSsize_t(index));
    for (Py_ssize_t j = 0; j < kept; j++) PyTuple_SET_ITEM(row, j + 2, values[j]);
    return row;
fail:
    for (Py_ssize_t j = 0; j < kept; j++) Py_DECREF(values[j]);
    return NULL;
}

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *values, *programs;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &values, &PyDict_Type, &programs))
        return NULL;
    PyObject *rows = PyList_New(0), *others = PyList_New(0);
    if (!rows || !others) goto error;
    Py_ssize_t count = PyList_GET_SIZE(values);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *value = PyList_GET_ITEM(values, i), *row = NULL, *program = NULL;
        if (PyBytes_Check(value) && PyBytes_GET_SIZE(value) >= 10) {
            const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(value);
            PyObject *fp = PyBytes_FromStringAndSize((const char *)data + 2, 8);
            if (!fp) goto error;
            program = data[0] == 0xC3 && data[1] == 0x01 ? PyDict_GetItem(programs, fp) : NULL;
            Py_DECREF(fp);
            if (program) row = scan_one(data, PyBytes_GET_SIZE(value), program, i);
            if (PyErr_Occurred()) goto error;
        }
        if (row) {
            if (PyList_Append(rows, row)) { Py_DECREF(row); goto error; }
            Py_DECREF(row);
        } else if (value != Py_None) {
            PyObject *at = PyLong_FromSsize_t(i);
            if (!at || PyList_Append(others, at)) { Py_XDECREF(at); goto error; }
            Py_DECREF(at);
        }
    }
    return Py_BuildValue("(NN)", rows, others);
error:
    Py_XDECREF(rows); Py_XDECREF(others);
    return NULL;
}

static PyMethodDef methods[] = {{"scan", scan, METH_VARARGS, "Read a batch of activity records."},
                                {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_scan", NULL, -1, methods};
PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
