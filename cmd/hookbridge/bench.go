package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"golang.org/x/term"

	"github.com/hookbridge/hookbridge/bench"
)

type benchFlags struct {
	cfg           bench.LoadConfig
	jsonOut       string
	verifyBrokers string
	verifyTopics  string
	verifyWait    time.Duration
	verifyAfter   bool
	pid           int
	sweep         bool
	sweepStart    float64
	sweepOut      string
	bodies        string
}

func benchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [--url URL] [--connections N] [--rate R] [--events N | --bodies DIR] [--duration D]",
		Short: "Send realistic Okta event hook traffic to an endpoint and measure it",
		Long: "Generate realistic event hook deliveries (unique uuids, a mix of event types and\n" +
			"shapes, 1-5 KB per event) and post them to any HTTP endpoint: a closed loop of\n" +
			"keep-alive connections, or with --rate an open loop at a fixed request rate,\n" +
			"where latency counts from each request's intended send time and --connections\n" +
			"bounds the requests in flight (give it at least rate x latency). Deliveries are\n" +
			"generated before the clock starts and filled with fresh uuids per request, or\n" +
			"with --bodies replayed from a directory as they are: the same uuids each pass,\n" +
			"so after the first a bridge with dedup only drops them. Prints a progress line,\n" +
			"then requests/s, events/s (of deliveries answered 2xx), MB/s, status counts and\n" +
			"latency percentiles. With --verify-brokers it checks that every event of every\n" +
			"delivery answered 2xx is in Kafka (dead letters included, by their uuid key), with\n" +
			"its POST-to-visible latency, or with --verify-after once the run is over. Exits\n" +
			"non-zero when no request was answered 2xx or an acknowledged event is missing.",
		Example: "  hookbridge bench --url http://127.0.0.1:8080/hooks/okta --secret dev-secret --events 10 --duration 15s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			f.cfg.Progress = cmd.ErrOrStderr()
			if fd, ok := f.cfg.Progress.(interface{ Fd() uintptr }); ok {
				f.cfg.ProgressTTY = term.IsTerminal(int(fd.Fd()))
			}
			f.cfg.Seed = benchSeed(cmd.Flags().Changed("seed"), f.cfg.Seed, time.Now())
			return runBench(ctx, f, cmd)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.URL, "url", "http://127.0.0.1:8080/hooks/okta", "endpoint to post deliveries to")
	fl.StringVar(&f.cfg.AuthHeader, "auth-header", "Authorization", "header carrying the secret")
	fl.StringVar(&f.cfg.Secret, "secret", os.Getenv("HOOKBRIDGE_OKTA_SECRET"),
		"secret value (default $HOOKBRIDGE_OKTA_SECRET)")
	fl.IntVar(&f.cfg.Connections, "connections", 16,
		"keep-alive connections: the closed loop's senders, or the open loop's limit of requests in flight")
	fl.Float64Var(&f.cfg.Rate, "rate", 0, "requests per second for an open loop (0: closed loop)")
	fl.IntVar(&f.cfg.Events, "events", 10, "events per generated delivery")
	fl.StringVar(&f.bodies, "bodies", "",
		"replay the files of this directory (one delivery body each, sent as they are, in turn) "+
			"instead of generating deliveries")
	fl.DurationVar(&f.cfg.Duration, "duration", 15*time.Second, "measured duration")
	fl.DurationVar(&f.cfg.Warmup, "warmup", 3*time.Second, "unmeasured warm-up before it")
	fl.Float64Var(&f.cfg.DuplicateRatio, "duplicates", 0, "share of requests resending an earlier delivery")
	fl.Uint64Var(&f.cfg.Seed, "seed", 0,
		"seed of the event generator (default: a new one per run; the same seed sends the same "+
			"events and uuids again, which a bridge's dedup drops)")
	fl.StringVar(&f.jsonOut, "json", "", "also write the result as JSON to this file")
	fl.BoolVar(&f.sweep, "sweep", false,
		"run open loops at rising rates (x1.5 from --sweep-start) until the target saturates, "+
			"and write the results and a latency-versus-throughput chart")
	fl.Float64Var(&f.sweepStart, "sweep-start", 100, "first rate of --sweep, requests/s")
	fl.StringVar(&f.sweepOut, "sweep-out", ".", "directory for the --sweep JSON and SVG chart")
	fl.IntVar(&f.pid, "pid", 0, "also report the CPU use and peak memory of this process (the target)")
	fl.StringVar(&f.verifyBrokers, "verify-brokers", "",
		"Kafka brokers to check acknowledged events in, comma-separated host:port")
	fl.StringVar(&f.verifyTopics, "verify-topics", "okta.events,okta.sessions,okta.deadletter",
		"topics to check")
	fl.DurationVar(&f.verifyWait, "verify-wait", 30*time.Second, "how long to wait for the last events")
	fl.BoolVar(&f.verifyAfter, "verify-after", false,
		"read Kafka only once the run is over, so that the check takes no CPU from the load it "+
			"measures on a shared machine; no POST-to-visible latency then")
	return cmd
}

func runBench(ctx context.Context, f benchFlags, cmd *cobra.Command) error {
	switch {
	case f.cfg.Rate < 0:
		return fmt.Errorf("--rate %v: give requests per second, or 0 for a closed loop", f.cfg.Rate)
	case f.verifyAfter && f.verifyBrokers == "":
		return errors.New("--verify-after needs --verify-brokers")
	}
	if f.cfg.Secret == "" && f.cfg.AuthHeader != "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "bench: no secret (--secret or $HOOKBRIDGE_OKTA_SECRET): "+
			"requests carry an empty %s header\n", f.cfg.AuthHeader)
	}
	if f.bodies != "" {
		var err error
		if f.cfg.Replay, err = bench.LoadDeliveries(f.bodies); err != nil {
			return err
		}
	}
	if f.sweep {
		return runSweep(ctx, f, cmd)
	}
	var v *verifier
	if f.verifyBrokers != "" {
		var err error
		// Replayed events may have been stored by an earlier run: look from
		// the start of the topics for them, and from the end for fresh ones.
		fromStart := len(f.cfg.Replay) > 0
		if v, err = newVerifier(ctx, strings.Split(f.verifyBrokers, ","), strings.Split(f.verifyTopics, ","),
			fromStart, !f.verifyAfter); err != nil {
			return err
		}
		defer v.close()
		if missing := missingTopics(ctx, v.cl, v.topics); len(missing) > 0 {
			// A bridge may create a topic on its first event, so this is
			// no error; but a misspelt topic would report every event
			// missing.
			fmt.Fprintf(cmd.ErrOrStderr(), "bench: verify: topic %s does not exist (yet)\n",
				strings.Join(missing, ", "))
		}
		f.cfg.OnAck = v.acked
	}
	var (
		before  bench.ProcStats
		start   time.Time
		procErr error
		stopRSS func() []float64
	)
	if f.pid > 0 {
		if _, err := bench.ReadProc(f.pid); err != nil {
			return err
		}
		// The target's CPU and memory count over the measured part, as the
		// rates do: the warm-up opens connections and grows buffers.
		f.cfg.OnMeasure = func() {
			before, procErr = bench.ReadProc(f.pid)
			start = time.Now()
			stopRSS = bench.WatchRSS(f.pid, time.Second)
		}
	}
	res, err := bench.Run(ctx, f.cfg)
	if err != nil {
		return err
	}
	res.Extra = map[string]any{}
	if f.pid > 0 {
		after, err := bench.ReadProc(f.pid)
		if err = errors.Join(procErr, err); err != nil {
			return err
		}
		res.Extra["target"] = after.Since(before, time.Since(start))
		if stopRSS != nil {
			res.Extra["target_rss_mib"] = stopRSS()
		}
	}
	if v != nil {
		for k, val := range v.report(f.verifyWait) {
			res.Extra[k] = val
		}
	}
	fmt.Fprint(cmd.OutOrStdout(), bench.Table(res))
	if res.Mode == "open" {
		fmt.Fprintf(cmd.OutOrStdout(), "service time (sent to answered): p50 %.2f p99 %.2f max %.2f ms;"+
			" slowest answer by status (ms): %v\n", res.Service.P50, res.Service.P99, res.Service.Max,
			res.SlowestByStatus)
	}
	if t, ok := res.Extra["target"].(bench.ProcStats); ok {
		fmt.Fprintf(cmd.OutOrStdout(), "target pid %d: cpu %.0f%% (%.1f s), peak RSS %.1f MiB",
			f.pid, t.CPUPercent, t.CPUSeconds, t.PeakRSSMiB)
		if rss, _ := res.Extra["target_rss_mib"].([]float64); len(rss) > 1 {
			// Where memory was at each quarter of the run shows whether
			// it levelled off.
			fmt.Fprintf(cmd.OutOrStdout(), "; RSS by quarter of the measured part")
			for q := 1; q <= 4; q++ {
				fmt.Fprintf(cmd.OutOrStdout(), " %.0f", rss[(len(rss)-1)*q/4])
			}
			fmt.Fprintf(cmd.OutOrStdout(), " MiB")
		}
		fmt.Fprintln(cmd.OutOrStdout())
	}
	if v != nil {
		fmt.Fprintf(cmd.OutOrStdout(), "verify: acknowledged=%v found=%v missing=%v",
			res.Extra["acknowledged"], res.Extra["found"], res.Extra["missing"])
		switch {
		case f.verifyAfter:
			fmt.Fprintln(cmd.OutOrStdout(), " (read after the run)")
		case res.Extra["visible_n"].(int) > 0:
			fmt.Fprintf(cmd.OutOrStdout(), " visible p50 %.1f ms p99 %.1f ms\n",
				res.Extra["visible_p50_ms"], res.Extra["visible_p99_ms"])
		case res.Extra["found"].(int) > 0:
			// Replayed events already in Kafka before they were sent.
			fmt.Fprintln(cmd.OutOrStdout(), " (found in Kafka before this run: no visibility latency)")
		default:
			fmt.Fprintln(cmd.OutOrStdout())
		}
	}
	if f.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(f.jsonOut, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f.jsonOut, err)
		}
	}
	if res.Errors > 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "errors: %d requests got no answer; the last: %s\n",
			res.Errors, res.LastError)
	}
	if v != nil && res.Extra["missing"].(int) > 0 {
		return fmt.Errorf("%d acknowledged events are missing from Kafka", res.Extra["missing"])
	}
	return noneAccepted(res)
}

// noneAccepted is an error when no request was answered 2xx: a wrong URL,
// secret or auth header, or a target that is down, should not pass for a
// measurement.
func noneAccepted(res *bench.Result) error {
	for status, n := range res.Status {
		if status >= 200 && status < 300 && n > 0 {
			return nil
		}
	}
	why := fmt.Sprintf("statuses %v", res.Status)
	if res.Errors > 0 {
		why += fmt.Sprintf(", %d without an answer (last: %s)", res.Errors, res.LastError)
	}
	return fmt.Errorf("no request was answered 2xx: %s", why)
}

// verifier reads the topics, during the run or once it is over, and matches
// the keys it sees with the acknowledged uuids. It shares the machine with
// the load it measures, so it keeps uuids as 16-byte keys in maps the
// garbage collector need not scan; the rare key that is no uuid goes in maps
// of strings.
type verifier struct {
	cl      *kgo.Client
	topics  []string
	live    bool // reading during the run, so that seen times are visibility times
	ctx     context.Context
	cancel  context.CancelFunc
	started bool // read has been called; done closes when it returns
	done    chan struct{}

	mu sync.Mutex
	// sent maps each acknowledged uuid to when its delivery was sent; seen
	// to when it became visible (Unix nanoseconds). All guarded by mu.
	sent, seen           map[uuidKey]int64
	sentOther, seenOther map[string]int64
}

// uuidKey is the 128 bits of a uuid.
type uuidKey [16]byte

// parseUUID reads the canonical 36-character text form, in either case.
func parseUUID(s []byte) (k uuidKey, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return k, false
	}
	j := 0
	for i := 0; i < 36; i += 2 {
		// Skip the dashes by position, not by content: a dash where a hex
		// digit belongs must fail, not shift the pairs.
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i--
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return k, false
		}
		k[j] = hi<<4 | lo
		j++
	}
	return k, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// newVerifier connects to the brokers, failing at once if they cannot be
// reached, and settles where it reads the topics from: their start when
// fromStart, else their end. When live it reads from then on; otherwise it
// waits for report.
func newVerifier(ctx context.Context, brokers, topics []string, fromStart, live bool) (*verifier, error) {
	start := kgo.NewOffset().AtEnd()
	if fromStart {
		start = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(start))
	if err != nil {
		return nil, fmt.Errorf("verify: kafka client: %w", err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	if err := cl.Ping(pctx); err != nil {
		cl.Close()
		return nil, fmt.Errorf("verify: cannot reach Kafka at %s: %w", strings.Join(brokers, ","), err)
	}
	cctx, cancel := context.WithCancel(ctx)
	v := &verifier{cl: cl, topics: topics, live: live, ctx: cctx, cancel: cancel,
		done: make(chan struct{}), sent: map[uuidKey]int64{}, seen: map[uuidKey]int64{},
		sentOther: map[string]int64{}, seenOther: map[string]int64{}}
	// Settle the starting offsets before the load begins; from the start,
	// what this first poll reads counts too.
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	v.take(cl.PollFetches(sctx))
	scancel()
	if live {
		v.read()
	} else {
		// Paused, the client keeps its positions and fetches nothing.
		cl.PauseFetchTopics(topics...)
	}
	return v, nil
}

// missingTopics returns those of topics that the cluster does not have.
func missingTopics(ctx context.Context, cl *kgo.Client, topics []string) []string {
	details, err := kadm.NewClient(cl).ListTopics(ctx, topics...)
	if err != nil {
		return nil // the reading itself will tell
	}
	var missing []string
	for _, t := range topics {
		if d, ok := details[t]; !ok || d.Err != nil {
			missing = append(missing, t)
		}
	}
	return missing
}

// read polls the topics until close.
func (v *verifier) read() {
	v.started = true
	go func() {
		defer close(v.done)
		for v.ctx.Err() == nil {
			v.take(v.cl.PollFetches(v.ctx))
		}
	}()
}

// take notes the keys of fetched records as seen now.
func (v *verifier) take(fs kgo.Fetches) {
	now := time.Now().UnixNano()
	v.mu.Lock()
	defer v.mu.Unlock()
	fs.EachRecord(func(r *kgo.Record) {
		if len(r.Key) == 0 {
			return
		}
		if k, ok := parseUUID(r.Key); ok {
			if _, dup := v.seen[k]; !dup {
				v.seen[k] = now
			}
		} else if _, dup := v.seenOther[string(r.Key)]; !dup {
			v.seenOther[string(r.Key)] = now
		}
	})
}

func (v *verifier) acked(uuids []string, sent time.Time) {
	at := sent.UnixNano()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, u := range uuids {
		// The first acknowledgement counts: a replayed event was stored
		// then.
		if k, ok := parseUUID([]byte(u)); ok {
			if _, dup := v.sent[k]; !dup {
				v.sent[k] = at
			}
		} else if _, dup := v.sentOther[u]; !dup {
			v.sentOther[u] = at
		}
	}
}

// missing counts acknowledged uuids not seen; mu must be held.
func (v *verifier) missing() int {
	n := 0
	for k := range v.sent {
		if _, ok := v.seen[k]; !ok {
			n++
		}
	}
	for k := range v.sentOther {
		if _, ok := v.seenOther[k]; !ok {
			n++
		}
	}
	return n
}

// report waits up to wait for every acknowledged uuid, then counts.
// Visibility latency is reported only when reading was live.
func (v *verifier) report(wait time.Duration) map[string]any {
	if !v.live {
		v.cl.ResumeFetchTopics(v.topics...)
		v.read()
	}
	deadline := time.Now().Add(wait)
	for {
		v.mu.Lock()
		missing := v.missing()
		v.mu.Unlock()
		if missing == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	h := hdrhistogram.New(1, 600_000_000, 3)
	record := func(sent, seen int64) {
		// A replayed event seen before it was sent was stored by an
		// earlier run: it has no latency of its own.
		if seen >= sent {
			_ = h.RecordValue(max(1, (seen-sent)/1000))
		}
	}
	// Read after the run, seen times say nothing of visibility: no need to
	// walk the maps.
	if v.live {
		for k, sent := range v.sent {
			if seen, ok := v.seen[k]; ok {
				record(sent, seen)
			}
		}
		for k, sent := range v.sentOther {
			if seen, ok := v.seenOther[k]; ok {
				record(sent, seen)
			}
		}
	}
	acked, missing := len(v.sent)+len(v.sentOther), v.missing()
	return map[string]any{
		"acknowledged": acked, "found": acked - missing, "missing": missing,
		"visible_p50_ms": float64(h.ValueAtQuantile(50)) / 1000,
		"visible_p99_ms": float64(h.ValueAtQuantile(99)) / 1000,
		"visible_n":      int(h.TotalCount()),
	}
}

func (v *verifier) close() {
	v.cancel()
	if v.started {
		<-v.done
	}
	v.cl.Close()
}

// runSweep runs the open-loop series and writes sweep-<events>.json and
// sweep-<events>.svg.
func runSweep(ctx context.Context, f benchFlags, cmd *cobra.Command) error {
	results, err := bench.Sweep(ctx, f.cfg, bench.SweepConfig{Start: f.sweepStart})
	if err != nil {
		return err
	}
	fmt.Fprint(cmd.OutOrStdout(), bench.Table(results...))
	if err := os.MkdirAll(f.sweepOut, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", f.sweepOut, err)
	}
	base := filepath.Join(f.sweepOut, fmt.Sprintf("sweep-%d", f.cfg.Events))
	b, _ := json.MarshalIndent(results, "", "  ")
	if err := os.WriteFile(base+".json", append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write sweep results: %w", err)
	}
	svg, err := os.Create(base + ".svg")
	if err != nil {
		return fmt.Errorf("write sweep chart: %w", err)
	}
	defer svg.Close()
	if err := bench.Chart(svg, results); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote %s.json and %s.svg\n", base, base)
	return nil
}

// benchSeed picks the generator's seed: the one given, or one from the clock,
// so that a second run against the same bridge does not resend the first
// run's events (same uuids), which dedup would drop and --verify would miss.
func benchSeed(given bool, seed uint64, now time.Time) uint64 {
	if given {
		return seed
	}
	return uint64(now.UnixNano())
}
