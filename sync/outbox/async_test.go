package outbox

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestAppendAsync(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ob.db")
	o := openT(t, path, Options{})
	const producers, each, window = 4, 500, 32
	var mu sync.Mutex
	seqs := map[string][]uint64{}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			stream := fmt.Sprintf("s%d", p)
			sem := make(chan struct{}, window)
			var done sync.WaitGroup
			for i := range each {
				sem <- struct{}{}
				done.Add(1)
				err := o.AppendAsync(context.Background(), rec(stream, PriorityEvent, fmt.Sprintf("%d", i)), func(rc Receipt, err error) {
					defer done.Done()
					<-sem
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					seqs[rc.Stream] = append(seqs[rc.Stream], rc.Seq)
					mu.Unlock()
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
			done.Wait()
		})
	}
	wg.Wait()
	for s, got := range seqs {
		if len(got) != each {
			t.Fatalf("%s: %d receipts", s, len(got))
		}
		for i, seq := range got { // one producer per stream: seqs in submit order
			if seq != uint64(i+1) {
				t.Fatalf("%s: receipt %d has seq %d", s, i, seq)
			}
		}
	}
	if st := o.Stats(); st.MeanBatch() < 4 {
		t.Fatalf("mean batch %.1f: async appends should share commits", st.MeanBatch())
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	if err := o.AppendAsync(context.Background(), rec("s", PriorityEvent, "x"), func(Receipt, error) { t.Error("callback after close") }); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
	o = openT(t, path, Options{})
	defer o.Close()
	if o.Depth() != producers*each {
		t.Fatalf("depth %d after reopen", o.Depth())
	}
}
