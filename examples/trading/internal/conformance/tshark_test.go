package conformance

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// node is an object of tshark's JSON output: a frame's layers, or a
// protocol's tree.
type node = map[string]json.RawMessage

// tsharkJSON runs tshark with args (which ask for -T json) and hands each
// frame's layers to fn as they are decoded: the output of a busy run is
// hundreds of megabytes, too much to hold.
func tsharkJSON(ctx context.Context, tshark string, args []string, fn func(layers node) error) error {
	cmd := exec.CommandContext(ctx, tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("tshark: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start tshark: %w", err)
	}
	derr := func() error {
		dec := json.NewDecoder(bufio.NewReaderSize(out, 1<<20))
		if _, err := dec.Token(); err != nil { // [
			return fmt.Errorf("tshark JSON: %w", err)
		}
		for dec.More() {
			var f struct {
				Source struct {
					Layers node `json:"layers"`
				} `json:"_source"`
			}
			if err := dec.Decode(&f); err != nil {
				return fmt.Errorf("tshark JSON: %w", err)
			}
			if err := fn(f.Source.Layers); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return fmt.Errorf("tshark JSON: %w", err)
		}
		return nil
	}()
	if derr != nil {
		_ = cmd.Process.Kill() // it may be blocked writing what nobody reads
	}
	if err := cmd.Wait(); err != nil && derr == nil {
		return fmt.Errorf("tshark %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return derr
}

// tsharkFields runs tshark with args (which ask for -T fields) and hands
// each line's columns to fn.
func tsharkFields(ctx context.Context, tshark string, args []string, fn func(cols []string) error) error {
	cmd := exec.CommandContext(ctx, tshark, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("tshark: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start tshark: %w", err)
	}
	s := bufio.NewScanner(out)
	s.Buffer(make([]byte, 1<<20), 1<<24)
	var ferr error
	for ferr == nil && s.Scan() {
		ferr = fn(strings.Split(s.Text(), "\t"))
	}
	if ferr == nil {
		ferr = s.Err()
	}
	if ferr != nil {
		_ = cmd.Process.Kill()
	}
	if err := cmd.Wait(); err != nil && ferr == nil {
		return fmt.Errorf("tshark %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return ferr
}

// objects returns v, a JSON object or (where --no-duplicate-keys merged
// repeated keys) an array of objects, as a list of objects.
func objects(v json.RawMessage) ([]node, error) {
	if len(v) == 0 {
		return nil, nil
	}
	if v[0] == '{' {
		var n node
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, err
		}
		return []node{n}, nil
	}
	var ns []node
	err := json.Unmarshal(v, &ns)
	return ns, err
}

// raws returns the bytes of a "_raw" value, which -x adds beside each
// field and protocol: ["hex", offset, length, bitmask, type], or an array
// of those for a repeated one.
func raws(v json.RawMessage) ([][]byte, error) {
	if len(v) == 0 {
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, err
	}
	if len(list) > 0 && len(list[0]) > 0 && list[0][0] == '"' { // a single one
		b, err := rawBytes(list[0])
		if err != nil {
			return nil, err
		}
		return [][]byte{b}, nil
	}
	out := make([][]byte, 0, len(list))
	for _, one := range list {
		var parts []json.RawMessage
		if err := json.Unmarshal(one, &parts); err != nil || len(parts) == 0 {
			return nil, fmt.Errorf("raw value %s: %w", one, err)
		}
		b, err := rawBytes(parts[0])
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func rawBytes(v json.RawMessage) ([]byte, error) {
	var h string
	if err := json.Unmarshal(v, &h); err != nil {
		return nil, err
	}
	return hex.DecodeString(h)
}

// str returns a field's value as tshark shows it.
func str(n node, key string) (string, error) {
	v, ok := n[key]
	if !ok {
		return "", fmt.Errorf("no field %s", key)
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("field %s = %s: %w", key, v, err)
	}
	return s, nil
}

func intField(n node, key string) (int, error) {
	s, err := str(n, key)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(s)
}

// field returns the bytes the dissector decoded as field name.
func field(n node, name string) ([]byte, error) {
	rs, err := raws(n[name+"_raw"])
	if err != nil {
		return nil, fmt.Errorf("field %s: %w", name, err)
	}
	if len(rs) != 1 {
		return nil, fmt.Errorf("field %s: %d occurrences, want 1", name, len(rs))
	}
	return rs[0], nil
}

// wsKeys returns the keys under n, at any depth, of Wireshark's own
// pseudo-protocols: "_ws.malformed", "_ws.expert" and the like, which mark
// malformed packets and expert findings.
func wsKeys(v json.RawMessage) []string {
	var found []string
	var walk func(v json.RawMessage)
	walk = func(v json.RawMessage) {
		switch {
		case len(v) > 0 && v[0] == '{':
			var n node
			if json.Unmarshal(v, &n) != nil {
				return
			}
			for k, c := range n {
				if strings.HasPrefix(k, "_ws.") {
					found = append(found, k)
				}
				walk(c)
			}
		case len(v) > 0 && v[0] == '[':
			var l []json.RawMessage
			if json.Unmarshal(v, &l) != nil {
				return
			}
			for _, c := range l {
				walk(c)
			}
		}
	}
	walk(v)
	return found
}

// epoch parses a frame.time_epoch value: seconds with nine decimals.
func epoch(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q: %w", s, err)
	}
	return time.Unix(secs, ns), nil
}
