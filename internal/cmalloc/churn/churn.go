// Package churn allocates from the C heap on many threads at once, for the
// tests of package cmalloc (cgo is not allowed in test files).
package churn

/*
#cgo LDFLAGS: -lpthread
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *churn(void *arg) {
	for (int i = 0; i < 20000; i++) {
		void *p = malloc(256 + (i % 4096));
		memset(p, 1, 64);
		free(p);
	}
	return NULL;
}

static void churn_threads(int n) {
	pthread_t t[64];
	if (n > 64) n = 64;
	for (int i = 0; i < n; i++) pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
}
*/
import "C"

// Threads runs n (at most 64) threads that malloc and free at the same time
// and returns when all have finished.
func Threads(n int) { C.churn_threads(C.int(n)) }
