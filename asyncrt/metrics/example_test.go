package metrics_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/orrery-go/orrery/asyncrt"
	"github.com/orrery-go/orrery/asyncrt/metrics"
)

// Expose a runtime's counters on /metrics. The runtime's label tells its
// series apart from those of other runtimes in the same registry.
func Example() {
	rt, err := asyncrt.NewBuilder().MeasurePolls(true).Build() // MeasurePolls fills the poll histogram
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	c, err := metrics.NewCollector(rt, metrics.WithConstLabels(prometheus.Labels{"runtime": "feed"}))
	if err != nil {
		panic(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// A program serves it: go http.ListenAndServe("127.0.0.1:9090", mux)

	err = asyncrt.Run(rt, func(t *asyncrt.Task) error {
		set := asyncrt.NewJoinSet[struct{}]()
		for range 3 {
			set.SpawnFunc(t, func(t *asyncrt.Task) { t.Yield() })
		}
		for set.Len() > 0 {
			set.Next(t)
		}
		return nil
	})
	if err != nil {
		panic(err)
	}

	// Scrape it here, and print two of the lines a scraper reads.
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "orrery_tasks_spawned_total") ||
			strings.HasPrefix(line, "orrery_tasks_completed_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// orrery_tasks_completed_total{runtime="feed"} 4
	// orrery_tasks_spawned_total{runtime="feed"} 4
}
