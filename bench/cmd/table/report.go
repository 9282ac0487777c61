package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/orrery-go/orrery/bench/internal/server"
)

func printHeader(out io.Writer, o options) {
	fmt.Fprintf(out, "command: %s\n", strings.TrimSpace("go run ./cmd/table "+strings.Join(os.Args[1:], " ")))
	fmt.Fprintf(out, "machine: %s\n", machine())
	if o.pin {
		fmt.Fprintf(out, "placement: server pinned to CPU %d, load generator to CPU %d (GOMAXPROCS 1 each)\n", o.serverCPU, o.loadgenCPU)
	} else {
		fmt.Fprintf(out, "placement: not pinned: server and load generator share the %d CPUs (GOMAXPROCS %d each)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	}
	rounds := ""
	if o.rounds > 1 {
		rounds = fmt.Sprintf("; each the round with the median req/s of %d", o.rounds)
	}
	fmt.Fprintf(out, "cells: %v warm-up + %v measured, %d-byte requests, a fresh server process per cell%s\n\n", o.warmup, o.duration, o.payload, rounds)
}

// machine describes the CPU, kernel, Go version and current load.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := "Linux"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel += " " + unix.ByteSliceToString(u.Release[:])
	}
	load := ""
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			load = fmt.Sprintf("; load average %s %s %s at start", f[0], f[1], f[2])
		}
	}
	return fmt.Sprintf("%s, %d CPUs, %s, %s%s", model, runtime.NumCPU(), kernel, runtime.Version(), load)
}

func printTable(out io.Writer, cells []cell) {
	fmt.Fprintln(out, "| server | level | req/s | p50 | p99 | p99.9 | CPU/req | server CPU | loadgen CPU |")
	fmt.Fprintln(out, "|---|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, c := range cells {
		if c.err != nil && c.res.Requests == 0 {
			fmt.Fprintf(out, "| %s | %s | failed: %v | | | | | | |\n", c.kind, c.level.name, oneLine(c.err))
			continue
		}
		note := ""
		if c.err != nil {
			note = " (error: " + oneLine(c.err) + ")"
		}
		fmt.Fprintf(out, "| %s | %s | %s%s | %s | %s | %s | %s | %s | %s |\n", c.kind, c.level.name,
			thousands(c.res.RPS), note, latency(c.res.P50), latency(c.res.P99), latency(c.res.P999),
			cpuPerReq(c), cpuShare(c.cpu, c.res.Measured), cpuShare(c.lgCPU, c.res.Measured))
	}
	fmt.Fprintln(out)
}

// printGoals compares Orrery with the standard library and single-loop
// gnet at each level: a ratio Orrery ÷ other, marked ✗ where Orrery misses
// the goal (more req/s; lower p99 and CPU per request; at 500 connections,
// a p50 no worse than gnet's).
func printGoals(out io.Writer, cells []cell) {
	find := func(kind string, lv level) *cell {
		for i := range cells {
			if c := &cells[i]; c.kind == kind && c.level == lv && c.err == nil {
				return c
			}
		}
		return nil
	}
	fmt.Fprintln(out, "Orrery ÷ other (✗: Orrery misses the goal):")
	fmt.Fprintln(out)
	fmt.Fprintln(out, "| level | req/s ÷ stdlib | req/s ÷ gnet | p99 ÷ stdlib | p99 ÷ gnet | CPU/req ÷ stdlib | CPU/req ÷ gnet | p50 ÷ gnet |")
	fmt.Fprintln(out, "|---|--:|--:|--:|--:|--:|--:|--:|")
	for _, lv := range levels { // the levels not run have no cells
		o := find(server.KindOrrery, lv)
		if o == nil {
			continue
		}
		row := []string{lv.name}
		ratio := func(other *cell, f func(*cell) float64, higherIsBetter, strict bool) string {
			if other == nil || f(other) == 0 {
				return "–"
			}
			r := f(o) / f(other)
			ok := r < 1 || (!strict && r == 1)
			if higherIsBetter {
				ok = r > 1
			}
			mark := ""
			if !ok {
				mark = " ✗"
			}
			return fmt.Sprintf("%.2f%s", r, mark)
		}
		rps := func(c *cell) float64 { return c.res.RPS }
		p99 := func(c *cell) float64 { return float64(c.res.P99) }
		p50 := func(c *cell) float64 { return float64(c.res.P50) }
		cpu := func(c *cell) float64 { return float64(c.cpu) / float64(max(c.res.Requests, 1)) }
		std, gn := find(server.KindStdlib, lv), find(server.KindGnet, lv)
		row = append(row,
			ratio(std, rps, true, true), ratio(gn, rps, true, true),
			ratio(std, p99, false, true), ratio(gn, p99, false, true),
			ratio(std, cpu, false, true), ratio(gn, cpu, false, true))
		if lv.conns == 500 {
			row = append(row, ratio(gn, p50, false, false))
		} else {
			row = append(row, "")
		}
		fmt.Fprintf(out, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(out)
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", "; ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return strings.ReplaceAll(s, "|", "/")
}

// thousands formats n with thin separators: 1,234,567.
func thousands(f float64) string {
	s := strconv.FormatInt(int64(f+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func latency(d time.Duration) string {
	if d < time.Millisecond {
		return fmt.Sprintf("%.1f µs", float64(d)/1e3)
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

func cpuPerReq(c cell) string {
	if c.res.Requests == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f µs", float64(c.cpu)/1e3/float64(c.res.Requests))
}

// cpuShare is a process's CPU time over the measured phase, as a share of
// one CPU (100%: one CPU busy all the time; up to 200% on two).
func cpuShare(cpu, measured time.Duration) string {
	if measured <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(cpu)/float64(measured))
}
