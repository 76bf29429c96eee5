# nn.h: `make` builds the examples and tests, `make test` runs the suite (plus the same suite
# under AddressSanitizer and UndefinedBehaviorSanitizer), `make demo` trains on the digits.
CC      ?= cc
WARN    := -std=c99 -Wall -Wextra -pedantic -Werror
CFLAGS  ?= -O2 -march=native
OMP     ?= -fopenmp
SAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
B       := build

TESTS     := test_gemm test_grad test_conv test_torch test_train test_errors test_file test_interop test_firmware test_quant test_seq test_onnx
CUDA_EMU  := $(B)/test_cuda_emu $(B)/san_test_cuda_emu
EXAMPLES  := xor iris digits fashion_mnist embedded_digits charlm
HEADERS   := nn.h nn_onnx.h tests/test.h tests/gradcheck.h tests/ref/torch_ref.h tests/ref/seq_ref.h tests/interop_models.h

.PHONY: all test fuzz cross demo embedded-model examples tests clean bench bench-torch bench-compare bench-compare-avx2 bench-deps bench-cuda bench-charlm bench-mpi ab
all: examples tests

examples: $(EXAMPLES:%=$(B)/%)
# the kernels again with AVX2+FMA only (the AVX-512, AVX2 and portable micro-kernels differ)
AVX2_FLAGS := -O2 -mavx2 -mfma -mno-avx512f
AVX2_TESTS := test_gemm test_conv test_quant test_seq
# (where the native build has no AVX-512, it is the AVX2 build already: not built twice)
NATIVE_AVX512 := $(shell $(CC) -march=native -dM -E - < /dev/null 2>/dev/null | grep -c __AVX512F__)
AVX2_RUN   := $(if $(filter 0,$(NATIVE_AVX512)),,$(AVX2_TESTS))
# and the SIMD paths of this machine under the sanitizers (VNNI for int8 included); with clang's
# too where installed: GCC's AddressSanitizer checks an unaligned vector access only as far as
# its first 8-byte granules, clang's to its last byte (the kernels read and write up to the ends)
SANNATIVE  := $(AVX2_TESTS)
CLANGSAN   := $(if $(shell command -v clang 2>/dev/null),$(AVX2_TESTS))
tests: $(TESTS:%=$(B)/%) $(TESTS:%=$(B)/san_%) $(AVX2_RUN:%=$(B)/avx2_%) $(B)/nomalloc_test_firmware $(CUDA_EMU) \
       $(SANNATIVE:%=$(B)/sannative_%) $(CLANGSAN:%=$(B)/clangsan_%)

# nn_cuda.h on the CPU: tests/test_cuda.c with tests/cuda_emu.h standing in for the CUDA
# runtime and cuBLAS (tests/cuda.sh builds the same file with nvcc, for a GPU)
$(B)/test_cuda_emu: tests/test_cuda.c tests/cuda_emu.h nn_cuda.h $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $< -o $@ -lm
$(B)/san_test_cuda_emu: tests/test_cuda.c tests/cuda_emu.h nn_cuda.h $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(SAN) $(OMP) $< -o $@ -lm

$(B)/%: examples/%.c nn.h examples/*.h
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $< -o $@ -lm

$(B)/test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $< -o $@ -lm

# sanitizers: portable code path (no -march), OpenMP on
$(B)/san_test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(SAN) $(OMP) $< -o $@ -lm

# the SIMD kernels (AVX-512 or AVX2 here) under the sanitizers too
$(B)/sannative_test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(SAN) $(CFLAGS) $(OMP) $< -o $@ -lm

$(B)/clangsan_test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	clang $(WARN) $(SAN) $(CFLAGS) $< -o $@ -lm

# the inference-only library with no malloc and no stdio (firmware), sanitizers on
$(B)/nomalloc_test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(SAN) -DNN_NO_MALLOC -DNN_NO_STDIO -DNN_NO_TRAINING $< -o $@ -lm

$(B)/avx2_test_%: tests/test_%.c $(HEADERS)
	@mkdir -p $(B)
	$(CC) $(WARN) $(AVX2_FLAGS) $(OMP) $< -o $@ -lm

# the binaries are built in parallel first (one job per core), then run one after another
NPROC := $(shell nproc 2>/dev/null || echo 2)
test:
	@t0=$$(date +%s); $(MAKE) --no-print-directory -j$(NPROC) tests && echo "(building the tests took $$(( $$(date +%s) - t0 )) s)"
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CROSS_TESTS="$(TESTS)" \
	sh tests/run.sh $(TESTS:%=$(B)/%) $(TESTS:%=$(B)/san_%) $(AVX2_RUN:%=$(B)/avx2_%) $(B)/nomalloc_test_firmware \
	  $(SANNATIVE:%=$(B)/sannative_%) $(CLANGSAN:%=$(B)/clangsan_%) $(CUDA_EMU) tests/cuda.sh tests/mpi.sh tests/compile.sh tests/cross.sh tests/fuzz.sh tests/m4.sh

# libFuzzer (clang): the model loader and the three data readers, FUZZ_SECONDS each (default
# 15; make test runs this too; FUZZ_SECONDS=600 make fuzz for a deeper run)
fuzz:
	sh tests/fuzz.sh

# (run in build/: the history files it writes are output, not source)
demo: $(B)/digits
	cd $(B) && ./digits ../data/digits.csv

# tools/nn2c: a model file -> a C header holding it as a const byte array
$(B)/nn2c: tools/nn2c.c nn.h
	@mkdir -p $(B)
	$(CC) $(WARN) -O2 $< -o $@ -lm  # no -march, no OpenMP: it sizes arenas for microcontrollers
# remake examples/digits_model.h (committed) from a fresh run of the demo
embedded-model: $(B)/digits $(B)/nn2c
	cd $(B) && ./digits ../data/digits.csv digits.safetensors digits_int8.safetensors > /dev/null
	./$(B)/nn2c $(B)/digits.safetensors digits_model > examples/digits_model.h
	./$(B)/nn2c $(B)/digits_int8.safetensors digits_int8_model > examples/digits_int8_model.h

# --- firmware: the embedded examples for a Cortex-M4F (apt-get install gcc-arm-none-eabi
# libnewlib-arm-none-eabi), and their sizes; then the MLPerf Tiny models run on an emulated
# Cortex-M4 (qemu-system-arm; tests/m4.sh, also in make test); the numbers go to bench/RESULTS.md ------------
M4FLAGS := -std=c99 -Os -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffunction-sections \
           -fdata-sections $(WARN) -DNN_EXAMPLE_QUIET -Wl,--gc-sections --specs=nano.specs --specs=nosys.specs
cross:
	@mkdir -p $(B)
	printf 'int main(void) { return 0; }\n' > $(B)/m4_base.c
	arm-none-eabi-gcc $(M4FLAGS) $(B)/m4_base.c -o $(B)/m4_base.elf
	arm-none-eabi-gcc $(M4FLAGS) examples/firmware_int8.c -o $(B)/firmware_int8_m4.elf -lm
	arm-none-eabi-gcc $(M4FLAGS) examples/embedded_digits.c -o $(B)/embedded_digits_m4.elf -lm
	@sh tools/m4_size.sh $(B)/m4_base.elf $(B)/firmware_int8_m4.elf digits_int8_model $(B)/embedded_digits_m4.elf digits_model
	@sh tests/m4.sh

# --- benchmarks (not part of the tests): see bench/RESULTS.md ------------------------------
# OpenBLAS and PyTorch run at half speed with these set: the benchmarks unset them.
BENCH_ENV := env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE
BENCH_NETS := mlp-784-128-10 mlp-784-256-128-10 lenet5 cnn-32-64
HAVE_OPENBLAS := $(shell test -f /usr/include/x86_64-linux-gnu/cblas.h && test -f /usr/lib/x86_64-linux-gnu/libopenblas.so && echo 1)
HAVE_DNNL := $(shell test -f /usr/include/dnnl.h && echo 1)
GEMM_REF := $(if $(HAVE_OPENBLAS),-DHAVE_OPENBLAS -I/usr/include/x86_64-linux-gnu) $(if $(HAVE_DNNL),-DHAVE_DNNL)
GEMM_LIBS := $(if $(HAVE_OPENBLAS),-lopenblas) $(if $(HAVE_DNNL),-ldnnl)

$(B)/bench_gemm: bench/gemm.c bench/common.h nn.h
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $(GEMM_REF) $< -o $@ $(GEMM_LIBS) -lm
# the same with AVX2+FMA only, compared with OpenBLAS's and oneDNN's AVX2 kernels (AVX2_REF)
$(B)/bench_gemm_avx2: bench/gemm.c bench/common.h nn.h
	@mkdir -p $(B)
	$(CC) $(WARN) $(AVX2_FLAGS) $(OMP) $(GEMM_REF) $< -o $@ $(GEMM_LIBS) -lm
AVX2_REF := env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=Haswell ONEDNN_MAX_CPU_ISA=AVX2
$(B)/bench_%: bench/%.c bench/common.h bench/fashion.h bench/models.h examples/gunzip.h nn.h
	@mkdir -p $(B)
	$(CC) $(WARN) $(CFLAGS) $(OMP) $< -o $@ -lm

bench: $(B)/bench_gemm $(B)/bench_gemm_avx2 $(B)/bench_train $(B)/bench_infer $(B)/bench_quant
	@echo "# $$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) cores, $$(date -u +%Y-%m-%d)"
	$(BENCH_ENV) ./$(B)/bench_gemm | tee $(B)/bench_gemm.txt
	$(AVX2_REF) ./$(B)/bench_gemm_avx2 squares | tee $(B)/bench_gemm_avx2.txt
	@for n in $(BENCH_NETS); do $(BENCH_ENV) ./$(B)/bench_train $$n; done | tee $(B)/bench_nn.txt
	@for n in mlp-784-128-10 cnn-32-64; do ./$(B)/bench_infer $$n; done | tee -a $(B)/bench_nn.txt
	@for n in mlp-784-128-10 mlp-784-256-128-10 lenet5; do ./$(B)/bench_quant $$n; done | tee -a $(B)/bench_nn.txt

# Two versions of nn.h in one process, a training step of each in turn (bench/ab.c): nn.h at git
# revision REV against the working tree's, both ways round; tree/rev is the geometric mean of the
# two runs' ratios (below 1: the tree is faster). make ab REV=HEAD~3 AB_NET=lenet5 AB_STEPS=2000
REV ?= HEAD
AB_NET ?= cnn-32-64
AB_STEPS ?= 300
AB_CC = $(CC) -std=c99 $(CFLAGS) $(OMP)
ab: bench/ab.c bench/ab_side.c bench/common.h bench/fashion.h bench/models.h examples/gunzip.h nn.h
	@mkdir -p $(B)
	git show $(REV):nn.h > $(B)/ab_rev.h
	$(AB_CC) -DNN_H='"$(CURDIR)/$(B)/ab_rev.h"' -DAB_SIDE=a -c bench/ab_side.c -o $(B)/ab_rev_a.o
	$(AB_CC) -DNN_H='"$(CURDIR)/$(B)/ab_rev.h"' -DAB_SIDE=b -c bench/ab_side.c -o $(B)/ab_rev_b.o
	$(AB_CC) -DNN_H='"$(CURDIR)/nn.h"' -DAB_SIDE=a -c bench/ab_side.c -o $(B)/ab_tree_a.o
	$(AB_CC) -DNN_H='"$(CURDIR)/nn.h"' -DAB_SIDE=b -c bench/ab_side.c -o $(B)/ab_tree_b.o
	$(AB_CC) bench/ab.c $(B)/ab_rev_a.o $(B)/ab_tree_b.o -o $(B)/ab_rev_tree -lm
	$(AB_CC) bench/ab.c $(B)/ab_tree_a.o $(B)/ab_rev_b.o -o $(B)/ab_tree_rev -lm
	@r1=$$(./$(B)/ab_rev_tree $(AB_NET) $(AB_STEPS) | tee /dev/stderr | sed 's/.*b_over_a=//'); \
	r2=$$(./$(B)/ab_tree_rev $(AB_NET) $(AB_STEPS) | tee /dev/stderr | sed 's/.*b_over_a=//'); \
	awk -v a=$$r1 -v b=$$r2 'BEGIN { printf "ab $(AB_NET) tree/rev(%s)=%.3f\n", "$(REV)", sqrt(a / b) }'

# the GPU (nn_cuda.h): Fashion-MNIST MLP and CNN at batch 64 and 512, GEMM against plain
# cuBLAS; then PyTorch on the same GPU where it has CUDA (Debian's python3-torch has not)
NVCC ?= $(shell command -v nvcc || echo /usr/local/cuda/bin/nvcc)
NVCC_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
$(B)/bench_cuda: bench/cuda.c bench/common.h bench/fashion.h bench/models.h nn.h nn_cuda.h
	@mkdir -p $(B)
	$(NVCC) -x cu -std=c++17 -O2 $(NVCC_ARCH) -Xcompiler -march=native,-fopenmp $< -o $@ -lcublas
bench-cuda: $(B)/bench_cuda
	@echo "# $$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1), $$(date -u +%Y-%m-%d)"
	./$(B)/bench_cuda | tee $(B)/bench_cuda.txt
	-/usr/bin/python3 bench/torch_ref.py --cuda | tee $(B)/bench_torch_cuda.txt

# Data-parallel training (nn_mpi.h, OpenMPI): the MLP and LeNet-5 on 1 and 2 processes of one
# thread each, MPI_ROUNDS times in turn, with one blocking reduction (bucket 0) too, then PyTorch
# DDP (gloo) on the same processes; bench/mpi_summary.py prints the medians and the scaling
MPI_ROUNDS ?= 3
MPI_RUN := mpirun --allow-run-as-root -x OMP_NUM_THREADS=1
$(B)/bench_mpi: bench/mpi.c bench/common.h bench/fashion.h bench/models.h examples/gunzip.h nn.h nn_mpi.h
	@mkdir -p $(B)
	mpicc -std=c99 $(CFLAGS) $(OMP) $< -o $@ -lm
bench-mpi: $(B)/bench_mpi
	@echo "# $$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) cores, $$(date -u +%Y-%m-%d), $$(git rev-parse --short HEAD)"
	@for r in $$(seq $(MPI_ROUNDS)); do for n in mlp-784-256-128-10 lenet5; do \
	  for p in 1 2; do $(BENCH_ENV) $(MPI_RUN) -np $$p ./$(B)/bench_mpi $$n 2; done; \
	  $(BENCH_ENV) $(MPI_RUN) -np 2 ./$(B)/bench_mpi $$n 2 0; \
	  for p in 1 2; do $(BENCH_ENV) OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_ddp.py $$n $$p 2; done; \
	done; done | tee $(B)/bench_mpi.txt
	@/usr/bin/python3 bench/mpi_summary.py $(B)/bench_mpi.txt

# PyTorch at its two best settings: 1 thread, and 2 threads with OpenBLAS single-threaded
bench-torch:
	@mkdir -p $(B)
	$(BENCH_ENV) OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_ref.py --threads 1 | tee $(B)/bench_torch1.txt
	$(BENCH_ENV) OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_ref.py --threads 2 | tee $(B)/bench_torch2.txt

# The host's load drifts over minutes: run each network through nn.h and both PyTorch
# settings back to back, so that the three figures of a row are taken under the same load, and
# the short runs (all but the CNN's minutes) COMPARE_ROUNDS times: compare.py prints the medians
# and the median of the rounds' ratios.
COMPARE_ROUNDS ?= 3
ROUNDS_OF_N = r=$(COMPARE_ROUNDS); case $$n in cnn*) r=1;; esac
TORCH_PY1 := OMP_NUM_THREADS=1 /usr/bin/python3 bench/torch_ref.py --threads 1
TORCH_PY2 := OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch_ref.py --threads 2
TORCH1 := $(BENCH_ENV) $(TORCH_PY1)
TORCH2 := $(BENCH_ENV) $(TORCH_PY2)
# $(call TRAIN_ROUNDS,nn.h's bench_train,variables set for PyTorch,suffix of the output files)
define TRAIN_ROUNDS
	@rm -f $(B)/bench_nn$(3).txt $(B)/bench_torch1$(3).txt $(B)/bench_torch2$(3).txt
	@for n in $(BENCH_NETS); do \
	    $(ROUNDS_OF_N); \
	    for i in $$(seq $$r); do \
	        $(BENCH_ENV) ./$(B)/$(1) $$n | tee -a $(B)/bench_nn$(3).txt; \
	        $(BENCH_ENV) $(2) $(TORCH_PY1) --only train $$n | tee -a $(B)/bench_torch1$(3).txt; \
	        $(BENCH_ENV) $(2) $(TORCH_PY2) --only train $$n | tee -a $(B)/bench_torch2$(3).txt; \
	    done; \
	done
endef
# the character-level GPT and LSTM (examples/charlm.c, 2,000 iterations) and PyTorch's same models and loop
define CHARLM_RUNS
	for k in gpt lstm; do \
	    $(BENCH_ENV) ./$(B)/charlm data/kjv.txt $(CHARLM_ITERS) $$k | tee -a $(B)/bench_nn.txt; \
	    ITERS=$(CHARLM_ITERS) $(TORCH1) --only train charlm-$$k | tee -a $(B)/bench_torch1.txt; \
	    ITERS=$(CHARLM_ITERS) $(TORCH2) --only train charlm-$$k | tee -a $(B)/bench_torch2.txt; \
	done; \
	$(BENCH_ENV) ./$(B)/charlm data/kjv.txt $(CHARLM_ITERS) gpt-lean | tee -a $(B)/bench_nn.txt
endef
CHARLM_ITERS ?= 2000
bench-charlm: $(B)/charlm
	@rm -f $(B)/bench_nn.txt $(B)/bench_torch1.txt $(B)/bench_torch2.txt
	$(call CHARLM_RUNS,)
	@/usr/bin/python3 bench/compare.py $(B)/bench_nn.txt $(B)/bench_torch1.txt $(B)/bench_torch2.txt
bench-compare: $(B)/bench_gemm $(B)/bench_gemm_avx2 $(B)/bench_train $(B)/bench_infer $(B)/charlm
	@echo "# $$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) cores, $$(date -u +%Y-%m-%d)"
	$(BENCH_ENV) ./$(B)/bench_gemm | tee $(B)/bench_gemm.txt
	$(AVX2_REF) ./$(B)/bench_gemm_avx2 squares | tee $(B)/bench_gemm_avx2.txt
	$(call TRAIN_ROUNDS,bench_train,,)
	@for n in mlp-784-128-10 cnn-32-64; do \
	    $(ROUNDS_OF_N); \
	    for i in $$(seq $$r); do \
	        ./$(B)/bench_infer $$n | tee -a $(B)/bench_nn.txt; \
	        $(TORCH1) --only infer $$n | tee -a $(B)/bench_torch1.txt; \
	        $(TORCH2) --only infer $$n | tee -a $(B)/bench_torch2.txt; \
	    done; \
	done
	$(call CHARLM_RUNS,)
	@/usr/bin/python3 bench/compare.py $(B)/bench_nn.txt $(B)/bench_torch1.txt $(B)/bench_torch2.txt $(B)/bench_gemm.txt

# the training comparison for a machine without AVX-512: nn.h built with AVX2+FMA only, PyTorch
# held to its AVX2 kernels (ATen's dispatch, its oneDNN, OpenBLAS's Haswell kernels)
$(B)/bench_train_avx2: bench/train.c bench/common.h bench/fashion.h bench/models.h examples/gunzip.h nn.h
	@mkdir -p $(B)
	$(CC) $(WARN) $(AVX2_FLAGS) $(OMP) $< -o $@ -lm
bench-compare-avx2: $(B)/bench_train_avx2
	@echo "# $$(lscpu | sed -n 's/^Model name: *//p'), $$(nproc) cores, $$(date -u +%Y-%m-%d); AVX2+FMA on both sides"
	$(call TRAIN_ROUNDS,bench_train_avx2,ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 OPENBLAS_CORETYPE=Haswell,_avx2)
	@/usr/bin/python3 bench/compare.py $(B)/bench_nn_avx2.txt $(B)/bench_torch1_avx2.txt $(B)/bench_torch2_avx2.txt

bench-deps:
	apt-get install -y dataset-fashion-mnist python3-torch libopenblas-dev libdnnl-dev

clean:
	rm -rf $(B)
