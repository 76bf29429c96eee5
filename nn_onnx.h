/* nn_onnx.h - ONNX models into nn.h: a model file exported by torch.onnx.export (or any ONNX
   writer) becomes an nn.h model, compiled and holding the file's weights, that trains, saves,
   quantizes and exports (tools/nn2c) like one built by hand.

   USE
     In one C file, after nn.h's implementation (they share a translation unit):

         #define NN_IMPLEMENTATION
         #include "nn.h"
         #include "nn_onnx.h"

         nn_model m;
         if (nn_onnx_load(&m, "model.onnx", NULL) != NN_OK) puts(nn_error());
         nn_predict(&m, x, n, out);  ... nn_save(&m, "model.safetensors") ...

     tools/onnx2nn converts a file to nn.h's model file on the command line. A companion (not
     part of nn.h) because firmware never parses ONNX: it compiles in the converted model.

   WHAT IT READS. The protobuf wire format by hand (no protobuf library): ModelProto, its
   GraphProto's nodes, initializers, one input and one output. Tensors as raw_data or typed
   fields (float, double, int8/16/32/64, uint8, bool), repeated fields packed or not. External
   data, sparse initializers, subgraphs and other operator domains are refused, naming them.
   Every length and count is checked against the bytes that are there before anything is
   allocated; a graph whose node reads a value no earlier node writes (out of order, or a cycle)
   is refused. Nodes that do not lead to the output are skipped.

   OPERATORS, and the layers they become:
     Gemm, MatMul (by a constant; + Add of a bias)   dense (per step on a (T, D) input)
     Conv (groups, dilation, symmetric pads, auto_pad) conv2d
     MaxPool, AveragePool, GlobalAveragePool          pool2d (max: no ceil_mode, no dilation)
     BatchNormalization, LayerNormalization           batchnorm, layernorm (last axis)
     Relu, LeakyRelu, Sigmoid, Tanh, Gelu             act (Gelu: the exact one; also torch's
       and Div, Erf, Add, Mul, Mul as torch writes GELU before opset 20)
     Softmax (last axis of (C))                       softmax
     Add, Mul of two values of one shape              add, mul (no broadcasting)
     Concat (axis 1)                                  concat
     Gather of a constant table by the token input    embedding (input: nn_input_seq(T, 0))
     LSTM, GRU (forward, zero initial state, torch's  lstm, gru (gate blocks reordered to torch's;
       linear_before_reset GRU)                         every step's output, or the last one)
     MatMul, Split, Reshape, Transpose, MatMul, Mul,  attention (causal when a Where masks the
       Where, Softmax, MatMul, Transpose, Reshape,      keys after each query)
       MatMul (+ Add): nanoGPT's self-attention
     Add of a constant (T, D) table                   pos_embedding
     ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt,     layernorm (torch before opset 17)
       Div, Mul, Add
     Flatten, Reshape, Squeeze, Unsqueeze, Transpose  views (the batch stays the outer axis;
       that only moves the batch or size-1 axes           a Transpose that moves data is refused)
     Dropout, Identity, Cast to float                 nothing (inference: dropout is off)
     Pad (constant 0) before Conv/AveragePool         that layer's padding
     Constant, ConstantOfShape, Shape, Gather, Concat, Unsqueeze, Squeeze, Cast, Expand,
       Identity, Range, Slice, Equal, Add, Sub, Mul, Div on constants and shapes (what torch
       writes to size an LSTM's zero state, a position range, a causal mask)
   Anything else is NN_ERR_UNSUPPORTED naming the operator and its node; so is an attribute
   value nn.h's layer cannot express (asymmetric padding, ceil_mode, a nonzero initial state).

   THE MODEL. Input: the graph's one input without an initializer; its first axis is the batch.
   (C) floats -> nn_input, (C, H, W) -> nn_input_image, (T, D) -> nn_input_seq(T, D), integer
   (T) -> nn_input_seq(T, 0) (ids, given to nn_predict as floats). The output is the graph's one
   output; compiled with cfg->compile, the weights the file's (the seed initializes nothing
   that is kept). Layer parameters keep nn.h's own names ("<i-1>.weight").

   LICENSE: MIT, as nn.h. */
#ifndef NN_ONNX_H
#define NN_ONNX_H
#ifndef NN_H_INCLUDED
#error "include nn.h before nn_onnx.h"
#endif

typedef struct nn_onnx_config {
    nn_compile_config compile;     /* how the model is compiled: loss, optimizer (to fine-tune),
                                      max_batch, inference_only, arena (nn_compile_defaults()) */
    const nn_allocator *allocator; /* the model's memory (NULL: malloc/free); the reader's own
                                      short-lived tables come from malloc */
} nn_onnx_config;
NNDEF nn_onnx_config nn_onnx_defaults(void);
/* Build, compile and fill m (not initialized before) from an ONNX model in memory (cfg NULL:
   nn_onnx_defaults()); on failure m is left freed and nn_error() says why. */
NNDEF nn_result nn_onnx_load_mem(nn_model *m, const void *data, size_t size, const nn_onnx_config *cfg);
#ifndef NN_NO_STDIO
NNDEF nn_result nn_onnx_load(nn_model *m, const char *path, const nn_onnx_config *cfg);
#endif
#endif /* NN_ONNX_H */

#ifdef NN_IMPLEMENTATION
#ifndef NN_ONNX_IMPLEMENTED
#define NN_ONNX_IMPLEMENTED

/* >>onnx-wire: the protobuf wire format. A message is fields of key (field << 3 | wire type)
   then a varint (0), 8 bytes (1), a length and that many bytes (2) or 4 bytes (5). ------------ */
typedef struct nn__pb { const uint8_t *p, *end; } nn__pb;
typedef struct nn__pbf {
    uint32_t field;
    int wire;
    uint64_t v;            /* wire 0, 1, 5 */
    const uint8_t *data;   /* wire 2 */
    size_t len;
} nn__pbf;

NN__PRIVATE int nn__pb_varint(nn__pb *r, uint64_t *v) {
    uint64_t x = 0;
    int s;
    for (s = 0; s < 64 && r->p < r->end; s += 7) {
        const uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) { *v = x; return 1; }
    }
    return 0;
}
/* the next field: 1, 0 at the end, -1 when malformed */
NN__PRIVATE int nn__pb_next(nn__pb *r, nn__pbf *f) {
    uint64_t key;
    int k;
    if (r->p >= r->end) return 0;
    if (!nn__pb_varint(r, &key) || (key >> 3) == 0 || (key >> 3) > 0x1fffffff) return -1;
    f->field = (uint32_t)(key >> 3);
    f->wire = (int)(key & 7);
    f->v = 0; f->data = NULL; f->len = 0;
    switch (f->wire) {
    case 0: return nn__pb_varint(r, &f->v) ? 1 : -1;
    case 1: case 5:
        k = f->wire == 1 ? 8 : 4;
        if (r->end - r->p < k) return -1;
        while (k--) f->v = (f->v << 8) | r->p[k];
        r->p += f->wire == 1 ? 8 : 4;
        return 1;
    case 2:
        if (!nn__pb_varint(r, &f->v) || f->v > (uint64_t)(r->end - r->p)) return -1;
        f->data = r->p; f->len = (size_t)f->v; r->p += f->len;
        return 1;
    default: return -1; /* groups (3, 4) and unknown types */
    }
}
NN__PRIVATE nn__pb nn__pb_of(const uint8_t *p, size_t n) { nn__pb r; r.p = p; r.end = p + n; return r; }
NN__PRIVATE float nn__pb_f32(uint64_t v) { const uint32_t u = (uint32_t)v; float x; memcpy(&x, &u, 4); return x; }
NN__PRIVATE double nn__pb_f64(uint64_t v) { double x; memcpy(&x, &v, 8); return x; }
/* the elements of a repeated scalar field, packed (wire 2) or one (wire 0, 1, 5): calls get for
   each with its raw bits; -1 when malformed (the wire type is not the element's, or a packed
   run ends inside an element) */
NN__PRIVATE int nn__pb_each(const nn__pbf *f, int elem_wire, void (*get)(void *, uint64_t), void *ctx) {
    nn__pb r;
    uint64_t v;
    if (f->wire == elem_wire) { get(ctx, f->v); return 1; }
    if (f->wire != 2) return -1;
    r = nn__pb_of(f->data, f->len);
    if (elem_wire != 0 && f->len % (elem_wire == 1 ? 8u : 4u)) return -1;
    while (r.p < r.end) {
        if (elem_wire == 0) { if (!nn__pb_varint(&r, &v)) return -1; }
        else {
            int k = elem_wire == 1 ? 8 : 4;
            v = 0;
            while (k--) v = (v << 8) | r.p[k];
            r.p += elem_wire == 1 ? 8 : 4;
        }
        get(ctx, v);
    }
    return 1;
}
NN__PRIVATE int nn__pb_str_is(const uint8_t *p, size_t n, const char *s) { return strlen(s) == n && (n == 0 || memcmp(p, s, n) == 0); }

/* >>onnx-model: the parts of ModelProto, GraphProto, NodeProto, AttributeProto and TensorProto
   this reads (field numbers from onnx.proto) ----------------------------------------------------- */
#define NN__OX_MAX_IO 16      /* inputs and outputs of a node (LSTM: 8) */
#define NN__OX_MAX_RANK 8
#define NN__OX_BATCH INT64_MIN /* a shape element that is the batch (from Shape of an activation) */

typedef struct nn__ox_str { const uint8_t *p; size_t n; } nn__ox_str;
typedef struct nn__ox_node {
    nn__ox_str op, name, domain;
    int n_in, n_out;
    nn__ox_str in[NN__OX_MAX_IO], out[NN__OX_MAX_IO];
    const uint8_t *attrs; size_t attrs_len; /* the node's bytes: its attributes are found by name */
    int live;
} nn__ox_node;

/* A decoded constant: every element as float, and for integer types also as int64 */
typedef struct nn__ox_tensor {
    int dtype, ndim;
    int64_t dims[NN__OX_MAX_RANK];
    int64_t count;
    float *f;
    int64_t *i;           /* integer types (shapes, axes, indices) */
    int zero;             /* Expand / ConstantOfShape of zeros to a shape holding the batch: no data */
} nn__ox_tensor;

/* What a graph value is while the graph becomes layers */
enum { NN__OXV_ACT = 1,  /* a layer's output, batch at axis bpos */
       NN__OXV_CONST,    /* a constant (initializer, Constant, or computed from shapes) */
       NN__OXV_DENSE,    /* MatMul by a constant, not yet a layer: an Add of a bias may follow */
       NN__OXV_PAD,      /* Pad of an activation: its reader (Conv, AveragePool) pads */
       NN__OXV_GELU1, NN__OXV_GELU2, NN__OXV_GELU3, NN__OXV_GELU4, /* x/sqrt2, erf, +1, *x */
       /* self-attention as torch writes nanoGPT's: the q, k, v thirds of a fused projection
          (part, state: 0 (T, C), 1 (T, H, D), 2 (H, T, D), 3 (H, D, T)), q k^T (scaled, masked),
          its softmax, times v (state 2, then 1), merged back to (T, C), times the output
          projection: one attention layer once something reads it */
       NN__OXV_QKV, NN__OXV_SCORES, NN__OXV_PROBS, NN__OXV_ATTY, NN__OXV_ATT, NN__OXV_ATTP,
       /* LayerNorm as torch writes it before opset 17 (state: 1 mean, 2 x - mean, 3 its square,
          4 their mean, 5 + eps, 6 sqrt, 7 normalized, 8 times a weight; then + bias) */
       NN__OXV_LN };
typedef struct nn__ox_val {
    nn__ox_str name;
    int kind;
    int layer;            /* ACT: its layer */
    int src;              /* DENSE, PAD, GELUn: the value it is computed from */
    int rank, bpos;       /* ACT, DENSE: the ONNX rank and the batch axis */
    int64_t dims[NN__OX_MAX_RANK]; /* ACT, DENSE: ONNX dims (dims[bpos] is the batch) */
    int64_t pads[2];      /* PAD: H and W, each side */
    nn__ox_tensor t;      /* CONST; DENSE: its weight (units, in) */
    int uses;             /* readers among the live nodes (and the graph output) */
    int tokens;           /* ACT: the model's integer input */
    float *bias;          /* DENSE, ATTP: the bias an Add gave it (owned) */
    int part, state, heads, causal; /* attention steps (src: the fused projection's DENSE value) */
    double scale;         /* SCORES: the factor applied so far */
} nn__ox_val;

/* A parameter from the file, copied into its layer after compile */
typedef struct nn__ox_param { int layer; const char *part; float *data; int64_t count; } nn__ox_param;

typedef struct nn__ox {
    nn_model *m;
    nn__ox_node *nodes; int n_nodes;
    nn__ox_val *vals; int n_vals, cap_vals;
    nn__ox_param *params; int n_params, cap_params;
    int opset;
    int node;             /* the node being translated (for messages) */
    char where[160];      /* "node 3 (Conv \"conv1\")" */
} nn__ox;

/* a name for a message: printable, at most 60 characters */
NN__PRIVATE const char *nn__ox_name(char *buf, nn__ox_str s) {
    size_t i, n = s.n < 60 ? s.n : 60;
    for (i = 0; i < n; i++) buf[i] = s.p[i] >= 32 && s.p[i] < 127 ? (char)s.p[i] : '?';
    if (s.n > 60) { buf[n++] = '.'; buf[n++] = '.'; buf[n++] = '.'; }
    buf[n] = 0;
    return buf;
}
NN__PRIVATE nn_result nn__ox_bad(nn__ox *x, nn_result code, const char *what) {
    return nn__fail(code, "ONNX %s: %s", x->where, what);
}

NN__PRIVATE void nn__ox_tensor_free(nn__ox_tensor *t) { free(t->f); free(t->i); t->f = NULL; t->i = NULL; }
/* t's t->count elements, zeroed: floats, and int64s too for integer data */
NN__PRIVATE nn_result nn__ox_tensor_alloc(nn__ox *x, nn__ox_tensor *t, int ints) {
    t->f = (float *)calloc((size_t)(t->count ? t->count : 1), sizeof(float));
    t->i = ints ? (int64_t *)calloc((size_t)(t->count ? t->count : 1), sizeof(int64_t)) : NULL;
    if (!t->f || (ints && !t->i)) { nn__ox_tensor_free(t); return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory for a tensor"); }
    return NN_OK;
}

/* TensorProto: dims 1, data_type 2, segment 3, float_data 4, int32_data 5, int64_data 7, name 8,
   raw_data 9, double_data 10, uint64_data 11, external_data 13, data_location 14 */
typedef struct nn__ox_fill { nn__ox_tensor *t; int64_t n; int kind; } nn__ox_fill;
NN__PRIVATE void nn__ox_put(void *ctx, uint64_t v) {
    nn__ox_fill *c = (nn__ox_fill *)ctx;
    nn__ox_tensor *t = c->t;
    if (c->n < t->count && t->f) {
        double d;
        int64_t iv = 0;
        switch (c->kind) {
        case 4: d = nn__pb_f32(v); break;
        case 10: d = nn__pb_f64(v); break;
        case 5: iv = (int64_t)(int32_t)(uint32_t)v; d = (double)iv; break; /* int32_data */
        default: iv = (int64_t)v; d = (double)iv; break;                  /* int64_data */
        }
        t->f[c->n] = (float)d;
        if (t->i) t->i[c->n] = iv;
    }
    c->n++;
}
NN__PRIVATE nn_result nn__ox_tensor_read(nn__ox *x, const uint8_t *p, size_t n, nn__ox_tensor *t) {
    nn__pb r = nn__pb_of(p, n);
    nn__pbf f;
    int k, pass, typed = 0, esize = 0, is_int;
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    memset(t, 0, sizeof *t);
    t->dtype = 1;
    while ((k = nn__pb_next(&r, &f)) == 1) {
        if (f.field == 1) {
            nn__pb d;
            uint64_t v;
            if (f.wire == 0) { v = f.v; d.p = d.end = NULL; goto one; }
            if (f.wire != 2) return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor's dims have the wrong wire type");
            d = nn__pb_of(f.data, f.len);
            while (d.p < d.end) {
                if (!nn__pb_varint(&d, &v)) return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor's dims are truncated");
            one:
                if (t->ndim >= NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a tensor of more than 8 dimensions");
                if ((int64_t)v < 0 || v > ((uint64_t)1 << 31)) return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor dimension is negative or over 2^31");
                t->dims[t->ndim++] = (int64_t)v;
            }
        } else if (f.field == 2 && f.wire == 0) {
            t->dtype = (int)f.v;
        } else if (f.field == 3) {
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a segmented tensor");
        } else if (f.field == 13 || (f.field == 14 && f.wire == 0 && f.v == 1)) {
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a tensor with external data (save the model with its weights inside)");
        } else if (f.field == 9 && f.wire == 2) {
            raw = f.data; raw_len = f.len;
        } else if (f.field == 4 || f.field == 5 || f.field == 7 || f.field == 10 || f.field == 11) {
            typed = 1;
        }
    }
    if (k < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor is malformed (truncated, or a wrong wire type)");
    switch (t->dtype) {
    case 1: esize = 4; break;   /* FLOAT */
    case 2: case 3: case 9: esize = 1; break; /* UINT8, INT8, BOOL */
    case 5: esize = 2; break;   /* INT16 */
    case 6: esize = 4; break;   /* INT32 */
    case 7: esize = 8; break;   /* INT64 */
    case 11: esize = 8; break;  /* DOUBLE */
    default: {
        char msg[96];
        const char *nm = t->dtype == 10 ? "float16" : t->dtype == 16 ? "bfloat16" : t->dtype == 8 ? "string" : "this";
        msg[0] = 0;
        nn__cat(msg, sizeof msg, "a tensor of data type ");
        nn__cat_int(msg, sizeof msg, t->dtype);
        nn__cat(msg, sizeof msg, " (");
        nn__cat(msg, sizeof msg, nm);
        nn__cat(msg, sizeof msg, "): float32/64 and integers only");
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, msg);
    }
    }
    is_int = t->dtype != 1 && t->dtype != 11;
    t->count = 1;
    for (k = 0; k < t->ndim; k++) {
        if (t->dims[k] && t->count > ((int64_t)1 << 31) / t->dims[k])
            return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor of more than 2^31 elements");
        t->count *= t->dims[k];
    }
    if (raw) {
        int64_t i;
        if ((uint64_t)raw_len != (uint64_t)t->count * (uint64_t)esize)
            return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor's raw_data length is not its element count times the element size");
        if (nn__ox_tensor_alloc(x, t, is_int) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        for (i = 0; i < t->count; i++) { /* little-endian on every host */
            const uint8_t *q = raw + i * esize;
            uint64_t u = 0;
            int b;
            for (b = esize - 1; b >= 0; b--) u = (u << 8) | q[b];
            switch (t->dtype) {
            case 1: t->f[i] = nn__pb_f32(u); break;
            case 11: t->f[i] = (float)nn__pb_f64(u); break;
            case 2: case 9: t->i[i] = (int64_t)u; break;
            case 3: t->i[i] = (int8_t)(uint8_t)u; break;
            case 5: t->i[i] = (int16_t)(uint16_t)u; break;
            case 6: t->i[i] = (int32_t)(uint32_t)u; break;
            default: t->i[i] = (int64_t)u; break;
            }
            if (is_int) t->f[i] = (float)t->i[i];
        }
        return NN_OK;
    }
    /* typed fields: counted, then read (a repeated field may come in several runs): float_data
       (fixed32), double_data (fixed64), int64_data, uint64_data, and int32_data for the others */
    {
        const int want = t->dtype == 1 ? 4 : t->dtype == 11 ? 10 : t->dtype == 7 ? 7 : 5;
        for (pass = 0; pass < 2; pass++) {
            nn__ox_fill c;
            c.t = t; c.n = 0; c.kind = want;
            r = nn__pb_of(p, n);
            while (nn__pb_next(&r, &f) == 1) {
                if (!typed || (int)f.field != want) continue;
                if (nn__pb_each(&f, want == 4 ? 5 : want == 10 ? 1 : 0, nn__ox_put, &c) < 0)
                    return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor's typed data has the wrong wire type or is cut short");
            }
            if (pass == 0) {
                if (c.n != t->count) return nn__ox_bad(x, NN_ERR_FORMAT, "a tensor holds a different number of elements than its dims say");
                if (nn__ox_tensor_alloc(x, t, is_int) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
            }
        }
    }
    return NN_OK;
}

/* an attribute of the node by name: its AttributeProto's fields (name 1, f 2, i 3, s 4, t 5, g 6,
   floats 7, ints 8); 0 when absent */
NN__PRIVATE int nn__ox_attr(const nn__ox_node *nd, const char *name, nn__pbf *val, int field) {
    nn__pb r = nn__pb_of(nd->attrs, nd->attrs_len);
    nn__pbf f;
    while (nn__pb_next(&r, &f) == 1) {
        nn__pb a;
        nn__pbf g;
        int named = 0, found = 0;
        if (f.field != 5 || f.wire != 2) continue;
        a = nn__pb_of(f.data, f.len);
        while (nn__pb_next(&a, &g) == 1) {
            if (g.field == 1 && g.wire == 2) named = nn__pb_str_is(g.data, g.len, name);
            else if ((int)g.field == field && !found) { *val = g; found = 1; }
        }
        if (named && found) return 1;
    }
    return 0;
}
NN__PRIVATE int64_t nn__ox_int(const nn__ox_node *nd, const char *name, int64_t def) {
    nn__pbf v;
    return nn__ox_attr(nd, name, &v, 3) && v.wire == 0 ? (int64_t)v.v : def;
}
NN__PRIVATE float nn__ox_float(const nn__ox_node *nd, const char *name, float def) {
    nn__pbf v;
    return nn__ox_attr(nd, name, &v, 2) && v.wire == 5 ? nn__pb_f32(v.v) : def;
}
NN__PRIVATE int nn__ox_str_attr(const nn__ox_node *nd, const char *name, const char *s) { /* absent: 0 */
    nn__pbf v;
    return nn__ox_attr(nd, name, &v, 4) && v.wire == 2 && nn__pb_str_is(v.data, v.len, s);
}
NN__PRIVATE int nn__ox_has(const nn__ox_node *nd, const char *name) {
    nn__pbf v;
    int f;
    for (f = 2; f <= 8; f++) if (nn__ox_attr(nd, name, &v, f)) return 1;
    return 0;
}
typedef struct nn__ox_ints { int64_t v[NN__OX_MAX_RANK]; int n, over; } nn__ox_ints;
NN__PRIVATE void nn__ox_int_put(void *ctx, uint64_t v) {
    nn__ox_ints *c = (nn__ox_ints *)ctx;
    if (c->n < NN__OX_MAX_RANK) c->v[c->n++] = (int64_t)v; else c->over = 1;
}
/* an ints attribute (repeated: every occurrence); -1 when absent, -2 when malformed or too long */
NN__PRIVATE int nn__ox_ints_attr(const nn__ox_node *nd, const char *name, int64_t *out) {
    nn__pb r = nn__pb_of(nd->attrs, nd->attrs_len);
    nn__pbf f;
    nn__ox_ints c;
    int any = 0;
    c.n = 0; c.over = 0;
    while (nn__pb_next(&r, &f) == 1) {
        nn__pb a;
        nn__pbf g;
        int named = 0;
        if (f.field != 5 || f.wire != 2) continue;
        a = nn__pb_of(f.data, f.len);
        while (nn__pb_next(&a, &g) == 1) if (g.field == 1 && g.wire == 2) named = nn__pb_str_is(g.data, g.len, name);
        if (!named) continue;
        any = 1;
        a = nn__pb_of(f.data, f.len);
        while (nn__pb_next(&a, &g) == 1)
            if (g.field == 8 && nn__pb_each(&g, 0, nn__ox_int_put, &c) < 0) return -2;
    }
    if (c.over) return -2;
    if (any) memcpy(out, c.v, sizeof(int64_t) * (size_t)c.n);
    return any ? c.n : -1;
}

/* >>onnx-values: the graph's values by name ------------------------------------------------------ */
NN__PRIVATE int nn__ox_find(const nn__ox *x, nn__ox_str s) {
    int i;
    for (i = x->n_vals - 1; i >= 0; i--)
        if (x->vals[i].name.n == s.n && (s.n == 0 || memcmp(x->vals[i].name.p, s.p, s.n) == 0)) return i;
    return -1;
}
NN__PRIVATE int nn__ox_new(nn__ox *x, nn__ox_str name, int kind) {
    nn__ox_val *v;
    if (x->n_vals == x->cap_vals) {
        int cap = x->cap_vals ? 2 * x->cap_vals : 64;
        nn__ox_val *p = (nn__ox_val *)realloc(x->vals, sizeof *p * (size_t)cap);
        if (!p) { nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory for the graph's values"); return -1; }
        x->vals = p; x->cap_vals = cap;
    }
    v = &x->vals[x->n_vals];
    memset(v, 0, sizeof *v);
    v->name = name; v->kind = kind; v->layer = -1; v->src = -1;
    return x->n_vals++;
}
/* value o becomes what value v is, keeping its name and readers: nothing owned is shared (alias:
   o owns nothing; move: v, which nothing else reads, gives o its weights and bias) */
NN__PRIVATE void nn__ox_copy(nn__ox *x, int o, int v, int move) {
    const nn__ox_str nm = x->vals[o].name;
    const int uses = x->vals[o].uses;
    nn__ox_val *clear = move ? &x->vals[v] : &x->vals[o];
    x->vals[o] = x->vals[v];
    x->vals[o].name = nm; x->vals[o].uses = uses;
    memset(&clear->t, 0, sizeof clear->t);
    clear->bias = NULL;
}
NN__PRIVATE nn_result nn__ox_param_add(nn__ox *x, int layer, const char *part, float *data, int64_t count) {
    if (x->n_params == x->cap_params) {
        int cap = x->cap_params ? 2 * x->cap_params : 32;
        nn__ox_param *p = (nn__ox_param *)realloc(x->params, sizeof *p * (size_t)cap);
        if (!p) { free(data); return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory"); }
        x->params = p; x->cap_params = cap;
    }
    x->params[x->n_params].layer = layer;
    x->params[x->n_params].part = part;
    x->params[x->n_params].data = data;
    x->params[x->n_params].count = count;
    x->n_params++;
    return NN_OK;
}
/* a copy of n floats (scaled) as a parameter of layer */
NN__PRIVATE nn_result nn__ox_param_copy(nn__ox *x, int layer, const char *part, const float *src, int64_t n, float scale) {
    float *d = (float *)malloc(sizeof(float) * (size_t)(n ? n : 1));
    int64_t i;
    if (!d) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
    for (i = 0; i < n; i++) d[i] = src[i] * scale;
    return nn__ox_param_add(x, layer, part, d, n);
}

/* The layer's storage is always (N, the other axes in ONNX order): an ONNX (T, N, D) is stored
   (N, T, D). The per-sample shape of an activation is its dims without the batch; 0 when the
   batch is not the outer axis (only size-1 axes before it) and !any, for operators that read
   the data in ONNX's order (elementwise ones and those on the last axis need not). */
NN__PRIVATE int nn__ox_sample_shape(const nn__ox_val *v, int64_t *shape, int *ndim, int any) {
    int i, n = 0;
    for (i = 0; i < v->bpos && !any; i++) if (v->dims[i] != 1) return 0;
    for (i = 0; i < v->rank; i++) if (i > v->bpos || (i < v->bpos && v->dims[i] != 1)) shape[n++] = v->dims[i];
    *ndim = n;
    return 1;
}
NN__PRIVATE int64_t nn__ox_prod(const int64_t *d, int n) { int64_t p = 1; int i; for (i = 0; i < n; i++) p *= d[i]; return p; }

NN__PRIVATE int nn__ox_layer(nn__ox *x, int vi, int want_rank, int any);
NN__PRIVATE int nn__ox_make_layernorm(nn__ox *x, int vi, const float *b);
/* a MatMul's dense layer (with the bias an Add gave it) */
NN__PRIVATE int nn__ox_make_dense(nn__ox *x, int vi) {
    nn__ox_val *v = &x->vals[vi];
    const int64_t units = v->t.dims[0];
    int a = nn__ox_layer(x, v->src, 0, 1), l;
    if (a < 0) return a;
    v = &x->vals[vi];
    l = nn_dense_ex(x->m, a, units, v->bias != NULL, NN_INIT_TORCH);
    if (l < 0) return l;
    if (nn__ox_param_copy(x, l, "weight", v->t.f, v->t.count, 1.0f) != NN_OK ||
        (v->bias && nn__ox_param_copy(x, l, "bias", v->bias, units, 1.0f) != NN_OK))
        return NN_ERR_OUT_OF_MEMORY;
    v->kind = NN__OXV_ACT; v->layer = l;
    return l;
}
/* the layernorm a decomposed one (state 7 or 8) makes, with bias b (NULL: zeros) */
NN__PRIVATE int nn__ox_make_layernorm(nn__ox *x, int vi, const float *b) {
    const nn__ox_val *v = &x->vals[vi];
    const int64_t C = v->dims[v->rank - 1];
    float *w = (float *)malloc(sizeof(float) * (size_t)C), *z = (float *)calloc((size_t)C, sizeof(float));
    int a, l;
    int64_t k;
    if (!w || !z) { free(w); free(z); return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory"); }
    for (k = 0; k < C; k++) w[k] = v->state == 8 ? v->t.f[v->t.count == 1 ? 0 : k] : 1.0f;
    if (b) memcpy(z, b, sizeof(float) * (size_t)C);
    if ((a = nn__ox_layer(x, v->src, 0, 1)) < 0 || (l = nn_layernorm(x->m, a, (float)x->vals[vi].scale)) < 0) {
        free(w); free(z);
        return a < 0 ? a : x->m->status;
    }
    if (nn__ox_param_add(x, l, "weight", w, C) != NN_OK) { free(z); return NN_ERR_OUT_OF_MEMORY; }
    if (nn__ox_param_add(x, l, "bias", z, C) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
    nn__ox_tensor_free(&x->vals[vi].t);
    x->vals[vi].kind = NN__OXV_ACT; x->vals[vi].layer = l;
    return l;
}
/* the attention layer an output projection completes: its input is the fused projection's */
NN__PRIVATE int nn__ox_make_attention(nn__ox *x, int vi) {
    const int qi = x->vals[vi].src;
    const int64_t C = x->vals[vi].t.dims[0];
    int a = nn__ox_layer(x, x->vals[qi].src, 2, 1), l, k;
    if (a < 0) return a;
    l = nn_attention_ex(x->m, a, x->vals[vi].heads, x->vals[vi].causal, 1, 0.0f, NN_INIT_TORCH);
    if (l < 0) return l;
    for (k = 0; k < 2; k++) { /* c_attn (3C, C), c_proj (C, C), and their biases (zeros where there were none) */
        const nn__ox_val *v = &x->vals[k ? vi : qi];
        const int64_t n = k ? C : 3 * C;
        float *b = (float *)calloc((size_t)n, sizeof(float));
        if (!b) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
        if (v->bias) memcpy(b, v->bias, sizeof(float) * (size_t)n);
        if (nn__ox_param_copy(x, l, k ? "c_proj.weight" : "c_attn.weight", v->t.f, v->t.count, 1.0f) != NN_OK ||
            nn__ox_param_add(x, l, k ? "c_proj.bias" : "c_attn.bias", b, n) != NN_OK)
            return NN_ERR_OUT_OF_MEMORY;
    }
    x->vals[vi].kind = NN__OXV_ACT; x->vals[vi].layer = l;
    return l;
}
/* the layer holding value vi with the per-sample shape its ONNX dims say (a reshape view added
   where the layer's own shape differs); want_rank > 0: that many per-sample dims or an error;
   any: the batch may be an inner axis (see nn__ox_sample_shape) */
NN__PRIVATE int nn__ox_layer(nn__ox *x, int vi, int want_rank, int any) {
    nn__ox_val *v = &x->vals[vi];
    int64_t shape[NN__OX_MAX_RANK];
    int n, i, same;
    const nn_layer *l;
    char nm[64], msg[200];
    if (v->kind == NN__OXV_DENSE || v->kind == NN__OXV_ATTP || (v->kind == NN__OXV_LN && v->state >= 7)) {
        const int r = v->kind == NN__OXV_DENSE ? nn__ox_make_dense(x, vi) : v->kind == NN__OXV_ATTP ? nn__ox_make_attention(x, vi)
                                                                          : nn__ox_make_layernorm(x, vi, NULL);
        if (r < 0) return r;
        v = &x->vals[vi];
    }
    if (v->kind != NN__OXV_ACT) {
        msg[0] = 0;
        nn__cat(msg, sizeof msg, "value \"");
        nn__cat(msg, sizeof msg, nn__ox_name(nm, v->name));
        nn__cat(msg, sizeof msg, v->kind == NN__OXV_CONST ? "\" is a constant where a layer's input is needed (an operation between constants nn.h does not evaluate)"
                                 : v->kind == NN__OXV_PAD ? "\" is a Pad read by other than a Conv or AveragePool"
                                 : v->kind == NN__OXV_LN ? "\" is a step of a LayerNorm written as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, read from outside that pattern"
                                 : v->kind >= NN__OXV_QKV ? "\" is a step of self-attention read from outside its pattern (q k^T, scale, causal mask, softmax, times v, output projection)"
                                 : "\" is part of a GELU written as Div, Erf, Add, Mul, Mul, read from outside that pattern");
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, msg);
    }
    if (!nn__ox_sample_shape(v, shape, &n, any))
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a layer reads a value whose batch is not its outer axis (a Transpose that moves data)");
    while (n > 3 && shape[0] == 1) { memmove(shape, shape + 1, sizeof(int64_t) * (size_t)--n); }
    if (n == 0) shape[n++] = 1;
    if (n > 3) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a value of more than 3 dimensions besides the batch");
    if (want_rank > 0 && n != want_rank) {
        msg[0] = 0;
        nn__cat(msg, sizeof msg, "an input of ");
        nn__cat_int(msg, sizeof msg, n);
        nn__cat(msg, sizeof msg, " dimensions besides the batch, where this operator takes ");
        nn__cat_int(msg, sizeof msg, want_rank);
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, msg);
    }
    l = &x->m->layers[v->layer];
    same = l->ndim == n;
    for (i = 0; same && i < n; i++) same = l->shape[i] == shape[i];
    if (!same) {
        const int r = nn_reshape(x->m, v->layer, n, shape);
        if (r < 0) return r;
        x->vals[vi].layer = r;
    }
    return x->vals[vi].layer;
}
/* a new activation value: layer l, with the ONNX dims of ref's batch-first (N, shape...) */
NN__PRIVATE void nn__ox_set_act(nn__ox_val *v, int l, const int64_t *shape, int n) {
    v->kind = NN__OXV_ACT; v->layer = l; v->bpos = 0; v->rank = n + 1;
    v->dims[0] = NN__OX_BATCH;
    memcpy(v->dims + 1, shape, sizeof(int64_t) * (size_t)n);
}
/* an activation value from a layer, with the layer's per-sample shape */
NN__PRIVATE void nn__ox_set_layer(nn__ox *x, nn__ox_val *v, int l) {
    nn__ox_set_act(v, l, x->m->layers[l].shape, x->m->layers[l].ndim);
}
/* node output 0 is layer l, with the ONNX dims of value like (an elementwise result) */
NN__PRIVATE void nn__ox_set_like(nn__ox *x, const nn__ox_node *nd, int l, int like) {
    nn__ox_val *o = &x->vals[nn__ox_find(x, nd->out[0])];
    const nn__ox_val *s = &x->vals[like];
    o->kind = NN__OXV_ACT; o->layer = l; o->rank = s->rank; o->bpos = s->bpos;
    memcpy(o->dims, s->dims, sizeof o->dims);
}

/* >>onnx-ops: each operator's translation -------------------------------------------------------- */
NN__PRIVATE const nn__ox_val *nn__ox_in(const nn__ox *x, const nn__ox_node *nd, int k) {
    if (k >= nd->n_in || nd->in[k].n == 0) return NULL;
    return &x->vals[nn__ox_find(x, nd->in[k])];
}
NN__PRIVATE int nn__ox_in_idx(const nn__ox *x, const nn__ox_node *nd, int k) {
    return k >= nd->n_in || nd->in[k].n == 0 ? -1 : nn__ox_find(x, nd->in[k]);
}
/* a constant input k (NULL: absent or not a constant) */
NN__PRIVATE const nn__ox_tensor *nn__ox_const(const nn__ox *x, const nn__ox_node *nd, int k) {
    const nn__ox_val *v = nn__ox_in(x, nd, k);
    return v && v->kind == NN__OXV_CONST && !v->t.zero ? &v->t : NULL;
}
NN__PRIVATE int nn__ox_is_scalar(const nn__ox_tensor *t, double want, double tol) {
    return t && t->count == 1 && t->f && fabs((double)t->f[0] - want) <= tol * fabs(want);
}
/* axes as an attribute (before opset 13) or a constant input k (opset 13 on); -1 absent */
NN__PRIVATE int nn__ox_axes(nn__ox *x, const nn__ox_node *nd, int k, int64_t *axes) {
    const nn__ox_tensor *t = nn__ox_const(x, nd, k);
    int n = nn__ox_ints_attr(nd, "axes", axes), i;
    if (t) {
        if (!t->i || t->count > NN__OX_MAX_RANK) return -2;
        for (i = 0; i < t->count; i++) axes[i] = t->i[i];
        return (int)t->count;
    }
    return n;
}
NN__PRIVATE int nn__ox_axis(int64_t a, int rank) { return a < 0 ? (int)(a + rank) : (int)a; }

/* an activation kind nn_act from an operator name; 0 when it is not one */
NN__PRIVATE int nn__ox_act_kind(const nn__ox_node *nd) {
    if (nn__pb_str_is(nd->op.p, nd->op.n, "Relu")) return NN_ACT_RELU;
    if (nn__pb_str_is(nd->op.p, nd->op.n, "LeakyRelu")) return NN_ACT_LEAKY_RELU;
    if (nn__pb_str_is(nd->op.p, nd->op.n, "Sigmoid")) return NN_ACT_SIGMOID;
    if (nn__pb_str_is(nd->op.p, nd->op.n, "Tanh")) return NN_ACT_TANH;
    if (nn__pb_str_is(nd->op.p, nd->op.n, "Gelu")) return NN_ACT_GELU;
    return 0;
}
#define NN__OX_IS(s) nn__pb_str_is(nd->op.p, nd->op.n, s)

/* Conv, MaxPool, AveragePool: kernel, strides, pads (symmetric), dilations (+ a Pad before) */
typedef struct nn__ox_win { int64_t k[2], s[2], p[2], d[2]; } nn__ox_win;
NN__PRIVATE nn_result nn__ox_window(nn__ox *x, const nn__ox_node *nd, const int64_t *in_hw, const int64_t *kernel,
                                    const int64_t *extra_pad, nn__ox_win *w) {
    int64_t a[NN__OX_MAX_RANK];
    int n, i;
    n = nn__ox_ints_attr(nd, "kernel_shape", a);
    if (n == 2) { if (kernel && (a[0] != kernel[0] || a[1] != kernel[1])) return nn__ox_bad(x, NN_ERR_FORMAT, "kernel_shape differs from the weights"); w->k[0] = a[0]; w->k[1] = a[1]; }
    else if (n == -1 && kernel) { w->k[0] = kernel[0]; w->k[1] = kernel[1]; }
    else return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "kernel_shape missing or not 2-D");
    w->s[0] = w->s[1] = 1; w->d[0] = w->d[1] = 1; w->p[0] = w->p[1] = 0;
    n = nn__ox_ints_attr(nd, "strides", a);
    if (n == 2) { w->s[0] = a[0]; w->s[1] = a[1]; } else if (n != -1) return nn__ox_bad(x, NN_ERR_FORMAT, "strides are not 2 numbers");
    n = nn__ox_ints_attr(nd, "dilations", a);
    if (n == 2) { w->d[0] = a[0]; w->d[1] = a[1]; } else if (n != -1) return nn__ox_bad(x, NN_ERR_FORMAT, "dilations are not 2 numbers");
    n = nn__ox_ints_attr(nd, "pads", a);
    if (n == 4) {
        if (a[0] != a[2] || a[1] != a[3]) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "asymmetric pads (nn.h pads each side alike)");
        w->p[0] = a[0]; w->p[1] = a[1];
    } else if (n != -1) return nn__ox_bad(x, NN_ERR_FORMAT, "pads are not 4 numbers");
    if (nn__ox_str_attr(nd, "auto_pad", "SAME_UPPER") || nn__ox_str_attr(nd, "auto_pad", "SAME_LOWER")) {
        for (i = 0; i < 2; i++) { /* output ceil(H / S): total padding split evenly, or refused */
            const int64_t o = (in_hw[i] + w->s[i] - 1) / (w->s[i] > 0 ? w->s[i] : 1);
            const int64_t tot = (o - 1) * w->s[i] + (w->k[i] - 1) * w->d[i] + 1 - in_hw[i];
            if (tot > 0 && tot % 2) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "auto_pad SAME with an odd total padding (asymmetric)");
            w->p[i] = tot > 0 ? tot / 2 : 0;
        }
    }
    if (extra_pad) { w->p[0] += extra_pad[0]; w->p[1] += extra_pad[1]; }
    for (i = 0; i < 2; i++)
        if (w->k[i] < 1 || w->s[i] < 1 || w->d[i] < 1 || w->p[i] < 0 || w->k[i] > 65536 || w->s[i] > 65536 ||
            w->d[i] > 65536 || w->p[i] > 65536)
            return nn__ox_bad(x, NN_ERR_FORMAT, "a kernel, stride, dilation or padding out of range");
    return NN_OK;
}

/* torch's gate blocks from ONNX's: LSTM iofc -> ifgo (from[k]: ONNX block of torch block k), GRU
   zrh -> rzn; rows of H x cols each */
NN__PRIVATE float *nn__ox_gates(const float *src, int gates, int64_t H, int64_t cols) {
    static const int lstm[4] = {0, 2, 3, 1}, gru[3] = {1, 0, 2};
    const int *from = gates == 4 ? lstm : gru;
    float *d = (float *)malloc(sizeof(float) * (size_t)(gates * H * cols));
    int k;
    if (!d) return NULL;
    for (k = 0; k < gates; k++) memcpy(d + k * H * cols, src + from[k] * H * cols, sizeof(float) * (size_t)(H * cols));
    return d;
}

/* (the node functions return NN_OK or a negative nn_result, as int: layer builders return ints) */
NN__PRIVATE int nn__ox_rnn(nn__ox *x, const nn__ox_node *nd, int gates) {
    const int64_t H = nn__ox_int(nd, "hidden_size", 0);
    const int layout = (int)nn__ox_int(nd, "layout", 0);
    const int xi = nn__ox_in_idx(x, nd, 0);
    const nn__ox_tensor *W = nn__ox_const(x, nd, 1), *R = nn__ox_const(x, nd, 2), *B = nn__ox_const(x, nd, 3);
    const nn__ox_val *xv = &x->vals[xi];
    const int want_b = layout ? 0 : 1, want_t = layout ? 1 : 0;
    int64_t D, T;
    int k, a, l, out_seq, out_last;
    float *p;
    nn__ox_val *y;
    if (nn__ox_has(nd, "direction") && !nn__ox_str_attr(nd, "direction", "forward"))
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a bidirectional or reverse RNN (forward only)");
    if (nn__ox_has(nd, "activations") || nn__ox_has(nd, "clip") || nn__ox_int(nd, "input_forget", 0))
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN with its own activations, clip or input_forget");
    if (gates == 3 && nn__ox_int(nd, "linear_before_reset", 0) != 1)
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a GRU without linear_before_reset (torch's GRU has it)");
    if (H < 1 || H > (1 << 20) || !W || !R) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN without hidden_size or constant W and R");
    if (nn__ox_in_idx(x, nd, 4) >= 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN with sequence_lens");
    for (k = 5; k < nd->n_in; k++) {
        const nn__ox_val *s = nn__ox_in(x, nd, k);
        int64_t i;
        int zero = s && s->kind == NN__OXV_CONST;
        if (!s) continue;
        if (k == 7) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an LSTM with peepholes");
        for (i = 0; zero && !s->t.zero && i < s->t.count; i++) zero = s->t.f[i] == 0.0f;
        if (!zero) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN with a nonzero initial state");
    }
    if (xv->kind != NN__OXV_ACT || xv->rank != 3 || xv->bpos != want_b)
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN input that is not (T, N, D) (or (N, T, D) with layout 1)");
    T = xv->dims[want_t]; D = xv->dims[2];
    if (W->ndim != 3 || W->dims[0] != 1 || W->dims[1] != gates * H || W->dims[2] != D || R->ndim != 3 ||
        R->dims[0] != 1 || R->dims[1] != gates * H || R->dims[2] != H || (B && B->count != 2 * gates * H))
        return nn__ox_bad(x, NN_ERR_SHAPE, "an RNN's W, R or B does not have the shape its input and hidden_size give");
    out_seq = nd->n_out > 0 && nd->out[0].n && x->vals[nn__ox_find(x, nd->out[0])].uses > 0;
    out_last = nd->n_out > 1 && nd->out[1].n && x->vals[nn__ox_find(x, nd->out[1])].uses > 0;
    if (nd->n_out > 2 && nd->out[2].n && x->vals[nn__ox_find(x, nd->out[2])].uses > 0)
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an LSTM whose cell state output is read");
    if (out_seq && out_last) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an RNN whose every-step output and last state are both read");
    if ((a = nn__ox_layer(x, xi, 2, 1)) < 0) return a; /* (stored (N, T, D) either way) */
    l = gates == 4 ? nn_lstm(x->m, a, H, !out_last) : nn_gru(x->m, a, H, !out_last);
    if (l < 0) return l;
    if (!(p = nn__ox_gates(W->f, gates, H, D)) || nn__ox_param_add(x, l, "weight_ih_l0", p, gates * H * D) != NN_OK ||
        !(p = nn__ox_gates(R->f, gates, H, H)) || nn__ox_param_add(x, l, "weight_hh_l0", p, gates * H * H) != NN_OK)
        return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
    if (B) {
        if (!(p = nn__ox_gates(B->f, gates, H, 1)) || nn__ox_param_add(x, l, "bias_ih_l0", p, gates * H) != NN_OK ||
            !(p = nn__ox_gates(B->f + gates * H, gates, H, 1)) || nn__ox_param_add(x, l, "bias_hh_l0", p, gates * H) != NN_OK)
            return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
    } else {
        static const float z = 0.0f;
        (void)z;
        if (!(p = (float *)calloc((size_t)(2 * gates * H), sizeof(float)))) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
        if (nn__ox_param_add(x, l, "bias_ih_l0", p, gates * H) != NN_OK || nn__ox_param_copy(x, l, "bias_hh_l0", p + gates * H, gates * H, 1.0f) != NN_OK)
            return NN_ERR_OUT_OF_MEMORY;
    }
    /* outputs: Y (T, 1, N, H) (layout 1: (N, T, 1, H)); Y_h (1, N, H) (layout 1: (N, 1, H)) */
    for (k = 0; k < 2 && k < nd->n_out; k++) {
        if (!nd->out[k].n) continue;
        y = &x->vals[nn__ox_find(x, nd->out[k])];
        y->kind = NN__OXV_ACT; y->layer = l;
        if (k == 0) {
            y->rank = 4;
            if (layout) { y->bpos = 0; y->dims[1] = T; y->dims[2] = 1; }
            else { y->bpos = 2; y->dims[0] = T; y->dims[1] = 1; }
            y->dims[y->bpos] = NN__OX_BATCH; y->dims[3] = H;
        } else {
            y->rank = 3; y->bpos = layout ? 0 : 1;
            y->dims[layout ? 1 : 0] = 1; y->dims[y->bpos] = NN__OX_BATCH; y->dims[2] = H;
        }
    }
    return NN_OK;
}

/* a constant result: t moved into the node's output 0 */
NN__PRIVATE void nn__ox_put_const(nn__ox *x, const nn__ox_node *nd, nn__ox_tensor *t) {
    nn__ox_val *o = &x->vals[nn__ox_find(x, nd->out[0])];
    o->kind = NN__OXV_CONST; o->t = *t;
    memset(t, 0, sizeof *t);
}
NN__PRIVATE nn_result nn__ox_const_new(nn__ox *x, nn__ox_tensor *t, int ndim, const int64_t *dims, int ints) {
    int k;
    memset(t, 0, sizeof *t);
    t->dtype = ints ? 7 : 1; t->ndim = ndim; t->count = 1;
    for (k = 0; k < ndim; k++) {
        t->dims[k] = dims[k];
        if (dims[k] < 0 || (dims[k] && t->count > ((int64_t)1 << 20) / dims[k]))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a computed constant of over 2^20 elements");
        t->count *= dims[k];
    }
    return nn__ox_tensor_alloc(x, t, ints);
}

/* Shape, Gather, Concat, Unsqueeze, Squeeze, Cast, Expand, ConstantOfShape, Constant on constants */
NN__PRIVATE nn_result nn__ox_const_op(nn__ox *x, const nn__ox_node *nd) {
    nn__ox_tensor t;
    const nn__ox_tensor *a = nn__ox_const(x, nd, 0);
    const nn__ox_val *av = nn__ox_in(x, nd, 0);
    int64_t axes[NN__OX_MAX_RANK], dims[NN__OX_MAX_RANK] = {0};
    int k, n;
    nn_result r;
    if (NN__OX_IS("Constant")) {
        nn__pbf v;
        if (nn__ox_attr(nd, "value", &v, 5) && v.wire == 2) {
            if ((r = nn__ox_tensor_read(x, v.data, v.len, &t)) != NN_OK) return r;
        } else if (nn__ox_attr(nd, "value_float", &v, 2) && v.wire == 5) {
            if ((r = nn__ox_const_new(x, &t, 0, dims, 0)) != NN_OK) return r;
            t.f[0] = nn__pb_f32(v.v);
        } else if (nn__ox_attr(nd, "value_int", &v, 3) && v.wire == 0) {
            if ((r = nn__ox_const_new(x, &t, 0, dims, 1)) != NN_OK) return r;
            t.i[0] = (int64_t)v.v; t.f[0] = (float)t.i[0];
        } else if ((n = nn__ox_ints_attr(nd, "value_ints", axes)) >= 0) {
            dims[0] = n;
            if ((r = nn__ox_const_new(x, &t, 1, dims, 1)) != NN_OK) return r;
            for (k = 0; k < n; k++) { t.i[k] = axes[k]; t.f[k] = (float)axes[k]; }
        } else return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a Constant without value, value_float, value_int or value_ints");
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Shape")) {
        const int64_t s0 = nn__ox_int(nd, "start", 0), s1 = nn__ox_int(nd, "end", NN__OX_MAX_RANK);
        int lo, hi;
        if (!av || (av->kind != NN__OXV_ACT && av->kind != NN__OXV_CONST))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Shape of a value that is neither a layer's nor a constant");
        n = av->kind == NN__OXV_ACT ? av->rank : av->t.ndim;
        lo = nn__ox_axis(s0, n); hi = nn__ox_axis(s1, n);
        if (lo < 0) lo = 0;
        if (hi > n) hi = n;
        if (hi < lo) hi = lo;
        dims[0] = hi - lo;
        if ((r = nn__ox_const_new(x, &t, 1, dims, 1)) != NN_OK) return r;
        for (k = lo; k < hi; k++) {
            t.i[k - lo] = av->kind == NN__OXV_ACT ? (k == av->bpos ? NN__OX_BATCH : av->dims[k]) : av->t.dims[k];
            t.f[k - lo] = (float)t.i[k - lo];
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("ConstantOfShape")) {
        const nn__ox_tensor *s = a;
        float val = 0.0f;
        nn__pbf v;
        int batch = 0;
        if (!s || !s->i || s->ndim != 1 || s->count > NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "ConstantOfShape of a shape that is not constant");
        if (nn__ox_attr(nd, "value", &v, 5) && v.wire == 2) {
            nn__ox_tensor c;
            if ((r = nn__ox_tensor_read(x, v.data, v.len, &c)) != NN_OK) return r;
            if (c.count != 1) { nn__ox_tensor_free(&c); return nn__ox_bad(x, NN_ERR_FORMAT, "ConstantOfShape's value is not one element"); }
            val = c.f[0];
            nn__ox_tensor_free(&c);
        }
        for (k = 0; k < s->count; k++) {
            if (s->i[k] == NN__OX_BATCH) { batch = 1; dims[k] = 1; }
            else if (s->i[k] < 0 || s->i[k] > ((int64_t)1 << 20)) return nn__ox_bad(x, NN_ERR_FORMAT, "ConstantOfShape of a negative or huge shape");
            else dims[k] = s->i[k];
        }
        if ((r = nn__ox_const_new(x, &t, (int)s->count, dims, 0)) != NN_OK) return r;
        for (k = 0; k < t.count; k++) t.f[k] = val;
        t.zero = batch && val == 0.0f; /* (only an RNN's zero state reads one with the batch in it) */
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Expand")) {
        const nn__ox_tensor *s = nn__ox_const(x, nd, 1);
        int64_t i;
        int zero = 1;
        if (!a || !s || !s->i || s->ndim != 1 || s->count > NN__OX_MAX_RANK)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Expand of other than a constant to a constant shape");
        for (i = 0; i < a->count; i++) zero &= a->f[i] == 0.0f;
        if (!zero) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Expand of a nonzero constant (nn.h evaluates only zero states)");
        for (k = 0; k < s->count; k++) dims[k] = 1;
        if ((r = nn__ox_const_new(x, &t, (int)s->count, dims, 0)) != NN_OK) return r;
        t.zero = 1;
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (!a) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an operation on constants of a value that is not one");
    if (NN__OX_IS("Cast")) {
        const int64_t to = nn__ox_int(nd, "to", 1);
        int ints = to != 1 && to != 11 && to != 10;
        if ((r = nn__ox_const_new(x, &t, a->ndim, a->dims, ints)) != NN_OK) return r;
        for (k = 0; k < a->count; k++) {
            t.f[k] = a->f[k];
            if (ints) t.i[k] = a->i ? a->i[k] : (int64_t)a->f[k];
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Identity")) {
        if ((r = nn__ox_const_new(x, &t, a->ndim, a->dims, a->i != NULL)) != NN_OK) return r;
        memcpy(t.f, a->f, sizeof(float) * (size_t)a->count);
        if (a->i) memcpy(t.i, a->i, sizeof(int64_t) * (size_t)a->count);
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Range")) { /* start, limit, delta (torch's arange of positions) */
        const nn__ox_tensor *b = nn__ox_const(x, nd, 1), *c = nn__ox_const(x, nd, 2);
        double n;
        if (!b || !c || a->count != 1 || b->count != 1 || c->count != 1 || c->f[0] == 0.0f)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Range of other than three constant scalars");
        n = ceil(((double)b->f[0] - a->f[0]) / c->f[0]);
        if (!(n <= (double)((int64_t)1 << 20)) || (a->i && (a->i[0] > ((int64_t)1 << 40) || a->i[0] < -((int64_t)1 << 40))) ||
            (c->i && (c->i[0] > ((int64_t)1 << 20) || c->i[0] < -((int64_t)1 << 20))))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a Range of over 2^20 elements");
        dims[0] = n > 0 ? (int64_t)n : 0;
        if ((r = nn__ox_const_new(x, &t, 1, dims, a->i != NULL)) != NN_OK) return r;
        for (k = 0; k < t.count; k++) {
            t.f[k] = (float)(a->f[0] + (double)k * c->f[0]);
            if (t.i) t.i[k] = a->i[0] + (int64_t)k * (c->i ? c->i[0] : (int64_t)c->f[0]);
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Add") || NN__OX_IS("Sub") || NN__OX_IS("Mul") || NN__OX_IS("Div") || NN__OX_IS("Equal")) {
        /* elementwise on constants, one side a scalar or both the same shape; integers stay exact
           (the batch element stays the batch) */
        const nn__ox_tensor *b = nn__ox_const(x, nd, 1), *big;
        const int op = NN__OX_IS("Add") ? 0 : NN__OX_IS("Sub") ? 1 : NN__OX_IS("Mul") ? 2 : NN__OX_IS("Div") ? 3 : 4;
        if (!b || !(a->count == b->count || a->count == 1 || b->count == 1))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "arithmetic on constants of two shapes");
        big = a->count >= b->count ? a : b;
        if ((r = nn__ox_const_new(x, &t, big->ndim, big->dims, (a->i && b->i) || op == 4)) != NN_OK) return r;
        for (k = 0; k < t.count; k++) {
            const int64_t ka = a->count == 1 ? 0 : k, kb = b->count == 1 ? 0 : k;
            const double fa = a->f[ka], fb = b->f[kb];
            if (op == 4) { t.i[k] = a->i && b->i ? a->i[ka] == b->i[kb] : fa == fb; t.f[k] = (float)t.i[k]; continue; }
            if (t.i) {
                const int64_t ia = a->i[ka], ib = b->i[kb], big2 = (int64_t)1 << 31;
                if (ia == NN__OX_BATCH || ib == NN__OX_BATCH) { t.i[k] = NN__OX_BATCH; t.f[k] = 0.0f; continue; }
                if (ia >= big2 || ia <= -big2 || ib >= big2 || ib <= -big2) {
                    nn__ox_tensor_free(&t);
                    return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "integer arithmetic on constants over 2^31");
                }
                if (op == 3 && ib == 0) { nn__ox_tensor_free(&t); return nn__ox_bad(x, NN_ERR_FORMAT, "an integer division by zero"); }
                t.i[k] = op == 0 ? ia + ib : op == 1 ? ia - ib : op == 2 ? ia * ib : ia / ib;
                t.f[k] = (float)t.i[k];
            } else t.f[k] = (float)(op == 0 ? fa + fb : op == 1 ? fa - fb : op == 2 ? fa * fb : fa / fb);
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Slice")) { /* starts, ends, axes, steps (1) as constant inputs (opset 10 on) */
        const nn__ox_tensor *st = nn__ox_const(x, nd, 1), *en = nn__ox_const(x, nd, 2), *ax = nn__ox_const(x, nd, 3),
                            *sp = nn__ox_const(x, nd, 4);
        int64_t lo[NN__OX_MAX_RANK], hi[NN__OX_MAX_RANK], idx[NN__OX_MAX_RANK], e;
        int d;
        if (!st || !en || !st->i || !en->i || st->count != en->count || st->count > a->ndim || (ax && (!ax->i || ax->count != st->count)))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Slice of a constant without constant starts and ends");
        for (d = 0; d < a->ndim; d++) { lo[d] = 0; hi[d] = a->dims[d]; }
        for (k = 0; k < st->count; k++) {
            const int axis = nn__ox_axis(ax ? ax->i[k] : k, a->ndim);
            int64_t b0 = st->i[k], b1 = en->i[k];
            if (axis < 0 || axis >= a->ndim || (sp && (!sp->i || sp->count != st->count || sp->i[k] != 1)))
                return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Slice with an axis out of range or a step other than 1");
            if (b0 < 0) b0 += a->dims[axis];
            if (b1 < 0) b1 += a->dims[axis];
            lo[axis] = b0 < 0 ? 0 : b0 > a->dims[axis] ? a->dims[axis] : b0;
            hi[axis] = b1 < lo[axis] ? lo[axis] : b1 > a->dims[axis] ? a->dims[axis] : b1;
        }
        for (d = 0; d < a->ndim; d++) dims[d] = hi[d] - lo[d];
        if ((r = nn__ox_const_new(x, &t, a->ndim, dims, a->i != NULL)) != NN_OK) return r;
        for (e = 0; e < t.count; e++) { /* each element's index in a */
            int64_t rem = e, src = 0;
            for (d = a->ndim - 1; d >= 0; d--) { idx[d] = rem % dims[d] + lo[d]; rem /= dims[d]; }
            for (d = 0; d < a->ndim; d++) src = src * a->dims[d] + idx[d];
            t.f[e] = a->f[src];
            if (t.i) t.i[e] = a->i[src];
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Unsqueeze") || NN__OX_IS("Squeeze")) {
        const int sq = NN__OX_IS("Squeeze");
        int rank, j = 0, m = 0;
        n = nn__ox_axes(x, nd, 1, axes);
        if (n < 0 && !sq) return nn__ox_bad(x, NN_ERR_FORMAT, "Unsqueeze without axes");
        rank = sq ? a->ndim : a->ndim + n;
        for (k = 0; k < rank; k++) {
            int hit = 0, i;
            for (i = 0; i < n; i++) hit |= nn__ox_axis(axes[i], rank) == k;
            if (sq) { if (!(hit || (n < 0 && a->dims[k] == 1))) dims[m++] = a->dims[k]; else if (a->dims[k] != 1) return nn__ox_bad(x, NN_ERR_FORMAT, "Squeeze of an axis that is not 1"); }
            else { if (m >= NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a constant of over 8 dimensions"); dims[m++] = hit ? 1 : a->dims[j++]; }
        }
        if ((r = nn__ox_const_new(x, &t, m, dims, a->i != NULL)) != NN_OK) return r;
        memcpy(t.f, a->f, sizeof(float) * (size_t)a->count);
        if (a->i) memcpy(t.i, a->i, sizeof(int64_t) * (size_t)a->count);
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Gather")) { /* elements of a vector, or rows of a matrix (positions' embeddings) */
        const nn__ox_tensor *ix = nn__ox_const(x, nd, 1);
        const int64_t row = a->ndim == 2 ? a->dims[1] : 1, rows = a->ndim == 2 ? a->dims[0] : a->count;
        int64_t j;
        if (!ix || !ix->i || (a->ndim != 1 && a->ndim != 2) || nn__ox_int(nd, "axis", 0) != 0 || ix->ndim > 1)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gather on constants other than elements of a vector or rows of a matrix");
        dims[0] = ix->count; dims[1] = row;
        if ((r = nn__ox_const_new(x, &t, ix->ndim + (a->ndim == 2), ix->ndim ? dims : dims + 1, a->i != NULL)) != NN_OK) return r;
        for (k = 0; k < ix->count; k++) {
            int64_t i = ix->i[k] < 0 ? ix->i[k] + rows : ix->i[k];
            if (i < 0 || i >= rows) { nn__ox_tensor_free(&t); return nn__ox_bad(x, NN_ERR_FORMAT, "Gather index out of range"); }
            for (j = 0; j < row; j++) {
                t.f[k * row + j] = a->f[i * row + j];
                if (a->i) t.i[k * row + j] = a->i[i * row + j];
            }
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    if (NN__OX_IS("Concat")) {
        int64_t total = 0;
        for (k = 0; k < nd->n_in; k++) {
            const nn__ox_tensor *c = nn__ox_const(x, nd, k);
            if (!c || c->ndim != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Concat of constants other than vectors");
            total += c->count;
        }
        dims[0] = total;
        if ((r = nn__ox_const_new(x, &t, 1, dims, a->i != NULL)) != NN_OK) return r;
        total = 0;
        for (k = 0; k < nd->n_in; k++) {
            const nn__ox_tensor *c = nn__ox_const(x, nd, k);
            memcpy(t.f + total, c->f, sizeof(float) * (size_t)c->count);
            if (t.i) { int64_t i; for (i = 0; i < c->count; i++) t.i[total + i] = c->i ? c->i[i] : (int64_t)c->f[i]; }
            total += c->count;
        }
        nn__ox_put_const(x, nd, &t);
        return NN_OK;
    }
    return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "this operator on constants");
}

/* one node: its outputs' values become layers, views, constants or pattern steps */
NN__PRIVATE int nn__ox_node_run(nn__ox *x, const nn__ox_node *nd) {
    nn_model *m = x->m;
    const int i0 = nn__ox_in_idx(x, nd, 0), i1 = nn__ox_in_idx(x, nd, 1);
    nn__ox_val *o;
    int k, a, l;
    int all_const = nd->n_in > 0 || NN__OX_IS("Constant");
    for (k = 0; k < nd->n_in; k++) if (nd->in[k].n && x->vals[nn__ox_find(x, nd->in[k])].kind != NN__OXV_CONST) all_const = 0;
    if (all_const || NN__OX_IS("Shape") || NN__OX_IS("Expand") || NN__OX_IS("ConstantOfShape")) return nn__ox_const_op(x, nd);
    if (nd->n_out < 1 || !nd->out[0].n) return nn__ox_bad(x, NN_ERR_FORMAT, "a node without an output");
    o = &x->vals[nn__ox_find(x, nd->out[0])];
    for (k = 1; k < nd->n_out; k++)
        if (nd->out[k].n && x->vals[nn__ox_find(x, nd->out[k])].uses > 0 && !NN__OX_IS("LSTM") && !NN__OX_IS("GRU") && !NN__OX_IS("Split"))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a second output that is read (a mask, indices or batch statistics)");
    if (i0 < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "a node without its first input");

    if ((k = nn__ox_act_kind(nd)) != 0) {
        float alpha = k == NN_ACT_LEAKY_RELU ? nn__ox_float(nd, "alpha", 0.01f) : 0.0f;
        if (k == NN_ACT_GELU && nn__ox_has(nd, "approximate") && !nn__ox_str_attr(nd, "approximate", "none"))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "the tanh approximation of GELU (nn.h's is the exact one)");
        if ((a = nn__ox_layer(x, i0, 0, 1)) < 0) return a;
        if ((l = nn_activation(m, a, (nn_act)k, alpha)) < 0) return l;
        nn__ox_set_like(x, nd, l, i0);
        return NN_OK;
    }
    if (NN__OX_IS("Identity") || NN__OX_IS("Dropout") || NN__OX_IS("Cast")) {
        const nn__ox_val src = x->vals[i0];
        if (NN__OX_IS("Cast") && nn__ox_int(nd, "to", 1) != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Cast of an activation to other than float");
        if (src.kind != NN__OXV_ACT && src.kind < NN__OXV_QKV) return nn__ox_layer(x, i0, 0, 1) < 0 ? m->status : NN_OK;
        if (src.kind == NN__OXV_ATTP && (a = nn__ox_layer(x, i0, 0, 1)) < 0) return a;
        nn__ox_copy(x, nn__ox_find(x, nd->out[0]), i0, 0);
        return NN_OK;
    }
    if (NN__OX_IS("Gemm")) {
        const nn__ox_tensor *B = nn__ox_const(x, nd, 1), *C = nn__ox_const(x, nd, 2);
        const int tb = (int)nn__ox_int(nd, "transB", 0);
        const float alpha = nn__ox_float(nd, "alpha", 1.0f), beta = nn__ox_float(nd, "beta", 1.0f);
        int64_t U, K, r, c;
        float *w;
        if (nn__ox_int(nd, "transA", 0)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gemm with transA");
        if (!B || B->ndim != 2) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gemm whose B is not a constant matrix");
        if (nn__ox_in_idx(x, nd, 2) >= 0 && !C) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gemm whose C is not a constant");
        U = tb ? B->dims[0] : B->dims[1]; K = tb ? B->dims[1] : B->dims[0];
        if ((a = nn__ox_layer(x, i0, 1, 0)) < 0) return a;
        if (m->layers[a].size != K) return nn__ox_bad(x, NN_ERR_SHAPE, "Gemm's B does not match its input's width");
        if (C && C->count != U && C->count != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gemm's C is neither (units) nor a scalar");
        if ((l = nn_dense_ex(m, a, U, C != NULL, NN_INIT_TORCH)) < 0) return l;
        if (!(w = (float *)malloc(sizeof(float) * (size_t)(U * K)))) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
        for (r = 0; r < U; r++) for (c = 0; c < K; c++) w[r * K + c] = alpha * (tb ? B->f[r * K + c] : B->f[c * U + r]);
        if (nn__ox_param_add(x, l, "weight", w, U * K) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        if (C) {
            float *b = (float *)malloc(sizeof(float) * (size_t)U);
            if (!b) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
            for (r = 0; r < U; r++) b[r] = beta * C->f[C->count == 1 ? 0 : r];
            if (nn__ox_param_add(x, l, "bias", b, U) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        }
        nn__ox_set_layer(x, &x->vals[nn__ox_find(x, nd->out[0])], l);
        return NN_OK;
    }
    if (NN__OX_IS("MatMul")) {
        const nn__ox_tensor *B = nn__ox_const(x, nd, 1);
        nn__ox_val *v = &x->vals[i0];
        int64_t U, K, r, c;
        if (i1 >= 0 && x->vals[i1].kind == NN__OXV_QKV && x->vals[i1].src == v->src) {
            const nn__ox_val *b = &x->vals[i1];
            o = &x->vals[nn__ox_find(x, nd->out[0])];
            if (v->kind == NN__OXV_QKV && v->part == 0 && v->state == 2 && b->part == 1 && b->state == 3) { /* q k^T */
                o->kind = NN__OXV_SCORES; o->src = v->src; o->heads = v->heads; o->scale = 1.0;
                return NN_OK;
            }
            if (v->kind == NN__OXV_PROBS && b->part == 2 && b->state == 2) { /* softmax(...) v */
                o->kind = NN__OXV_ATTY; o->src = v->src; o->heads = v->heads; o->causal = v->causal; o->state = 2;
                return NN_OK;
            }
        }
        if (v->kind == NN__OXV_ATT) { /* the output projection */
            const nn__ox_val *q = &x->vals[v->src];
            const int64_t C = q->t.dims[0] / 3;
            if (!B || B->ndim != 2 || B->dims[0] != C || B->dims[1] != C) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "self-attention whose output projection is not a constant (C, C)");
            o = &x->vals[nn__ox_find(x, nd->out[0])];
            o->kind = NN__OXV_ATTP; o->src = v->src; o->heads = v->heads; o->causal = v->causal;
            o->rank = q->rank; o->bpos = q->bpos;
            memcpy(o->dims, q->dims, sizeof o->dims);
            o->dims[o->rank - 1] = C;
            if (nn__ox_const_new(x, &o->t, 2, B->dims, 0) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
            for (r = 0; r < C; r++) for (c = 0; c < C; c++) o->t.f[r * C + c] = B->f[c * C + r];
            return NN_OK;
        }
        if (!B || B->ndim != 2) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "MatMul by other than a constant matrix, outside self-attention's pattern");
        if (v->kind == NN__OXV_DENSE && (a = nn__ox_layer(x, i0, 0, 1)) < 0) return a;
        v = &x->vals[i0];
        if (v->kind != NN__OXV_ACT) return nn__ox_layer(x, i0, 0, 1);
        K = B->dims[0]; U = B->dims[1];
        if (v->dims[v->rank - 1] != K || v->rank - 1 == v->bpos) return nn__ox_bad(x, NN_ERR_SHAPE, "MatMul's B does not match its input's last axis");
        o = &x->vals[nn__ox_find(x, nd->out[0])];
        o->kind = NN__OXV_DENSE; o->src = i0; o->rank = v->rank; o->bpos = v->bpos;
        memcpy(o->dims, v->dims, sizeof o->dims);
        o->dims[o->rank - 1] = U;
        if (nn__ox_const_new(x, &o->t, 2, B->dims, 0) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        o->t.dims[0] = U; o->t.dims[1] = K;
        for (r = 0; r < U; r++) for (c = 0; c < K; c++) o->t.f[r * K + c] = B->f[c * U + r];
        return NN_OK;
    }
    {   /* LayerNorm before opset 17: mean, x - mean, its square's mean, + eps, sqrt, divide, * w, + b */
        const nn__ox_val *v = &x->vals[i0], *b = i1 >= 0 ? &x->vals[i1] : NULL;
        const nn__ox_tensor *c = b && b->kind == NN__OXV_CONST && !b->t.zero ? &b->t : NULL;
        int next = 0, src = -1;
        if (NN__OX_IS("ReduceMean") && (v->kind == NN__OXV_ACT || (v->kind == NN__OXV_LN && v->state == 3))) {
            int64_t axes[NN__OX_MAX_RANK];
            const int na = nn__ox_axes(x, nd, 1, axes);
            if (na != 1 || nn__ox_axis(axes[0], v->rank) != v->rank - 1 || !nn__ox_int(nd, "keepdims", 1))
                return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "ReduceMean other than over the last axis (a LayerNorm's)");
            next = v->kind == NN__OXV_ACT ? 1 : 4; src = v->kind == NN__OXV_ACT ? i0 : v->src;
        } else if (NN__OX_IS("Sub") && b && b->kind == NN__OXV_LN && b->state == 1 && b->src == i0) { next = 2; src = i0; }
        else if (NN__OX_IS("Pow") && v->kind == NN__OXV_LN && v->state == 2 && nn__ox_is_scalar(c, 2.0, 0)) { next = 3; src = v->src; }
        else if (NN__OX_IS("Add") && v->kind == NN__OXV_LN && v->state == 4 && c && c->count == 1 && c->f[0] > 0) { next = 5; src = v->src; }
        else if (NN__OX_IS("Sqrt") && v->kind == NN__OXV_LN && v->state == 5) { next = 6; src = v->src; }
        else if (NN__OX_IS("Div") && v->kind == NN__OXV_LN && v->state == 2 && b && b->kind == NN__OXV_LN && b->state == 6 && b->src == v->src) {
            next = 7; src = v->src;
        } else if (NN__OX_IS("Mul") && v->kind == NN__OXV_LN && v->state == 7 && c && (c->count == 1 || c->count == v->dims[v->rank - 1]) && v->uses == 1) {
            next = 8; src = v->src;
        } else if (NN__OX_IS("Add") && v->kind == NN__OXV_LN && v->state >= 7 && c && c->count == v->dims[v->rank - 1] && v->uses == 1) {
            if ((l = nn__ox_make_layernorm(x, i0, c->f)) < 0) return l;
            nn__ox_copy(x, nn__ox_find(x, nd->out[0]), i0, 0);
            return NN_OK;
        }
        if (next) {
            const double eps = next == 5 ? c->f[0] : v->kind == NN__OXV_LN ? v->scale : (b && b->kind == NN__OXV_LN ? b->scale : 0);
            o = &x->vals[nn__ox_find(x, nd->out[0])];
            o->kind = NN__OXV_LN; o->state = next; o->src = src; o->scale = next == 7 ? b->scale : eps;
            o->rank = x->vals[src].rank; o->bpos = x->vals[src].bpos;
            memcpy(o->dims, x->vals[src].dims, sizeof o->dims);
            if (next == 8 && nn__ox_const_new(x, &o->t, c->ndim, c->dims, 0) == NN_OK) memcpy(o->t.f, c->f, sizeof(float) * (size_t)c->count);
            else if (next == 8) return NN_ERR_OUT_OF_MEMORY;
            return NN_OK;
        }
    }
    if (NN__OX_IS("Add") || NN__OX_IS("Mul") || NN__OX_IS("Div")) {
        const int add = NN__OX_IS("Add"), mul = NN__OX_IS("Mul");
        int va = i0, vb = i1;
        const nn__ox_tensor *c;
        if (vb < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "a binary operator with one input");
        if (x->vals[va].kind == NN__OXV_CONST && !NN__OX_IS("Div")) { va = i1; vb = i0; }
        c = x->vals[vb].kind == NN__OXV_CONST ? &x->vals[vb].t : NULL;
        o = &x->vals[nn__ox_find(x, nd->out[0])];
        if (c && !c->zero) {
            nn__ox_val *v = &x->vals[va];
            if (add && (v->kind == NN__OXV_DENSE || v->kind == NN__OXV_ATTP) && v->uses == 1 && !v->bias &&
                (c->count == v->t.dims[0] || c->count == 1)) { /* a bias: still pending (attention may follow) */
                float *b = (float *)malloc(sizeof(float) * (size_t)v->t.dims[0]);
                int64_t u;
                if (!b) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
                for (u = 0; u < v->t.dims[0]; u++) b[u] = c->f[c->count == 1 ? 0 : u];
                nn__ox_copy(x, nn__ox_find(x, nd->out[0]), va, 1);
                x->vals[nn__ox_find(x, nd->out[0])].bias = b;
                return NN_OK;
            }
            if (v->kind == NN__OXV_DENSE || v->kind == NN__OXV_ATTP) { /* (no bias to take: a layer now) */
                if ((a = nn__ox_layer(x, va, 0, 1)) < 0) return a;
                v = &x->vals[va];
                c = &x->vals[vb].t;
            }
            if (add && v->kind == NN__OXV_ACT && v->rank == 3 && v->bpos == 0 && c->count == v->dims[1] * v->dims[2] &&
                (c->ndim == 2 || (c->ndim == 3 && c->dims[0] == 1))) { /* a learned vector per step (GPT's wpe) */
                if ((a = nn__ox_layer(x, va, 2, 0)) < 0) return a;
                if ((l = nn_pos_embedding(m, a, 0.02f)) < 0) return l;
                if (nn__ox_param_copy(x, l, "weight", c->f, c->count, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
                nn__ox_set_like(x, nd, l, va);
                return NN_OK;
            }
            if ((mul || NN__OX_IS("Div")) && v->kind == NN__OXV_SCORES && c->count == 1 && c->f[0] != 0.0f) {
                nn__ox_copy(x, nn__ox_find(x, nd->out[0]), va, 0);
                o = &x->vals[nn__ox_find(x, nd->out[0])];
                o->scale = mul ? o->scale * c->f[0] : o->scale / c->f[0];
                return NN_OK;
            }
            /* GELU as torch writes it before opset 20: 0.5 * x * (1 + erf(x / sqrt 2)) */
            if (NN__OX_IS("Div") && v->kind == NN__OXV_ACT && nn__ox_is_scalar(c, 1.4142135623730951, 1e-6)) { o->kind = NN__OXV_GELU1; o->src = va; return NN_OK; }
            if (add && v->kind == NN__OXV_GELU2 && nn__ox_is_scalar(c, 1.0, 1e-7)) { o->kind = NN__OXV_GELU3; o->src = v->src; return NN_OK; }
            if (mul && v->kind == NN__OXV_GELU4 && nn__ox_is_scalar(c, 0.5, 1e-7)) {
                if ((l = nn_gelu(m, x->vals[v->src].layer)) < 0) return l;
                nn__ox_set_layer(x, &x->vals[nn__ox_find(x, nd->out[0])], l);
                return NN_OK;
            }
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, add ? "Add of a constant other than a bias after MatMul"
                                                  : mul ? "Mul by a constant outside GELU's pattern" : "Div outside GELU's pattern");
        }
        if (mul && (x->vals[va].kind == NN__OXV_GELU3 || x->vals[vb].kind == NN__OXV_GELU3)) {
            const int g = x->vals[va].kind == NN__OXV_GELU3 ? va : vb, other = g == va ? vb : va;
            if (x->vals[g].src == other) { o->kind = NN__OXV_GELU4; o->src = other; return NN_OK; }
        }
        if (NN__OX_IS("Div")) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Div of activations");
        if ((a = nn__ox_layer(x, va, 0, 1)) < 0) return a;
        if ((l = nn__ox_layer(x, vb, 0, 1)) < 0) return l;
        if (x->vals[va].rank != x->vals[vb].rank || x->vals[va].bpos != x->vals[vb].bpos ||
            memcmp(x->vals[va].dims, x->vals[vb].dims, sizeof(int64_t) * (size_t)x->vals[va].rank) != 0)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Add or Mul of two shapes (broadcasting is not supported)");
        if ((l = add ? nn_add(m, a, l) : nn_mul(m, a, l)) < 0) return l;
        nn__ox_set_like(x, nd, l, va);
        return NN_OK;
    }
    if (NN__OX_IS("Erf")) {
        if (x->vals[i0].kind != NN__OXV_GELU1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Erf outside GELU's pattern");
        o->kind = NN__OXV_GELU2; o->src = x->vals[i0].src;
        return NN_OK;
    }
    if (NN__OX_IS("Softmax") && x->vals[i0].kind == NN__OXV_SCORES) { /* attention's probabilities */
        const nn__ox_val *v = &x->vals[i0];
        const double D = (double)(x->vals[v->src].t.dims[0] / 3 / v->heads);
        const int64_t ax = nn__ox_int(nd, "axis", x->opset >= 13 ? -1 : 1);
        if (ax != -1 && ax != 3) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "attention's softmax over other than the keys");
        if (fabs(v->scale * sqrt(D) - 1.0) > 1e-5) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "attention scores scaled by other than 1/sqrt(head size)");
        nn__ox_copy(x, nn__ox_find(x, nd->out[0]), i0, 0);
        x->vals[nn__ox_find(x, nd->out[0])].kind = NN__OXV_PROBS;
        return NN_OK;
    }
    if (NN__OX_IS("Where")) { /* the causal mask: -inf where a key comes after its query */
        const int i2 = nn__ox_in_idx(x, nd, 2);
        const int keep = i2 >= 0 && x->vals[i1].kind == NN__OXV_SCORES; /* Where(keep, scores, -inf) */
        const nn__ox_tensor *cond = nn__ox_const(x, nd, 0), *fill = nn__ox_const(x, nd, keep ? 2 : 1);
        const int si = keep ? i1 : i2;
        int64_t T, qi, ki;
        int ok = cond && fill && fill->count == 1 && fill->f[0] < -1e30f && si >= 0 && x->vals[si].kind == NN__OXV_SCORES &&
                 cond->ndim >= 2 && cond->dims[cond->ndim - 1] == cond->dims[cond->ndim - 2] && !x->vals[si].causal;
        T = ok ? cond->dims[cond->ndim - 1] : 0;
        if (ok && cond->count != T * T) ok = 0;
        for (qi = 0; ok && qi < T; qi++)
            for (ki = 0; ki < T; ki++) ok &= (cond->f[qi * T + ki] != 0.0f) == (keep ? ki <= qi : ki > qi);
        if (!ok) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Where other than attention's causal mask");
        if (T != x->vals[x->vals[si].src].dims[x->vals[x->vals[si].src].rank - 2])
            return nn__ox_bad(x, NN_ERR_SHAPE, "a causal mask of other than the sequence's steps");
        nn__ox_copy(x, nn__ox_find(x, nd->out[0]), si, 0);
        x->vals[nn__ox_find(x, nd->out[0])].causal = 1;
        return NN_OK;
    }
    if (NN__OX_IS("Split")) { /* q, k, v from the fused projection */
        nn__ox_val *v = &x->vals[i0];
        const nn__ox_tensor *sp = nn__ox_const(x, nd, 1);
        int64_t sizes[NN__OX_MAX_RANK], C;
        int ns = sp && sp->i && sp->count <= NN__OX_MAX_RANK ? (int)sp->count : nn__ox_ints_attr(nd, "split", sizes);
        if (sp && sp->i && sp->count <= NN__OX_MAX_RANK) memcpy(sizes, sp->i, sizeof(int64_t) * (size_t)ns);
        if (v->kind != NN__OXV_DENSE || v->uses != 1 || nd->n_out != 3 || v->t.dims[0] % 3 ||
            nn__ox_axis(nn__ox_int(nd, "axis", 0), v->rank) != v->rank - 1)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Split other than of a fused q, k, v projection into thirds");
        C = v->t.dims[0] / 3;
        if (ns >= 0 && (ns != 3 || sizes[0] != C || sizes[1] != C || sizes[2] != C))
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Split other than of a fused q, k, v projection into thirds");
        for (k = 0; k < 3; k++) {
            nn__ox_val *q = &x->vals[nn__ox_find(x, nd->out[k])];
            q->kind = NN__OXV_QKV; q->src = i0; q->part = k; q->state = 0;
        }
        return NN_OK;
    }
    if (NN__OX_IS("Softmax")) {
        const nn__ox_val *v = &x->vals[i0];
        const int ax = nn__ox_axis(nn__ox_int(nd, "axis", x->opset >= 13 ? -1 : 1), v->rank);
        if ((a = nn__ox_layer(x, i0, 1, 0)) < 0) return a;
        if (ax != x->vals[i0].rank - 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Softmax over other than the last axis");
        if ((l = nn_softmax(m, a)) < 0) return l;
        nn__ox_set_layer(x, &x->vals[nn__ox_find(x, nd->out[0])], l);
        return NN_OK;
    }
    if (NN__OX_IS("Pad")) {
        const nn__ox_tensor *p = nn__ox_const(x, nd, 1), *cv = nn__ox_const(x, nd, 2);
        int64_t pads[2 * NN__OX_MAX_RANK];
        const nn__ox_val *v = &x->vals[i0];
        int n = -1, zero = 1;
        if (nn__ox_has(nd, "mode") && !nn__ox_str_attr(nd, "mode", "constant")) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad other than with a constant");
        if (cv && (cv->count != 1 || cv->f[0] != 0.0f)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad with a value other than 0");
        if (nn__ox_float(nd, "value", 0.0f) != 0.0f) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad with a value other than 0");
        if (p && p->i && p->count <= 2 * NN__OX_MAX_RANK) { n = (int)p->count; memcpy(pads, p->i, sizeof(int64_t) * (size_t)n); }
        else if (!p && nn__ox_ints_attr(nd, "pads", pads) >= 0) n = nn__ox_ints_attr(nd, "pads", pads);
        if (v->kind != NN__OXV_ACT || n != 2 * v->rank) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad whose pads are not constant, or not 2 per axis of an activation");
        for (k = 0; k < n; k++) zero &= pads[k] == 0;
        if (zero) { const nn__ox_str nm = o->name; const int uses = o->uses; *o = *v; o->name = nm; o->uses = uses; return NN_OK; }
        if (v->rank != 4 || v->bpos != 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad of other than an image (N, C, H, W)");
        for (k = 0; k < 2; k++) if (pads[k] || pads[4 + k]) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Pad of the batch or channels");
        if (pads[2] != pads[6] || pads[3] != pads[7] || pads[2] < 0 || pads[3] < 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "asymmetric or negative Pad");
        o->kind = NN__OXV_PAD; o->src = i0; o->pads[0] = pads[2]; o->pads[1] = pads[3];
        return NN_OK;
    }
    if (NN__OX_IS("Conv") || NN__OX_IS("MaxPool") || NN__OX_IS("AveragePool") || NN__OX_IS("GlobalAveragePool")) {
        const int conv = NN__OX_IS("Conv");
        int src = i0;
        const int64_t *extra = NULL;
        const nn_layer *in;
        nn__ox_win w;
        if (x->vals[i0].kind == NN__OXV_PAD) {
            if (NN__OX_IS("MaxPool") || NN__OX_IS("GlobalAveragePool")) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a zero Pad before max or global pooling");
            src = x->vals[i0].src; extra = x->vals[i0].pads;
        }
        if ((a = nn__ox_layer(x, src, 3, 0)) < 0) return a;
        in = &m->layers[a];
        if (NN__OX_IS("GlobalAveragePool")) {
            int64_t s[3];
            if ((l = nn_global_avgpool(m, a)) < 0) return l;
            s[0] = in->shape[0]; s[1] = s[2] = 1;
            nn__ox_set_act(&x->vals[nn__ox_find(x, nd->out[0])], l, s, 3);
            return NN_OK;
        }
        if (conv) {
            const nn__ox_tensor *W = nn__ox_const(x, nd, 1), *B = nn__ox_const(x, nd, 2);
            nn_conv2d_desc d;
            nn_result r;
            if (!W || W->ndim != 4) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Conv whose weights are not a constant (OC, C/G, KH, KW)");
            if (nn__ox_in_idx(x, nd, 2) >= 0 && (!B || B->count != W->dims[0])) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Conv whose bias is not a constant (OC)");
            if ((r = nn__ox_window(x, nd, in->shape + 1, W->dims + 2, extra, &w)) != NN_OK) return r;
            memset(&d, 0, sizeof d);
            d.OC = W->dims[0]; d.KH = w.k[0]; d.KW = w.k[1]; d.SH = w.s[0]; d.SW = w.s[1];
            d.PH = w.p[0]; d.PW = w.p[1]; d.DH = w.d[0]; d.DW = w.d[1]; d.G = nn__ox_int(nd, "group", 1);
            if (d.G < 1 || in->shape[0] % d.G || W->dims[1] * d.G != in->shape[0])
                return nn__ox_bad(x, NN_ERR_SHAPE, "Conv's weights and group do not match its input's channels");
            if ((l = nn_conv2d_ex(m, a, &d, B != NULL, NN_INIT_TORCH)) < 0) return l;
            if (nn__ox_param_copy(x, l, "weight", W->f, W->count, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
            if (B && nn__ox_param_copy(x, l, "bias", B->f, B->count, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        } else {
            nn_layer p = nn__proto();
            nn_result r;
            const int avg = NN__OX_IS("AveragePool");
            if (nn__ox_int(nd, "ceil_mode", 0)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "pooling with ceil_mode");
            if (nn__ox_int(nd, "storage_order", 0)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "MaxPool with storage_order 1");
            if ((r = nn__ox_window(x, nd, in->shape + 1, NULL, extra, &w)) != NN_OK) return r;
            if (w.d[0] != 1 || w.d[1] != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "pooling with dilations");
            if (avg && !nn__ox_int(nd, "count_include_pad", 0) && (w.p[0] || w.p[1]) && !extra)
                return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "AveragePool with pads not counted (count_include_pad 0; nn.h counts them, as torch's default)");
            p.cfg.pool.d.kind = avg ? NN_POOL_AVG : NN_POOL_MAX;
            p.cfg.pool.d.KH = w.k[0]; p.cfg.pool.d.KW = w.k[1]; p.cfg.pool.d.SH = w.s[0]; p.cfg.pool.d.SW = w.s[1];
            p.cfg.pool.d.PH = w.p[0]; p.cfg.pool.d.PW = w.p[1];
            if ((l = nn__add_layer(m, NN_LAYER_POOL2D, 1, a, 0, &p)) < 0) return l;
        }
        nn__ox_set_layer(x, &x->vals[nn__ox_find(x, nd->out[0])], l);
        return NN_OK;
    }
    if (NN__OX_IS("BatchNormalization") || NN__OX_IS("LayerNormalization")) {
        const int bn = NN__OX_IS("BatchNormalization");
        const nn__ox_tensor *sc = nn__ox_const(x, nd, 1), *bi = nn__ox_const(x, nd, 2);
        const nn__ox_tensor *mean = nn__ox_const(x, nd, 3), *var = nn__ox_const(x, nd, 4);
        const float eps = nn__ox_float(nd, "epsilon", 1e-5f);
        int64_t C;
        if ((a = nn__ox_layer(x, i0, 0, !bn)) < 0) return a;
        if (bn) {
            const float mom = nn__ox_float(nd, "momentum", 0.9f);
            if (nn__ox_int(nd, "training_mode", 0)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "BatchNormalization in training mode");
            if (m->layers[a].ndim != 3 && m->layers[a].ndim != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "BatchNormalization of other than (C, H, W) or (C)");
            C = m->layers[a].shape[0];
            if (!sc || !bi || !mean || !var || sc->count != C || bi->count != C || mean->count != C || var->count != C)
                return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "BatchNormalization whose scale, bias, mean and var are not constants of its channels");
            if ((l = nn_batchnorm(m, a, 1.0f - mom, eps)) < 0) return l;
            if (nn__ox_param_copy(x, l, "running_mean", mean->f, C, 1.0f) != NN_OK || nn__ox_param_copy(x, l, "running_var", var->f, C, 1.0f) != NN_OK)
                return NN_ERR_OUT_OF_MEMORY;
        } else {
            const nn__ox_val *v = &x->vals[i0];
            if (nn__ox_axis(nn__ox_int(nd, "axis", -1), v->rank) != v->rank - 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "LayerNormalization over other than the last axis");
            C = nn__last_dim(&m->layers[a]);
            if (!sc || sc->count != C || (nn__ox_in_idx(x, nd, 2) >= 0 && (!bi || bi->count != C)))
                return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "LayerNormalization whose scale and bias are not constants of the last axis");
            if ((l = nn_layernorm(m, a, eps)) < 0) return l;
        }
        if (nn__ox_param_copy(x, l, "weight", sc->f, C, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        if (bi) { if (nn__ox_param_copy(x, l, "bias", bi->f, C, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY; }
        else {
            float *z = (float *)calloc((size_t)C, sizeof(float));
            if (!z || nn__ox_param_add(x, l, "bias", z, C) != NN_OK) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory");
        }
        nn__ox_set_like(x, nd, l, i0);
        return NN_OK;
    }
    if (NN__OX_IS("Gather")) {
        const nn__ox_tensor *E = nn__ox_const(x, nd, 0);
        const nn__ox_val *ids = &x->vals[i1];
        int64_t s[2];
        if (!E || E->ndim != 2 || ids->kind != NN__OXV_ACT || !ids->tokens || nn__ox_int(nd, "axis", 0) != 0)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Gather other than rows of a constant table by the model's integer input (an embedding)");
        if ((a = nn__ox_layer(x, i1, 1, 0)) < 0) return a;
        if ((l = nn_embedding(m, a, E->dims[0], E->dims[1])) < 0) return l;
        if (nn__ox_param_copy(x, l, "weight", E->f, E->count, 1.0f) != NN_OK) return NN_ERR_OUT_OF_MEMORY;
        s[0] = m->layers[a].shape[0]; s[1] = E->dims[1];
        nn__ox_set_act(&x->vals[nn__ox_find(x, nd->out[0])], l, s, 2);
        return NN_OK;
    }
    if (NN__OX_IS("LSTM") || NN__OX_IS("GRU")) return nn__ox_rnn(x, nd, NN__OX_IS("LSTM") ? 4 : 3);
    if (NN__OX_IS("Concat")) {
        const nn__ox_val *v = &x->vals[i0];
        int64_t s0[NN__OX_MAX_RANK], s[NN__OX_MAX_RANK], cat = 0;
        int n0, n;
        if (v->kind != NN__OXV_ACT || nn__ox_axis(nn__ox_int(nd, "axis", 1), v->rank) != v->bpos + 1)
            return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Concat other than along the axis after the batch");
        if ((a = nn__ox_layer(x, i0, 0, 0)) < 0) return a;
        nn__ox_sample_shape(&x->vals[i0], s0, &n0, 0);
        for (k = 1; k < nd->n_in; k++) {
            const int vk = nn__ox_in_idx(x, nd, k);
            if (vk < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "Concat with an empty input");
            if ((l = nn__ox_layer(x, vk, 0, 0)) < 0) return l;
            nn__ox_sample_shape(&x->vals[vk], s, &n, 0);
            if (n != n0 || (n > 1 && memcmp(s + 1, s0 + 1, sizeof(int64_t) * (size_t)(n - 1)) != 0))
                return nn__ox_bad(x, NN_ERR_SHAPE, "Concat of values whose other axes differ");
            cat += s[0];
            if ((a = nn_concat(m, a, l)) < 0) return a;
        }
        s0[0] += cat;
        nn__ox_set_act(&x->vals[nn__ox_find(x, nd->out[0])], a, s0, n0);
        return NN_OK;
    }
    /* views: new ONNX dims for the same data */
    if (NN__OX_IS("Flatten") || NN__OX_IS("Reshape") || NN__OX_IS("Squeeze") || NN__OX_IS("Unsqueeze") || NN__OX_IS("Transpose")) {
        nn__ox_val v = x->vals[i0];
        int64_t dims[NN__OX_MAX_RANK], s[NN__OX_MAX_RANK];
        int n = 0, bpos = -1, ns;
        if (v.kind == NN__OXV_QKV || v.kind == NN__OXV_ATTY) { /* attention's heads split and merged */
            const nn__ox_val *q = &x->vals[v.src];
            const int64_t C = q->t.dims[0] / 3, T = q->dims[q->rank - 2];
            int64_t perm[NN__OX_MAX_RANK];
            const nn__ox_tensor *t = nn__ox_const(x, nd, 1);
            int np = NN__OX_IS("Transpose") ? nn__ox_ints_attr(nd, "perm", perm) : -1, next = -1;
            const int p0213 = np == 4 && perm[0] == 0 && perm[1] == 2 && perm[2] == 1 && perm[3] == 3;
            if (q->rank != 3 || q->bpos != 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "self-attention of other than (N, T, C)");
            if (NN__OX_IS("Reshape") && t && t->i && v.kind == NN__OXV_QKV && v.state == 0 && t->count == 4 &&
                (t->i[1] == T || t->i[1] == 0) && t->i[2] > 0 && t->i[3] > 0 && t->i[2] <= C && t->i[3] <= C && t->i[2] * t->i[3] == C) {
                next = 1; v.heads = (int)t->i[2];
            } else if (NN__OX_IS("Reshape") && t && t->i && v.kind == NN__OXV_ATTY && v.state == 1 && t->count == 3 &&
                       (t->i[1] == T || t->i[1] == 0) && (t->i[2] == C || t->i[2] == -1)) {
                v.kind = NN__OXV_ATT; next = 0;
            } else if (v.kind == NN__OXV_QKV && v.state == 1 && p0213) next = 2;
            else if (v.kind == NN__OXV_QKV && v.state == 1 && np == 4 && perm[0] == 0 && perm[1] == 2 && perm[2] == 3 && perm[3] == 1) next = 3;
            else if (v.kind == NN__OXV_QKV && v.state == 2 && np == 4 && perm[0] == 0 && perm[1] == 1 && perm[2] == 3 && perm[3] == 2) next = 3;
            else if (v.kind == NN__OXV_ATTY && v.state == 2 && p0213) next = 1;
            if (next < 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a reshape or transpose of attention's heads outside its pattern");
            nn__ox_copy(x, nn__ox_find(x, nd->out[0]), i0, 0);
            o = &x->vals[nn__ox_find(x, nd->out[0])];
            o->state = next; o->heads = v.heads; o->kind = v.kind;
            return NN_OK;
        }
        if (v.kind == NN__OXV_DENSE || v.kind == NN__OXV_ATTP) { if ((a = nn__ox_layer(x, i0, 0, 1)) < 0) return a; v = x->vals[i0]; }
        if (v.kind != NN__OXV_ACT) return nn__ox_layer(x, i0, 0, 1);
        if (NN__OX_IS("Flatten")) {
            const int ax = nn__ox_axis(nn__ox_int(nd, "axis", 1), v.rank);
            if (!nn__ox_sample_shape(&v, s, &ns, 0) || ax != v.bpos + 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Flatten other than after the batch axis");
            for (k = 0; k < v.bpos; k++) dims[n++] = 1;
            bpos = n; dims[n++] = NN__OX_BATCH; dims[n++] = nn__ox_prod(s, ns);
        } else if (NN__OX_IS("Reshape")) {
            const nn__ox_tensor *t = nn__ox_const(x, nd, 1);
            int64_t known = 1, total;
            int neg = -1;
            if (!t || !t->i || t->ndim != 1 || t->count < 1 || t->count > NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Reshape to a shape that is not constant");
            if (!nn__ox_sample_shape(&v, s, &ns, 0)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Reshape of a value whose batch is not its outer axis");
            total = nn__ox_prod(s, ns);
            n = (int)t->count;
            for (k = 0; k < n; k++) if (t->i[k] == NN__OX_BATCH) bpos = k;
            if (bpos < 0) bpos = 0; /* (the batch is the first axis; a constant there is the exporter's batch) */
            for (k = 0; k < n; k++) {
                int64_t e = t->i[k];
                if (k == bpos) { dims[k] = NN__OX_BATCH; continue; }
                if (e == 0 && !nn__ox_int(nd, "allowzero", 0)) { if (k >= v.rank) return nn__ox_bad(x, NN_ERR_FORMAT, "Reshape copies an axis its input lacks"); e = v.dims[k]; }
                if (e == -1) { if (neg >= 0) return nn__ox_bad(x, NN_ERR_FORMAT, "Reshape with two -1"); neg = k; dims[k] = 1; continue; }
                if (e < 1) return nn__ox_bad(x, NN_ERR_FORMAT, "Reshape to a zero or negative size");
                if (e > total) return nn__ox_bad(x, NN_ERR_SHAPE, "Reshape changes the element count");
                dims[k] = e;
                if (known > total) return nn__ox_bad(x, NN_ERR_SHAPE, "Reshape changes the element count");
                known *= e;
            }
            if (neg >= 0) { if (total % known) return nn__ox_bad(x, NN_ERR_SHAPE, "Reshape changes the element count"); dims[neg] = total / known; known = total; }
            if (known != total) return nn__ox_bad(x, NN_ERR_SHAPE, "Reshape changes the element count (per sample)");
            for (k = 0; k < bpos; k++) if (dims[k] != 1) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Reshape that does not keep the batch the outer axis");
        } else if (NN__OX_IS("Transpose")) {
            int64_t perm[NN__OX_MAX_RANK];
            int last = -1;
            n = nn__ox_ints_attr(nd, "perm", perm);
            if (n < 0) { n = v.rank; for (k = 0; k < n; k++) perm[k] = n - 1 - k; }
            if (n != v.rank) return nn__ox_bad(x, NN_ERR_FORMAT, "Transpose's perm does not match the rank");
            for (k = 0; k < n; k++) {
                const int p = (int)perm[k];
                if (p < 0 || p >= n) return nn__ox_bad(x, NN_ERR_FORMAT, "Transpose's perm out of range");
                dims[k] = v.dims[p];
                if (p == v.bpos) { bpos = k; continue; }
                if (v.dims[p] == 1) continue;
                if (p < last) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a Transpose that reorders data axes (only the batch and size-1 axes may move)");
                last = p;
            }
            if (bpos < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "Transpose's perm is not a permutation");
        } else { /* Squeeze, Unsqueeze */
            int64_t axes[NN__OX_MAX_RANK];
            const int sq = NN__OX_IS("Squeeze");
            int na = nn__ox_axes(x, nd, 1, axes), rank, j = 0;
            if (na < -1 || (na < 0 && !sq)) return nn__ox_bad(x, NN_ERR_FORMAT, "Squeeze or Unsqueeze without valid axes");
            rank = sq ? v.rank : v.rank + na;
            if (rank > NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a value of over 8 dimensions");
            for (k = 0; k < rank; k++) {
                int hit = 0, i;
                for (i = 0; i < na; i++) hit |= nn__ox_axis(axes[i], rank) == k;
                if (sq) {
                    if (hit && (k == v.bpos || v.dims[k] != 1)) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "Squeeze of the batch or of an axis that is not 1");
                    if (hit || (na < 0 && k != v.bpos && v.dims[k] == 1)) continue;
                    if (k == v.bpos) bpos = n;
                    dims[n++] = v.dims[k];
                } else {
                    if (hit) { dims[n++] = 1; continue; }
                    if (j == v.bpos) bpos = n;
                    dims[n++] = v.dims[j++];
                }
            }
        }
        o = &x->vals[nn__ox_find(x, nd->out[0])];
        o->kind = NN__OXV_ACT; o->layer = v.layer; o->tokens = v.tokens;
        o->rank = n; o->bpos = bpos;
        memcpy(o->dims, dims, sizeof(int64_t) * (size_t)n);
        return NN_OK;
    }
    {
        char msg[120], nm[64];
        msg[0] = 0;
        nn__cat(msg, sizeof msg, "operator ");
        nn__cat(msg, sizeof msg, nn__ox_name(nm, nd->op));
        nn__cat(msg, sizeof msg, " is not supported");
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, msg);
    }
}

/* >>onnx-graph: reading the graph, liveness, the input, the nodes in order, compile, weights ----- */
NN__PRIVATE nn_result nn__ox_read_node(nn__ox *x, const uint8_t *p, size_t n, nn__ox_node *nd) {
    nn__pb r = nn__pb_of(p, n);
    nn__pbf f;
    int k;
    memset(nd, 0, sizeof *nd);
    nd->attrs = p; nd->attrs_len = n;
    while ((k = nn__pb_next(&r, &f)) == 1) {
        if (f.wire != 2) continue;
        if (f.field == 1 || f.field == 2) {
            int *cnt = f.field == 1 ? &nd->n_in : &nd->n_out;
            nn__ox_str *arr = f.field == 1 ? nd->in : nd->out;
            if (*cnt >= NN__OX_MAX_IO) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "a node of more than 16 inputs or outputs");
            arr[*cnt].p = f.data; arr[*cnt].n = f.len; (*cnt)++;
        } else if (f.field == 3) { nd->name.p = f.data; nd->name.n = f.len; }
        else if (f.field == 4) { nd->op.p = f.data; nd->op.n = f.len; }
        else if (f.field == 7) { nd->domain.p = f.data; nd->domain.n = f.len; }
    }
    if (k < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "a node is malformed (truncated, or a wrong wire type)");
    if (nd->domain.n && !nn__pb_str_is(nd->domain.p, nd->domain.n, "ai.onnx"))
        return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an operator of another domain than ONNX's own");
    return NN_OK;
}
NN__PRIVATE void nn__ox_where(nn__ox *x, int i) {
    char nm[64];
    x->where[0] = 0;
    if (i < 0) { nn__cat(x->where, sizeof x->where, "model"); return; }
    nn__cat(x->where, sizeof x->where, "node ");
    nn__cat_int(x->where, sizeof x->where, i);
    nn__cat(x->where, sizeof x->where, " (");
    nn__cat(x->where, sizeof x->where, nn__ox_name(nm, x->nodes[i].op));
    if (x->nodes[i].name.n) {
        nn__cat(x->where, sizeof x->where, " \"");
        nn__cat(x->where, sizeof x->where, nn__ox_name(nm, x->nodes[i].name));
        nn__cat(x->where, sizeof x->where, "\"");
    }
    nn__cat(x->where, sizeof x->where, ")");
}
/* a ValueInfoProto (name 1, type 2: TypeProto tensor_type 1: elem_type 1, shape 2: dim 1:
   dim_value 1 / dim_param 2) */
NN__PRIVATE nn_result nn__ox_value_info(nn__ox *x, const uint8_t *p, size_t n, nn__ox_str *name, int *elem, int *rank,
                                        int64_t *dims) {
    nn__pb r = nn__pb_of(p, n), t, tt, sh, dm;
    nn__pbf f, g, h, e, q;
    *rank = 0; *elem = 0; name->p = NULL; name->n = 0;
    while (nn__pb_next(&r, &f) == 1) {
        if (f.wire != 2) continue;
        if (f.field == 1) { name->p = f.data; name->n = f.len; continue; }
        if (f.field != 2) continue;
        t = nn__pb_of(f.data, f.len);
        while (nn__pb_next(&t, &g) == 1) {
            if (g.field != 1 || g.wire != 2) continue;
            tt = nn__pb_of(g.data, g.len);
            while (nn__pb_next(&tt, &h) == 1) {
                if (h.field == 1 && h.wire == 0) *elem = (int)h.v;
                if (h.field != 2 || h.wire != 2) continue;
                sh = nn__pb_of(h.data, h.len);
                while (nn__pb_next(&sh, &e) == 1) {
                    if (e.field != 1 || e.wire != 2) continue;
                    if (*rank >= NN__OX_MAX_RANK) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "an input of more than 8 dimensions");
                    dims[*rank] = -1; /* (symbolic) */
                    dm = nn__pb_of(e.data, e.len);
                    while (nn__pb_next(&dm, &q) == 1) if (q.field == 1 && q.wire == 0) dims[*rank] = (int64_t)q.v;
                    (*rank)++;
                }
            }
        }
    }
    return NN_OK;
}

NN__PRIVATE nn_result nn__ox_build(nn__ox *x, const uint8_t *data, size_t size, const nn_compile_config *cfg) {
    nn__pb r = nn__pb_of(data, size), g;
    nn__pbf f;
    const uint8_t *graph = NULL;
    size_t graph_len = 0;
    int k, i, j, n_in = 0, n_out = 0, vin = -1, vout = -1, rank = 0, elem = 0;
    nn__ox_str in_name, out_name;
    int64_t dims[NN__OX_MAX_RANK];
    int64_t j64;
    nn_result res;
    nn__ox_where(x, -1);
    x->opset = 0;
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) return nn__ox_bad(x, NN_ERR_FORMAT, "gzip-compressed data (decompress it first)");
    while ((k = nn__pb_next(&r, &f)) == 1) {
        if (f.field == 7 && f.wire == 2) {
            if (graph) return nn__ox_bad(x, NN_ERR_FORMAT, "two graphs");
            graph = f.data; graph_len = f.len;
        } else if (f.field == 8 && f.wire == 2) { /* opset_import: domain 1, version 2 */
            nn__pb o = nn__pb_of(f.data, f.len);
            nn__pbf h;
            int def = 1;
            int64_t ver = 0;
            while (nn__pb_next(&o, &h) == 1) {
                if (h.field == 1 && h.wire == 2 && h.len && !nn__pb_str_is(h.data, h.len, "ai.onnx")) def = 0;
                if (h.field == 2 && h.wire == 0) ver = (int64_t)h.v;
            }
            if (def) x->opset = ver > 1000 ? 1000 : (int)ver;
        }
    }
    if (k < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "not an ONNX model (the protobuf is malformed or truncated)");
    if (!graph) return nn__ox_bad(x, NN_ERR_FORMAT, "no graph (not an ONNX model?)");
    if (x->opset < 1) x->opset = 1;
    /* the graph's parts: nodes 1, initializer 5, input 11, output 12, sparse_initializer 15 */
    for (i = 0; i < 3; i++) { /* counts; nodes and initializers; inputs and outputs */
        int nn_ = 0;
        g = nn__pb_of(graph, graph_len);
        while ((k = nn__pb_next(&g, &f)) == 1) {
            if (f.wire != 2) continue;
            if (f.field == 15) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "sparse initializers");
            if (f.field == 1) {
                if (i == 1) {
                    x->node = nn_;
                    nn__ox_where(x, -1);
                    if ((res = nn__ox_read_node(x, f.data, f.len, &x->nodes[nn_])) != NN_OK) return res;
                }
                nn_++;
            } else if (f.field == 5 && i == 1) {
                nn__ox_tensor t;
                nn__pbf h;
                nn__pb tp = nn__pb_of(f.data, f.len);
                nn__ox_str nm;
                int v;
                nm.p = NULL; nm.n = 0;
                while (nn__pb_next(&tp, &h) == 1) if (h.field == 8 && h.wire == 2) { nm.p = h.data; nm.n = h.len; }
                if (!nm.n) return nn__ox_bad(x, NN_ERR_FORMAT, "an initializer without a name");
                if ((res = nn__ox_tensor_read(x, f.data, f.len, &t)) != NN_OK) return res;
                if ((v = nn__ox_new(x, nm, NN__OXV_CONST)) < 0) { nn__ox_tensor_free(&t); return NN_ERR_OUT_OF_MEMORY; }
                x->vals[v].t = t;
            } else if (f.field == 11 && i == 2) {
                nn__ox_str nm;
                int e, rk;
                int64_t d[NN__OX_MAX_RANK];
                if ((res = nn__ox_value_info(x, f.data, f.len, &nm, &e, &rk, d)) != NN_OK) return res;
                if (nn__ox_find(x, nm) >= 0) continue; /* (an initializer listed as an input, as before IR 4) */
                n_in++;
                in_name = nm; elem = e; rank = rk; memcpy(dims, d, sizeof d);
            } else if (f.field == 12 && i == 2) {
                int e, rk;
                int64_t d[NN__OX_MAX_RANK];
                if ((res = nn__ox_value_info(x, f.data, f.len, &out_name, &e, &rk, d)) != NN_OK) return res;
                n_out++;
            }
        }
        if (k < 0) return nn__ox_bad(x, NN_ERR_FORMAT, "the graph is malformed (truncated, or a wrong wire type)");
        if (i == 0) {
            if (nn_ > 100000) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "over 100000 nodes");
            x->nodes = (nn__ox_node *)calloc((size_t)(nn_ ? nn_ : 1), sizeof(nn__ox_node));
            if (!x->nodes) return nn__ox_bad(x, NN_ERR_OUT_OF_MEMORY, "no memory for the nodes");
            x->n_nodes = nn_;
        }
    }
    if (n_in != 1) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: %d inputs besides the initializers (nn.h models have one)", n_in);
    if (n_out != 1) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: %d outputs (nn.h models have one)", n_out);
    if (!in_name.n || !out_name.n) return nn__fail(NN_ERR_FORMAT, "ONNX model: the graph's input or output has no name");
    /* liveness from the output back: nodes that lead nowhere are skipped */
    for (i = x->n_nodes - 1; i >= 0; i--) {
        nn__ox_node *nd = &x->nodes[i];
        int live = 0;
        for (k = 0; k < nd->n_out && !live; k++) {
            if (!nd->out[k].n) continue;
            if (nd->out[k].n == out_name.n && memcmp(nd->out[k].p, out_name.p, out_name.n) == 0) live = 1;
            for (j = i + 1; j < x->n_nodes && !live; j++) {
                int q;
                if (!x->nodes[j].live) continue;
                for (q = 0; q < x->nodes[j].n_in; q++)
                    if (x->nodes[j].in[q].n == nd->out[k].n && memcmp(x->nodes[j].in[q].p, nd->out[k].p, nd->out[k].n) == 0) { live = 1; break; }
            }
        }
        nd->live = live;
    }
    /* the input layer */
    if ((vin = nn__ox_new(x, in_name, NN__OXV_ACT)) < 0) return NN_ERR_OUT_OF_MEMORY;
    {
        nn__ox_val *v = &x->vals[vin];
        const int ints = elem == 6 || elem == 7;
        int l;
        if (elem != 1 && !ints) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: input of element type %d (float, or int32/64 token ids)", elem);
        if (rank < 2 || rank > 4) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: an input of rank %d (the batch, then 1 to 3 dimensions)", rank);
        for (k = 1; k < rank; k++)
            if (dims[k] < 1 || dims[k] > ((int64_t)1 << 31)) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: input dimension %d is not a fixed size", k);
        if (ints && rank != 2) return nn__fail(NN_ERR_UNSUPPORTED, "ONNX model: integer input of other than (N, T) token ids");
        l = ints ? nn_input_seq(x->m, dims[1], 0) : rank == 2 ? nn_input(x->m, dims[1]) : rank == 3 ? nn_input_seq(x->m, dims[1], dims[2])
                                                                : nn_input_image(x->m, dims[1], dims[2], dims[3]);
        if (l < 0) return (nn_result)l;
        v->rank = rank; v->bpos = 0; v->tokens = ints;
        memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
        v->dims[0] = NN__OX_BATCH; v->layer = l;
    }
    /* every node's outputs as values (kind 0 until it runs); their readers counted */
    for (i = 0; i < x->n_nodes; i++) {
        nn__ox_node *nd = &x->nodes[i];
        if (!nd->live) continue;
        nn__ox_where(x, i);
        for (k = 0; k < nd->n_in; k++) {
            if (!nd->in[k].n) continue;
            if ((j = nn__ox_find(x, nd->in[k])) < 0) {
                char nm[64], msg[160];
                msg[0] = 0;
                nn__cat(msg, sizeof msg, "reads \"");
                nn__cat(msg, sizeof msg, nn__ox_name(nm, nd->in[k]));
                nn__cat(msg, sizeof msg, "\", which no earlier node writes (nodes out of order, or a cycle)");
                return nn__ox_bad(x, NN_ERR_FORMAT, msg);
            }
            x->vals[j].uses++;
        }
        for (k = 0; k < nd->n_out; k++) {
            if (!nd->out[k].n) continue;
            if (nn__ox_find(x, nd->out[k]) >= 0) return nn__ox_bad(x, NN_ERR_FORMAT, "writes a value that already exists");
            if (nn__ox_new(x, nd->out[k], 0) < 0) return NN_ERR_OUT_OF_MEMORY;
        }
    }
    if ((vout = nn__ox_find(x, out_name)) < 0) return nn__fail(NN_ERR_FORMAT, "ONNX model: no node writes the output");
    x->vals[vout].uses++;
    /* the nodes in order */
    for (i = 0; i < x->n_nodes; i++) {
        if (!x->nodes[i].live) continue;
        nn__ox_where(x, i);
        if ((res = (nn_result)nn__ox_node_run(x, &x->nodes[i])) < 0) return x->m->status != NN_OK ? x->m->status : res;
        if (x->m->status != NN_OK) return x->m->status;
    }
    nn__ox_where(x, -1);
    if ((k = nn__ox_layer(x, vout, 0, 0)) < 0) return x->m->status != NN_OK ? x->m->status : (nn_result)k;
    if (k != x->m->n_layers - 1 || k == 0) return nn__ox_bad(x, NN_ERR_UNSUPPORTED, "the output is not computed by the last layer (or is the input)");
    if ((res = nn_model_compile(x->m, cfg)) != NN_OK) return res;
    /* the file's weights into the layers, by nn.h's own tensor names and sizes */
    for (i = 0; i < x->n_params; i++) {
        const nn__ox_param *p = &x->params[i];
        nn_layer *l = &x->m->layers[p->layer];
        nn__tdesc td[NN__MAX_TENSORS];
        const int n = nn__ops(l->type)->tensors ? nn__ops(l->type)->tensors(x->m, l, td) : 0;
        for (k = 0; k < n; k++) if (strcmp(td[k].part, p->part) == 0) break;
        if (k == n || nn__ox_prod(td[k].shape, td[k].ndim) != p->count)
            return nn__fail(NN_ERR_SHAPE, "ONNX model: layer %d (%s): tensor %s does not take %l floats", p->layer, nn__layer_name(l->type), p->part, p->count);
        for (j64 = 0; j64 < p->count; j64++) /* (as nn_load: a model file holds finite numbers only) */
            if (!(p->data[j64] - p->data[j64] == 0.0f))
                return nn__fail(NN_ERR_FORMAT, "ONNX model: layer %d (%s): tensor %s element %l is not finite", p->layer,
                                nn__layer_name(l->type), p->part, j64);
        memcpy((td[k].buffer ? l->buf : l->w) + td[k].off, p->data, sizeof(float) * (size_t)p->count);
    }
    return nn_model_sync(x->m, 1);
}

NNDEF nn_onnx_config nn_onnx_defaults(void) {
    nn_onnx_config c;
    memset(&c, 0, sizeof c);
    c.compile = nn_compile_defaults();
    return c;
}

NNDEF nn_result nn_onnx_load_mem(nn_model *m, const void *data, size_t size, const nn_onnx_config *cfg) {
    const nn_onnx_config def = nn_onnx_defaults();
    nn__ox x;
    nn_result r;
    int i;
    if (!m || (!data && size)) return nn__fail(NN_ERR_INVALID_ARG, "nn_onnx_load_mem: model or data is NULL");
    if (!cfg) cfg = &def;
    if ((r = nn_model_init(m, cfg->allocator)) != NN_OK) return r;
    memset(&x, 0, sizeof x);
    x.m = m;
    r = nn__ox_build(&x, (const uint8_t *)data, size, &cfg->compile);
    for (i = 0; i < x.n_vals; i++) { nn__ox_tensor_free(&x.vals[i].t); free(x.vals[i].bias); }
    for (i = 0; i < x.n_params; i++) free(x.params[i].data);
    free(x.vals); free(x.params); free(x.nodes);
    if (r != NN_OK) nn_model_free(m);
    return r;
}

#ifndef NN_NO_STDIO
NNDEF nn_result nn_onnx_load(nn_model *m, const char *path, const nn_onnx_config *cfg) {
    unsigned char *data = NULL;
    size_t size = 0;
    nn_allocator al;
    nn_result r;
    if (!m || !path) return nn__fail(NN_ERR_INVALID_ARG, "nn_onnx_load: model or path is NULL");
    if ((r = nn__allocator_or_default(NULL, &al, "nn_onnx_load")) != NN_OK) return r;
    if ((r = nn__read_file(path, &al, &data, &size, "nn_onnx_load")) != NN_OK) return r;
    r = nn_onnx_load_mem(m, data, size, cfg);
    al.free(data, al.user);
    return r;
}
#endif
#endif /* NN_ONNX_IMPLEMENTED */
#endif /* NN_IMPLEMENTATION */
