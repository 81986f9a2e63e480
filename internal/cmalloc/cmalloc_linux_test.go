package cmalloc_test

import (
	"os"
	"testing"

	"github.com/lineside/lineside/internal/cmalloc"
	"github.com/lineside/lineside/internal/cmalloc/churn"
)

// TestArenasCapped has 32 threads allocate at once: without the cap glibc
// opens an arena for most of them.
func TestArenasCapped(t *testing.T) {
	if os.Getenv("MALLOC_ARENA_MAX") != "" || os.Getenv("GLIBC_TUNABLES") != "" {
		t.Fatal("MALLOC_ARENA_MAX or GLIBC_TUNABLES is set in the test environment; the cap is not applied then")
	}
	churn.Threads(32)
	if n := cmalloc.Arenas(); n < 1 || n > 2 {
		t.Fatalf("%d malloc arenas after 32 threads allocated at once; want 1 or 2", n)
	}
}

// TestTrim only checks that Trim returns; what it frees depends on the heap.
func TestTrim(t *testing.T) { cmalloc.Trim() }
