package asyncrt

import (
	"slices"
	"testing"
)

// FuzzReadyQueue checks the ready queue against a slice of the tasks that
// are queued, in order: push skips tasks already queued, withdraw removes a
// task wherever it is, pop yields queued tasks in FIFO order and nil for
// stale entries, and compaction never loses or reorders a live entry.
func FuzzReadyQueue(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x40, 0x41, 0x80, 0x80, 0x80})
	f.Add([]byte{0, 1, 2, 0x42, 0x41, 0x40, 3, 0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, ops []byte) {
		var q ringQueue
		recs := make([]taskRec, 8)
		for i := range recs {
			recs[i].task = &Task{}
		}
		var model []*taskRec
		for _, op := range ops {
			rec := &recs[op&7]
			switch op >> 6 {
			case 0, 1: // push
				q.push(rec)
				if !slices.Contains(model, rec) {
					model = append(model, rec)
				}
			case 2: // withdraw
				q.withdraw(rec)
				if i := slices.Index(model, rec); i >= 0 {
					model = slices.Delete(model, i, i+1)
				}
			case 3: // pop until a live entry or empty
				for q.len() > 0 {
					got, _ := q.pop()
					if got == nil {
						continue
					}
					if len(model) == 0 || got != model[0] {
						t.Fatalf("pop returned %p, model %v", got, model)
					}
					model = model[1:]
					break
				}
			}
			if q.len() < len(model) {
				t.Fatalf("queue holds %d entries, fewer than the %d queued tasks", q.len(), len(model))
			}
			for _, r := range model {
				if r.qseq == 0 {
					t.Fatalf("queued task %p has no entry", r)
				}
			}
		}
		// Draining yields exactly the model, in order.
		var rest []*taskRec
		for q.len() > 0 {
			if r, _ := q.pop(); r != nil {
				rest = append(rest, r)
			}
		}
		if !slices.Equal(rest, model) {
			t.Fatalf("drained %v, model %v", rest, model)
		}
	})
}

func TestReadyQueueCompactsStaleEntries(t *testing.T) {
	var q ringQueue
	recs := make([]taskRec, 2)
	for i := range recs {
		recs[i].task = &Task{}
	}
	// A loop that queues two tasks and withdraws the first each time: its
	// entry is never the last one, so it goes stale.
	for range 100_000 {
		q.push(&recs[0])
		q.push(&recs[1])
		q.withdraw(&recs[0])
		q.withdraw(&recs[1])
	}
	if q.len() > 256 {
		t.Fatalf("%d entries left: stale entries are not compacted", q.len())
	}
}
