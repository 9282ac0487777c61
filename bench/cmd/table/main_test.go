package main

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/orrery-go/orrery/bench/internal/loadgen"
)

// TestParseStat reads utime and stime from a /proc/PID/stat line whose
// command name holds a space and a parenthesis.
func TestParseStat(t *testing.T) {
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 7 0 100 0 0\n"
	got, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3250 * time.Millisecond; got != want {
		t.Fatalf("got %v, want %v", got, want)
	}
	if _, err := parseStat("4242 (x) S 1"); err == nil {
		t.Fatal("a short line parsed")
	}
}

// TestProcCPU reads this process's own CPU time, which only grows.
func TestProcCPU(t *testing.T) {
	a, err := procCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(30 * time.Millisecond); time.Now().Before(end); {
	}
	b, err := procCPU(os.Getpid())
	if err != nil || b < a {
		t.Fatalf("CPU time went from %v to %v (%v)", a, b, err)
	}
}

// TestMedian picks the run with the middle req/s, skipping failed ones.
func TestMedian(t *testing.T) {
	run := func(rps float64, err error) cell { return cell{res: loadgen.Result{RPS: rps}, err: err} }
	boom := errors.New("boom")
	if got := median([]cell{run(3, nil), run(1, nil), run(2, nil)}); got.res.RPS != 2 {
		t.Errorf("median of 3, 1, 2: %v", got.res.RPS)
	}
	if got := median([]cell{run(9, boom), run(1, nil), run(4, nil)}); got.res.RPS != 1 {
		t.Errorf("median of 1, 4 (9 failed): %v, want the lower middle, 1", got.res.RPS)
	}
	if got := median([]cell{run(9, boom)}); got.err == nil {
		t.Error("all failed: want the failure")
	}
}

// TestThousands formats req/s.
func TestThousands(t *testing.T) {
	for f, want := range map[float64]string{0: "0", 999.6: "1,000", 1234567: "1,234,567", 12345: "12,345"} {
		if got := thousands(f); got != want {
			t.Errorf("thousands(%v) = %q, want %q", f, got, want)
		}
	}
}
