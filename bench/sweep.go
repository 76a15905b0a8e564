package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	chart "github.com/wcharczuk/go-chart/v2"
)

// SweepConfig describes a series of open-loop runs at rising rates.
type SweepConfig struct {
	// Start is the first rate in requests per second; each step multiplies
	// it by Factor (default 1.5), for at most Steps steps (default 12).
	Start  float64
	Factor float64
	Steps  int
}

// Saturated reports whether a run shows the target at its limit: it kept
// less than 90% of the offered rate, or more than 1% of requests failed or
// were refused.
func Saturated(r *Result) bool {
	if r.Requests == 0 {
		return true
	}
	ok := float64(r.Status[200])
	return r.RequestsPerSec < 0.9*r.TargetRate || ok < 0.99*float64(r.Requests)
}

// Sweep runs cfg in open loop at rising rates until the target saturates,
// and returns every run; the last one is the first saturated.
func Sweep(ctx context.Context, cfg LoadConfig, sc SweepConfig) ([]*Result, error) {
	if sc.Start <= 0 {
		return nil, fmt.Errorf("bench: sweep needs a start rate above 0")
	}
	if sc.Factor <= 1 {
		sc.Factor = 1.5
	}
	if sc.Steps <= 0 {
		sc.Steps = 12
	}
	var out []*Result
	rate := sc.Start
	for range sc.Steps {
		cfg.Rate = rate
		if cfg.Progress != nil {
			fmt.Fprintf(cfg.Progress, "sweep: %.0f requests/s\n", rate)
		}
		r, err := Run(ctx, cfg)
		if err != nil {
			return out, err
		}
		out = append(out, r)
		if Saturated(r) || ctx.Err() != nil {
			break
		}
		rate *= sc.Factor
	}
	return out, nil
}

// Chart draws latency (p50 and p99) against achieved events per second as
// SVG.
func Chart(w io.Writer, results []*Result) error {
	var x, p50, p99 []float64
	for _, r := range results {
		x = append(x, r.EventsPerSec)
		p50 = append(p50, r.Latency.P50)
		p99 = append(p99, r.Latency.P99)
	}
	if len(x) < 2 {
		return fmt.Errorf("bench: a chart needs at least two runs, got %d", len(x))
	}
	// The latency unit is in the title: go-chart leaves the y-axis name's
	// rotation set, and the title drawn after it would stand on its side.
	title := fmt.Sprintf("hookbridge ack latency (ms) vs throughput, %d events per delivery",
		results[0].EventsPerReq)
	ticks := roundTicks(slices.Max(x))
	graph := chart.Chart{
		Title:  title,
		Width:  900,
		Height: 500,
		// Room above the plot for the title, which is drawn in the padding.
		Background: chart.Style{Padding: chart.Box{Top: 50, Left: 20, Right: 20, Bottom: 10}},
		XAxis: chart.XAxis{Name: "events/s (achieved)", Ticks: ticks,
			Range: &chart.ContinuousRange{Min: 0, Max: ticks[len(ticks)-1].Value}},
		YAxis: chart.YAxis{ValueFormatter: func(v any) string {
			return chart.FloatValueFormatterWithFormat(v, "%g")
		}},
		// No series uses it; drawn, it would label a range of nothing.
		YAxisSecondary: chart.YAxis{Style: chart.Hidden()},
		Series: []chart.Series{
			chart.ContinuousSeries{Name: "p50", XValues: x, YValues: p50},
			chart.ContinuousSeries{Name: "p99", XValues: x, YValues: p99},
		},
	}
	graph.Elements = []chart.Renderable{chart.Legend(&graph)}
	if err := graph.Render(chart.SVG, w); err != nil {
		return fmt.Errorf("bench: draw chart: %w", err)
	}
	return nil
}

// roundTicks returns axis ticks from 0 at a round step (1, 2 or 5 times a
// power of ten) that reach past top in at most ten steps, labelled as whole
// numbers with a k for thousands.
func roundTicks(top float64) []chart.Tick {
	step := 1.0
	for m := 0; top/step > 10; m++ {
		step = [...]float64{2, 5, 10}[m%3] * math.Pow(10, float64(m/3))
	}
	var ticks []chart.Tick
	for v := 0.0; ; v += step {
		label := strconv.FormatFloat(v, 'f', 0, 64)
		if v >= 1000 {
			label = strconv.FormatFloat(v/1000, 'f', -1, 64) + "k"
		}
		ticks = append(ticks, chart.Tick{Value: v, Label: label})
		if v >= top {
			return ticks
		}
	}
}
