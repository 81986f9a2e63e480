package cmalloc

/*
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Runs when the executable is loaded, before any thread exists, so the cap
// holds for every arena.
__attribute__((constructor)) static void lineside_cap_arenas(void) {
	if (getenv("MALLOC_ARENA_MAX") == NULL && getenv("GLIBC_TUNABLES") == NULL) {
		mallopt(M_ARENA_MAX, 2);
	}
}

static int lineside_arenas(void) {
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (f == NULL) return -1;
	malloc_info(0, f);
	fclose(f);
	int heaps = 0;
	for (char *p = buf; (p = strstr(p, "<heap nr=")) != NULL; p++) heaps++;
	free(buf);
	return heaps;
}
*/
import "C"

// Trim returns the C heap's free pages to the kernel (glibc malloc_trim).
// Call it after a burst of large, short-lived allocations, such as loading a
// model, which parses the file more than once and frees the copies.
func Trim() { C.malloc_trim(0) }

// Arenas returns how many malloc arenas the process has (the heaps glibc's
// malloc_info lists).
func Arenas() int { return int(C.lineside_arenas()) }
