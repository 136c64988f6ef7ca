# tests/tests.mk - the TAP helper every C unit test links (TAP_OBJ), and the test runner's checks.

TAP_OBJ := $(BUILD)/obj/tests/tap.o

$(TAP_OBJ): tests/tap.c tests/tap.h
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g -Wall -Wextra $(if $(filter 1,$(WERROR)),-Werror) -c $< -o $@
