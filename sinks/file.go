package sinks

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
)

// fileDestination appends events as NDJSON to a file, fsynced per batch so
// that a committed offset never covers an event only the page cache holds,
// or writes them to standard output.
type fileDestination struct {
	mu sync.Mutex
	// w and f are guarded by mu; f is nil for stdout.
	w io.Writer
	f *os.File
}

func newFileDestination(c *Config) (*fileDestination, error) {
	if c.Type == TypeStdout {
		return &fileDestination{w: os.Stdout}, nil
	}
	f, err := os.OpenFile(c.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("sinks[%s]: open %s: %w", c.Name, c.Path, err)
	}
	return &fileDestination{w: f, f: f}, nil
}

// Deliver writes the batch and syncs the file; every event shares the result.
func (d *fileDestination) Deliver(_ context.Context, batch []Event) []error {
	var buf []byte
	for _, ev := range batch {
		buf = append(buf, ev.JSON...)
		buf = append(buf, '\n')
	}
	errs := make([]error, len(batch))
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := d.w.Write(buf)
	if err == nil && d.f != nil {
		err = d.f.Sync()
	}
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("write events: %w", err)
		}
	}
	return errs
}

// Close closes the file.
func (d *fileDestination) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.f != nil {
		return d.f.Close()
	}
	return nil
}
