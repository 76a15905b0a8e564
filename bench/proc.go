package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcStats are a process's CPU time and peak resident memory, read from
// /proc on Linux.
type ProcStats struct {
	CPUSeconds  float64 `json:"cpu_seconds"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	RSSMiB      float64 `json:"rss_mib"`
	CPUPercent  float64 `json:"cpu_percent,omitempty"`
	WallSeconds float64 `json:"wall_seconds,omitempty"`
}

// ReadProc reads the stats of process pid.
func ReadProc(pid int) (ProcStats, error) {
	var s ProcStats
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return s, fmt.Errorf("process %d: unexpected /proc stat format", pid)
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	const ticks = 100 // USER_HZ on Linux
	s.CPUSeconds = (utime + stime) / ticks
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read process %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			s.PeakRSSMiB = kib(rest) / 1024
		} else if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			s.RSSMiB = kib(rest) / 1024
		}
	}
	return s, nil
}

func kib(field string) float64 {
	n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(field), " kB"), 64)
	return n
}

// WatchRSS samples the resident memory of process pid every interval until
// stop is called, which returns the samples in MiB: a run under overload
// should show them level off rather than climb.
func WatchRSS(pid int, every time.Duration) (stop func() []float64) {
	done := make(chan struct{})
	out := make(chan []float64, 1)
	go func() {
		var samples []float64
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				out <- samples
				return
			case <-t.C:
				if p, err := ReadProc(pid); err == nil {
					samples = append(samples, p.RSSMiB)
				}
			}
		}
	}()
	return func() []float64 { close(done); return <-out }
}

// Since returns the CPU used between before and s over wall time took.
func (s ProcStats) Since(before ProcStats, took time.Duration) ProcStats {
	out := s
	out.CPUSeconds = s.CPUSeconds - before.CPUSeconds
	out.WallSeconds = took.Seconds()
	if took > 0 {
		out.CPUPercent = 100 * out.CPUSeconds / took.Seconds()
	}
	return out
}
