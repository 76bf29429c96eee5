/* nn_mpi.h - data-parallel training of nn.h models over MPI (OpenMPI): the same nn_fit on
   every process, each training its part of every batch, the gradients averaged.

   USE
     In one C file, after nn.h's implementation (they share a translation unit):

         #define NN_IMPLEMENTATION
         #include "nn.h"
         #include "nn_mpi.h"

     build with mpicc and start with mpirun (one process per machine or per core):

         mpicc -std=c99 -O2 -fopenmp prog.c -lm -o prog
         mpirun -np 2 ./prog                        # two processes on this machine
         mpirun -H host1,host2 -np 2 ./prog         # one on each of two machines

     Every process builds and compiles the same model, then:

         MPI_Init(&argc, &argv);
         ... nn_model_compile(&m, &cc) ...
         if (nn_mpi_attach(&m, MPI_COMM_WORLD, NULL) != NN_OK) ...   // rank 0's state to all
         nn_fit(&m, &train, &val, &fc);      // on every rank, with the same arguments
         nn_mpi_detach(&m);
         MPI_Finalize();

     DATA. By default every process holds the whole data set (each reads the same file) and
     fc.batch_size is the global batch: each process trains its contiguous part of every
     batch of the shared shuffle (rows [n r / N, n (r+1) / N) of an n-row batch), so a run's
     batches, and a checkpoint's position, do not depend on the number of processes. With
     nn_mpi_config.sharded, each process holds only its own rows and trains batch_size of
     them per step (the global batch is the sum); an epoch lasts as many steps as the largest
     shard needs (smaller shards sit out the last ones).

     WHAT EACH STEP DOES. Forward and backward on the process's rows; gradients are reduced in
     buckets of about nn_mpi_config.bucket_bytes, each started (MPI_Iallreduce) as soon as
     backward has finished its layers, the last layers' first, while backward computes the
     earlier ones (PyTorch DDP's scheme); the optimizer step waits for them all and then runs,
     the same on every process: the gradient is the mean over the global batch (each process's
     mean weighted by its rows). The epoch's loss and accuracy, and the validation figures
     (each process evaluates its part), are sums over the processes; rank 0 alone prints and
     writes checkpoints (fc.checkpoint_path, atomically as always). A callback's stop on any
     process stops all of them after the same batch.

     FAILURES. A process whose data fails nn_fit's checks, whose checkpoint write fails or
     whose device reports an error makes every process's nn_fit return an error (NN_ERR_STATE
     on the others, naming the failure count); none waits forever on the others. A process
     that dies is MPI's to handle: OpenMPI's mpirun ends the whole job.

     DETERMINISM. The same processes, threads and data give the same bits from run to run, and
     every process holds the same weights after every step (the reduction's result is the
     same on all: nn_mpi's tests check both). The weights differ from a single process's in
     the last bits (the batch's sums are grouped differently), as any data-parallel trainer's.

     GPU. With nn_cuda.h attached (both implementations in one translation unit, nvcc) the
     gradients are brought to the host arena bucket by bucket, reduced there and sent back; that
     part of the arena is page-locked (cudaHostRegister) for the copies. Where OpenMPI says it
     is CUDA-aware (MPIX_Query_cuda_support, on every process), the buckets go to MPI as device
     pointers instead, no copies. Built with -DNN_MPI_NCCL (and -lnccl), when every process's
     model is on a GPU and MPI is not CUDA-aware, the buckets are reduced by NCCL in device
     memory, queued on the model's stream after the backward kernels (the loss sums and the
     failure flag still go over MPI).

   LICENSE: MIT, as nn.h. */
#ifndef NN_MPI_H
#define NN_MPI_H
#ifndef NN_H_INCLUDED
#error "include nn.h before nn_mpi.h"
#endif
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1 /* (C++: the C interface only, not OpenMPI's deprecated C++ bindings) */
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>
#if defined(OPEN_MPI) && OPEN_MPI
#include <mpi-ext.h> /* (MPIX_Query_cuda_support: is this OpenMPI CUDA-aware) */
#endif

typedef struct nn_mpi_config {
    int sharded;          /* 0: every process holds the whole data set (default); 1: its own rows */
    int64_t bucket_bytes; /* gradient bucket size (default 1 MB); 0: one all-reduce after backward */
} nn_mpi_config;

NNDEF nn_mpi_config nn_mpi_defaults(void);
/* Collective: every process of comm calls it with a model compiled for training from the same
   architecture. Rank 0's parameters, buffers, optimizer state and training position go to all. */
NNDEF nn_result nn_mpi_attach(nn_model *m, MPI_Comm comm, const nn_mpi_config *cfg);
NNDEF void nn_mpi_detach(nn_model *m);
#endif /* NN_MPI_H */

#ifdef NN_IMPLEMENTATION
#ifndef NN_MPI_IMPLEMENTED
#define NN_MPI_IMPLEMENTED
#if defined(NN_MPI_NCCL) && defined(NN_CUDA_IMPLEMENTATION_DONE)
#include <nccl.h>
#define NN__MPI_NCCL 1
#endif
#if defined(NN_CUDA_IMPLEMENTATION_DONE) && defined(MPIX_CUDA_AWARE_SUPPORT)
#define NN__MPI_CUDA_AWARE 1 /* (whether it is, the library says at run time) */
#endif

typedef struct nn__mpi {
    nn_dist dist;          /* first member: m->dist points at it */
    MPI_Comm comm;
    nn_mpi_config cfg;
    int64_t n;             /* gradient floats (m->n_train) */
    int nb, next;          /* buckets; the next to start (bucket 0 holds the last floats) */
    int64_t *lo;           /* bucket k: floats [lo[k + 1], lo[k]) (lo[0] = n, lo[nb] = 0) */
    MPI_Request *req;
    double scale;          /* each bucket is scaled by this before its reduction */
    double rb[2], rb_out[2]; /* this step's rows and failure, then their sums */
    MPI_Request rreq;
    int pinned;            /* the host arena's gradients were page-locked for a GPU's copies */
    int cuda_aware;        /* a GPU model's buckets go to MPI as device pointers (CUDA-aware MPI) */
#ifdef NN__MPI_NCCL
    ncclComm_t nccl;       /* a GPU model's gradients reduced on the devices (NN_MPI_NCCL) */
#endif
    int use_nccl;
} nn__mpi;

NNDEF nn_mpi_config nn_mpi_defaults(void) {
    nn_mpi_config c;
    memset(&c, 0, sizeof c);
    c.bucket_bytes = (int64_t)1 << 20;
    return c;
}

NN__PRIVATE void nn__mpi_start(nn__mpi *p, nn_model *m, int k) {
    float *g = m->grads + p->lo[k + 1];
    const int64_t n = p->lo[k] - p->lo[k + 1];
    int64_t i;
#ifdef NN__MPI_NCCL
    if (p->use_nccl) { /* scaled and reduced in device memory, in order on the model's stream */
        nn__cuda *c = (nn__cuda *)m->backend->ctx;
        const float s = (float)p->scale;
        float *d = NN__D(c, g);
        if (s != 1.0f) cublasSscal(c->blas, (int)n, &s, d, 1);
        ncclAllReduce(d, d, (size_t)n, ncclFloat, ncclSum, p->nccl, c->stream);
        p->req[k] = MPI_REQUEST_NULL;
        return;
    }
#endif
#ifdef NN__MPI_CUDA_AWARE
    if (p->cuda_aware) { /* scaled on the device; MPI reads device memory once the stream has written it */
        nn__cuda *c = (nn__cuda *)m->backend->ctx;
        const float s = (float)p->scale;
        float *d = NN__D(c, g);
        if (s != 1.0f) cublasSscal(c->blas, (int)n, &s, d, 1);
        cudaStreamSynchronize(c->stream);
        MPI_Iallreduce(MPI_IN_PLACE, d, (int)n, MPI_FLOAT, MPI_SUM, p->comm, &p->req[k]);
        return;
    }
#endif
    nn__pull(m, g, sizeof(float) * (size_t)n); /* (a device backend: to the host arena) */
    if (p->scale != 1.0)
        for (i = 0; i < n; i++) g[i] = (float)(g[i] * p->scale);
    MPI_Iallreduce(MPI_IN_PLACE, g, (int)n, MPI_FLOAT, MPI_SUM, p->comm, &p->req[k]);
}

/* the hooks nn_fit and nn_train_step call (nn.h's nn_dist) */
NN__PRIVATE void nn__mpi_step_begin(void *ctx, nn_model *m, int64_t rows, int64_t global_rows) {
    nn__mpi *p = (nn__mpi *)ctx;
    (void)m;
    p->next = 0;
    /* known global rows: each process's mean weighted by its share now; else by its rows, and
       divided by their sum after the reduction */
    p->scale = global_rows > 0 ? (double)rows / (double)global_rows : (double)rows;
    if (p->dist.size == 1 && global_rows > 0) p->scale = 1.0;
    p->rb[0] = (double)rows;
}
NN__PRIVATE void nn__mpi_grads_ready(void *ctx, nn_model *m, int64_t lo) {
    nn__mpi *p = (nn__mpi *)ctx;
    int flag;
    if (p->cfg.bucket_bytes <= 0) return;
    while (p->next < p->nb && p->lo[p->next + 1] >= lo) nn__mpi_start(p, m, p->next++);
    if (p->next > 0) MPI_Testall(p->next, p->req, &flag, MPI_STATUSES_IGNORE); /* (progress for libnbc) */
}
NN__PRIVATE nn_result nn__mpi_reduce_grads(void *ctx, nn_model *m, int64_t global_rows, int bad) {
    nn__mpi *p = (nn__mpi *)ctx;
    int64_t i;
    p->rb[1] = bad ? 1.0 : 0.0; /* (with the rows: in flight while the last buckets go) */
    MPI_Iallreduce(p->rb, p->rb_out, 2, MPI_DOUBLE, MPI_SUM, p->comm, &p->rreq);
    while (p->next < p->nb) nn__mpi_start(p, m, p->next++);
    MPI_Waitall(p->nb, p->req, MPI_STATUSES_IGNORE);
    MPI_Wait(&p->rreq, MPI_STATUS_IGNORE);
    if (p->rb_out[1] > 0.0)
        return nn__fail(NN_ERR_STATE, "nn_fit: %d of %d processes failed this step", (int)p->rb_out[1], p->dist.size);
#if defined(NN__MPI_NCCL) || defined(NN__MPI_CUDA_AWARE)
    if (p->use_nccl || p->cuda_aware) {
        nn__cuda *c = (nn__cuda *)m->backend->ctx;
        const float inv = p->rb_out[0] > 0.0 ? (float)(1.0 / p->rb_out[0]) : 0.0f;
        if (global_rows <= 0 && p->rb_out[0] > 0.0) cublasSscal(c->blas, (int)p->n, &inv, NN__D(c, m->grads), 1);
        return NN_OK;
    }
#endif
    if (global_rows <= 0 && p->rb_out[0] > 0.0) {
        const double inv = 1.0 / p->rb_out[0];
        for (i = 0; i < p->n; i++) m->grads[i] = (float)(m->grads[i] * inv);
    }
    nn__push(m, m->grads, sizeof(float) * (size_t)p->n);
    return NN_OK;
}
NN__PRIVATE void nn__mpi_reduce(void *ctx, double *v, int n, int max) {
    nn__mpi *p = (nn__mpi *)ctx;
    MPI_Allreduce(MPI_IN_PLACE, v, n, MPI_DOUBLE, max ? MPI_MAX : MPI_SUM, p->comm);
}

NN__PRIVATE void nn__mpi_release(void *ctx, nn_model *m) { /* (nn_mpi_detach, nn_model_free) */
    nn__mpi *p = (nn__mpi *)ctx;
    m->dist = NULL;
#ifdef NN_CUDA_IMPLEMENTATION_DONE
    if (p->pinned) cudaHostUnregister(m->grads);
#endif
#ifdef NN__MPI_NCCL
    if (p->use_nccl) ncclCommDestroy(p->nccl);
#endif
    m->allocator.free(p->lo, m->allocator.user);
    m->allocator.free(p->req, m->allocator.user);
    m->allocator.free(p, m->allocator.user);
}

/* the architecture's fingerprint: every process must have compiled the same model */
NN__PRIVATE double nn__mpi_fingerprint(const nn_model *m) {
    uint64_t h = 1469598103934665603ull;
    int i, d;
    for (i = 0; i < m->n_layers; i++) {
        const nn_layer *l = &m->layers[i];
        h = (h ^ (uint64_t)l->type) * 1099511628211ull;
        h = (h ^ (uint64_t)l->n_params) * 1099511628211ull;
        for (d = 0; d < l->ndim; d++) h = (h ^ (uint64_t)l->shape[d]) * 1099511628211ull;
    }
    h = (h ^ (uint64_t)m->n_train) * 1099511628211ull;
    return (double)(h >> 12); /* (exact in a double) */
}

NNDEF nn_result nn_mpi_attach(nn_model *m, MPI_Comm comm, const nn_mpi_config *cfg) {
    nn__mpi *p;
    int rank, size, k;
    double fp[2];
    uint64_t st[8];
    int64_t bucket, nb;
    int bad = !m || !m->compiled || !m->grads || m->dist;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    /* every process agrees on the model before any of them goes on */
    fp[0] = bad ? -1.0 : nn__mpi_fingerprint(m);
    fp[1] = -fp[0];
    MPI_Allreduce(MPI_IN_PLACE, fp, 2, MPI_DOUBLE, MPI_MAX, comm);
    if (bad) return nn__fail(NN_ERR_STATE, "nn_mpi_attach: the model is not compiled for training, or is attached already");
    if (fp[0] != -fp[1])
        return nn__fail(NN_ERR_STATE, "nn_mpi_attach: the processes compiled different models (or one failed)");
    p = (nn__mpi *)m->allocator.alloc(sizeof *p, m->allocator.user);
    if (!p) return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_mpi_attach: no memory");
    memset(p, 0, sizeof *p);
    p->cfg = cfg ? *cfg : nn_mpi_defaults();
    p->comm = comm;
    p->n = m->n_train;
    bucket = p->cfg.bucket_bytes > 0 ? (p->cfg.bucket_bytes + 3) / 4 : p->n;
    if (bucket < 1) bucket = 1;
    nb = (p->n + bucket - 1) / bucket;
    if (nb < 1) nb = 1;
    p->nb = (int)nb;
    p->lo = (int64_t *)m->allocator.alloc(sizeof(int64_t) * (size_t)(nb + 1), m->allocator.user);
    p->req = (MPI_Request *)m->allocator.alloc(sizeof(MPI_Request) * (size_t)nb, m->allocator.user);
    if (!p->lo || !p->req) {
        if (p->lo) m->allocator.free(p->lo, m->allocator.user);
        m->allocator.free(p, m->allocator.user);
        return nn__fail(NN_ERR_OUT_OF_MEMORY, "nn_mpi_attach: no memory");
    }
    for (k = 0; k <= p->nb; k++) p->lo[k] = p->n - (int64_t)k * bucket > 0 ? p->n - (int64_t)k * bucket : 0;
    p->dist.ctx = p;
    p->dist.rank = rank;
    p->dist.size = size;
    p->dist.sharded = p->cfg.sharded != 0;
    p->dist.step_begin = nn__mpi_step_begin;
    p->dist.grads_ready = nn__mpi_grads_ready;
    p->dist.reduce_grads = nn__mpi_reduce_grads;
    p->dist.reduce = nn__mpi_reduce;
    p->dist.release = nn__mpi_release;
    /* rank 0's state: parameters, buffers, optimizer moments, the position */
    nn__pull(m, m->mem, m->mem_bytes);
    MPI_Bcast(m->params, (int)m->n_params, MPI_FLOAT, 0, comm);
    if (m->n_buffers) MPI_Bcast(m->buffers, (int)m->n_buffers, MPI_FLOAT, 0, comm);
    if (m->opt1) MPI_Bcast(m->opt1, (int)m->n_train, MPI_FLOAT, 0, comm);
    if (m->opt2) MPI_Bcast(m->opt2, (int)m->n_train, MPI_FLOAT, 0, comm);
    st[0] = (uint64_t)m->step; st[1] = (uint64_t)m->epoch; st[2] = (uint64_t)m->epoch_batch;
    st[3] = (uint64_t)m->fit_batch; st[4] = (uint64_t)m->fit_rows; st[5] = m->rng; st[6] = m->epoch_rng; st[7] = 0;
    MPI_Bcast(st, 8, MPI_UINT64_T, 0, comm);
    m->step = (int64_t)st[0]; m->epoch = (int)st[1]; m->epoch_batch = (int64_t)st[2];
    m->fit_batch = (int64_t)st[3]; m->fit_rows = (int64_t)st[4]; m->rng = st[5]; m->epoch_rng = st[6];
    nn__push(m, m->mem, m->mem_bytes);
    m->dist = &p->dist;
#ifdef NN_CUDA_IMPLEMENTATION_DONE
    /* on a GPU (nn_cuda.h in this translation unit): the gradients go device -> host arena ->
       MPI -> back, bucket by bucket; page-locked, those copies are DMA at full speed */
    if (nn_cuda_active(m) && p->n > 0)
        p->pinned = cudaHostRegister(m->grads, sizeof(float) * (size_t)p->n, cudaHostRegisterDefault) == cudaSuccess;
#endif
#ifdef NN__MPI_CUDA_AWARE
    { /* every process on a GPU and the MPI library CUDA-aware: device pointers straight to MPI */
        double all = nn_cuda_active(m) && MPIX_Query_cuda_support() ? 1.0 : 0.0;
        MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_DOUBLE, MPI_MIN, comm);
        p->cuda_aware = all > 0.0;
    }
#endif
#ifdef NN__MPI_NCCL
    if (!p->cuda_aware) { /* every process on a GPU: NCCL, its id from rank 0 (a process on the CPU: every one stays on MPI) */
        ncclUniqueId id;
        double all = nn_cuda_active(m) ? 1.0 : 0.0;
        MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_DOUBLE, MPI_MIN, comm);
        if (all > 0.0) {
            if (rank == 0) ncclGetUniqueId(&id);
            MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, comm);
            p->use_nccl = ncclCommInitRank(&p->nccl, size, id, rank) == ncclSuccess;
            all = p->use_nccl;
            MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_DOUBLE, MPI_MIN, comm);
            if (all == 0.0 && p->use_nccl) { ncclCommDestroy(p->nccl); p->use_nccl = 0; }
        }
    }
#endif
    return NN_OK;
}

NNDEF void nn_mpi_detach(nn_model *m) {
    if (m && m->dist) m->dist->release(m->dist->ctx, m);
}
#endif /* NN_MPI_IMPLEMENTED */
#endif /* NN_IMPLEMENTATION */
