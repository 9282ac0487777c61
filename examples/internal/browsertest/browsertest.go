// Package browsertest drives a headless Chromium for the browser tests of
// the examples' live views: it opens a page, gathers what the page writes
// to its console (errors, uncaught exceptions, the browser's own error log:
// a failed load, a resource refused by the page's security policy), waits
// on the page's own content, and saves screenshots.
//
// The tests run only with ORRERY_BROWSER=1 (they need Debian's chromium,
// or ORRERY_CHROMIUM naming a Chromium binary); .ci/browser installs it and
// runs them. Screenshots go to the directory ORRERY_ARTIFACTS names (a
// temporary directory otherwise, logged), and, when ORRERY_SCREENSHOTS
// names a directory, there too — that is how docs/img is made.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Viewport is the size of the browser's window, and of the screenshots.
const ViewportWidth, ViewportHeight = 1000, 700

// Chromium returns the Chromium binary to run, or skips the test (and says
// how to run it) when browser tests are not asked for or no Chromium is
// found.
func Chromium(t *testing.T) string {
	t.Helper()
	if os.Getenv("ORRERY_BROWSER") != "1" {
		t.Skip("browser test: set ORRERY_BROWSER=1 to run it in headless Chromium (Debian's chromium package), or run .ci/browser, which installs it")
	}
	if p := os.Getenv("ORRERY_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser test: no chromium found on PATH (apt-get install chromium, or set ORRERY_CHROMIUM)")
	return ""
}

// Page is a page open in a headless Chromium of its own.
type Page struct {
	t      *testing.T
	ctx    context.Context
	cancel func()

	mu       sync.Mutex
	messages []string // console errors, exceptions, error log entries
	listen   bool
}

// Open starts Chromium and opens url. The browser closes when the test
// ends (or with Close).
func Open(t *testing.T, url string) *Page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(Chromium(t)),
		chromedp.NoSandbox, // as root, as in CI; the page is ours
		chromedp.WindowSize(ViewportWidth, ViewportHeight),
		chromedp.Flag("disable-gpu", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	p := &Page{t: t, ctx: ctx, listen: true}
	p.cancel = func() {
		p.mu.Lock()
		p.listen = false
		p.mu.Unlock()
		cancelTab()
		cancelAlloc()
	}
	t.Cleanup(p.Close)
	// Listen before the page loads, so that nothing it says is missed.
	if err := chromedp.Listen(ctx, p.record); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(ViewportWidth, ViewportHeight),
		chromedp.Navigate(url),
	); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
	return p
}

// record keeps what the page reports as an error. It runs on chromedp's
// reading goroutine: it only appends.
func (p *Page) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError && ev.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		var args []string
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text = d.Exception.Description
		}
		msg = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber, text)
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("browser log (%s): %s %s", ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
	default:
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.listen {
		p.messages = append(p.messages, msg)
	}
}

// Errors returns what the page reported as errors so far.
func (p *Page) Errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.messages...)
}

// Close stops listening and closes the browser. The errors the page
// reported stay readable. Closing again does nothing.
func (p *Page) Close() {
	if p.cancel != nil {
		p.cancel()
		p.cancel = nil
	}
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluating %s: %v (page errors: %q)", expr, err, p.Errors())
	}
	return v
}

// WaitFor waits until the JavaScript expression is truthy in the page,
// checking it at every animation frame, and fails the test if it is not
// within the deadline. The deadline is a bound for a failure only: on a
// loaded machine a page may take long, and a test is not a measure of it.
func (p *Page) WaitFor(expr string, within time.Duration, what string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(within))); err != nil {
		p.t.Fatalf("waiting for %s (%s): %v (page errors: %q)", what, expr, err, p.Errors())
	}
}

// Screenshot saves a PNG of the page as name.png in the artefacts
// directory, and in ORRERY_SCREENSHOTS if set, and returns the artefact's
// path.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	dirs := []string{ArtifactsDir(p.t)}
	if d := os.Getenv("ORRERY_SCREENSHOTS"); d != "" {
		dirs = append(dirs, fromModuleRoot(p.t, d))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			p.t.Fatalf("screenshot: %v", err)
		}
		path := filepath.Join(d, name+".png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			p.t.Fatalf("screenshot: %v", err)
		}
		p.t.Logf("screenshot %s (%d KB)", path, len(png)/1024)
	}
	return filepath.Join(dirs[0], name+".png")
}

// ArtifactsDir is where a test saves what it leaves behind: ORRERY_ARTIFACTS,
// or a directory of the test's own (logged).
func ArtifactsDir(t *testing.T) string {
	if d := os.Getenv("ORRERY_ARTIFACTS"); d != "" {
		return fromModuleRoot(t, d)
	}
	d := t.TempDir()
	t.Logf("artefacts in %s (set ORRERY_ARTIFACTS to keep them)", d)
	return d
}

// fromModuleRoot resolves a relative path against the module's root (where
// go.mod is), not the test's package directory, where go test runs it:
// ORRERY_SCREENSHOTS=docs/img means the repository's docs/img.
func fromModuleRoot(t *testing.T, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("resolving %s: %v", path, err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, path)
		}
		if filepath.Dir(d) == d {
			t.Fatalf("resolving %s: no go.mod above %s", path, dir)
		}
	}
}
