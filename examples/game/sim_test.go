package main

import (
	"bytes"
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSimulationReplays runs the built game with --sim twice: the two
// stdouts are the same byte for byte, down to the digest on the last
// line, and the wall-clock figures go to stderr. Another seed prints
// another digest.
func TestSimulationReplays(t *testing.T) {
	bin := buildGame(t)
	run := func(seed string) (string, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var stdout, stderr bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "--sim", "--seed", seed, "--ticks", "120", "--players", "5", "--agents", "100")
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "stderr: %s", &stderr)
		return stdout.String(), stderr.String()
	}
	first, wall := run("4")
	second, _ := run("4")
	assert.Equal(t, first, second, "the same command, the same output")
	digest := regexp.MustCompile(`\ndigest: ([0-9a-f]{16})\n$`)
	m := digest.FindStringSubmatch(first)
	require.NotNil(t, m, "the digest is the last line: %q", first)
	assert.Contains(t, first, "server: sessions 5 ")
	assert.Regexp(t, `^wall time [\d.]+s \(`, wall, "the wall time goes to stderr")
	assert.NotContains(t, first, "wall")

	other, _ := run("5")
	n := digest.FindStringSubmatch(other)
	require.NotNil(t, n, "%q", other)
	assert.NotEqual(t, m[1], n[1], "another seed, another digest")
}

// TestSimulationFlagsAreValidated runs the game with flags a simulation
// refuses: each is an error that names the flag, and exit status 1.
func TestSimulationFlagsAreValidated(t *testing.T) {
	bin := buildGame(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sim", "--http", "127.0.0.1:0"}, "--http"},
		{[]string{"--sim", "--headless"}, "--headless"},
		{[]string{"--sim", "--duration", "5s"}, "--duration"},
		{[]string{"--sim", "--addr", "127.0.0.1:0"}, "--addr"},
		{[]string{"--sim", "--players", "-1"}, "must not be negative"},
		{[]string{"--sim", "--players", "201"}, "200 players at most"},
		{[]string{"--players", "3", "--headless"}, "add --sim"},
	} {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(bin, c.args...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var exit *exec.ExitError
		if assert.ErrorAs(t, err, &exit, "%q", c.args) {
			assert.Equal(t, 1, exit.ExitCode(), "%q", c.args)
		}
		assert.Contains(t, stderr.String(), c.want, "%q", c.args)
		assert.Empty(t, strings.TrimSpace(stdout.String()), "%q", c.args)
	}
}
