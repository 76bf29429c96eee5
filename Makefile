# nn.h: `make` builds the examples and tests, `make test` runs the suite (plus the same suite
# under AddressSanitizer and UndefinedBehaviorSanitizer), `make demo` trains on the digits.
CC      ?= cc
WARN    := -std=c99 -Wall -Wextra -pedantic -Werror
CFLAGS  ?= -O2 -march=native
OMP     ?= -fopenmp
SAN     := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
B       := build

TESTS     := test_gemm test_grad test_conv test_torch test_train test_errors
EXAMPLES  := xor iris digits fashion_mnist
HEADERS   := nn.h tests/test.h tests/ref/torch_ref.h

.PHONY: all test demo examples tests clean
all: examples tests

examples: $(EXAMPLES:%=$(B)/%)
tests: $(TESTS:%=$(B)/%) $(TESTS:%=$(B)/san_%)

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

test: tests
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	sh tests/run.sh $(TESTS:%=$(B)/%) $(TESTS:%=$(B)/san_%) tests/compile.sh

demo: $(B)/digits
	./$(B)/digits data/digits.csv

clean:
	rm -rf $(B) digits_history.csv digits_history.svg
