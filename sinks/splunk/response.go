package splunk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

const (
	// maxResponseBytes bounds what is read of an answer: HEC answers are a
	// few dozen bytes, a proxy's error page may be more.
	maxResponseBytes = 64 << 10
	// maxRetryAfter caps a Retry-After far in the future.
	maxRetryAfter = time.Hour
)

// HEC status codes of the response body (Splunk docs, "Troubleshoot HTTP
// Event Collector", table of status codes).
const (
	codeSuccess     = 0
	codeInvalidData = 6
	codeAckDisabled = 14
)

// ResponseError is an answer of the collector other than success.
type ResponseError struct {
	// Status is the HTTP status.
	Status int
	// Code is the HEC code of the body, -1 when the body had none.
	Code int
	// Text is the body's text, or the start of a body that was not HEC
	// JSON.
	Text string
}

// Error renders the status, the HEC code and the text.
func (e *ResponseError) Error() string {
	if e.Code < 0 {
		return fmt.Sprintf("splunk hec: HTTP %d: %s", e.Status, e.Text)
	}
	return fmt.Sprintf("splunk hec: HTTP %d code %d: %s", e.Status, e.Code, e.Text)
}

// response is one answer of the collector.
type response struct {
	status     int
	code       int // -1 when absent
	text       string
	invalid    int // invalid-event-number, -1 when absent
	ackID      int64
	hasAckID   bool
	retryAfter time.Duration
	location   string // of a redirect
}

func (r *response) err() *ResponseError {
	return &ResponseError{Status: r.status, Code: r.code, Text: r.text}
}

// readResponse reads and closes an answer.
func readResponse(resp *http.Response, now time.Time) (*response, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("read splunk answer (HTTP %d): %w", resp.StatusCode, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
	res := &response{
		status: resp.StatusCode, code: -1, invalid: -1,
		retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), now),
		location:   resp.Header.Get("Location"),
	}
	var b struct {
		Text    string `json:"text"`
		Code    *int   `json:"code"`
		Invalid *int   `json:"invalid-event-number"`
		AckID   *int64 `json:"ackId"`
	}
	if json.Unmarshal(body, &b) != nil {
		res.text = snippet(body)
		return res, nil
	}
	res.text = b.Text
	if b.Code != nil {
		res.code = *b.Code
	}
	if b.Invalid != nil {
		res.invalid = *b.Invalid
	}
	if b.AckID != nil {
		res.ackID, res.hasAckID = *b.AckID, true
	}
	return res, nil
}

// classify sets the errors of the events batch[idx...] after an answer
// other than success, following the table of the sink spec §1.1.
func classify(res *response, idx []int, errs []error) {
	rerr := res.err()
	switch st := res.status; {
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		// Pause, not dead-letter: the backpressure flag slows the sink
		// while an operator fixes the token.
		setAll(errs, idx, &sinks.Error{
			Err:          fmt.Errorf("%w: %w", ErrTokenRejected, rerr),
			Backpressure: true, RetryAfter: res.retryAfter,
		})
	case st == http.StatusTooManyRequests || st == http.StatusServiceUnavailable:
		// 503 codes 9 (busy), 18-20 (queues or ack service full), 23
		// (shutting down), and 429 (26/27, at capacity): nothing of the
		// request was kept.
		setAll(errs, idx, &sinks.Error{Err: rerr, Backpressure: true, RetryAfter: res.retryAfter})
	case st == http.StatusBadRequest && res.code == codeInvalidData && res.invalid >= 0 && res.invalid < len(idx):
		isolate(res, rerr, idx, errs)
	case st == http.StatusRequestEntityTooLarge:
		// Only a single event gets here: larger batches are split.
		setAll(errs, idx, sinks.Permanent(fmt.Errorf("event larger than the collector accepts: %w", rerr)))
	case st >= 300 && st < 400:
		setAll(errs, idx, &sinks.Error{Err: fmt.Errorf("splunk.url redirects to %q; point it at the collector: %w",
			res.location, rerr)})
	case st >= 400 && st < 500 && st != http.StatusRequestTimeout:
		// 400 codes 5, 7, 10-16 and other client errors: the same
		// bytes would fail again.
		setAll(errs, idx, sinks.Permanent(rerr))
	default:
		// 408, 500 (code 8), 502, 504, and a 2xx with an unexpected
		// code.
		setAll(errs, idx, &sinks.Error{Err: rerr, RetryAfter: res.retryAfter})
	}
}

// isolate handles 400 code 6 with an invalid-event-number: that event is
// dead-lettered and the others are sent again. Splunk indexed none of the
// request, not even the events before the bad one.
func isolate(res *response, rerr *ResponseError, idx []int, errs []error) {
	bad := res.invalid
	notIndexed := &sinks.Error{
		Err: fmt.Errorf("not indexed: event %d of the same request was rejected: %w", bad, rerr),
	}
	for k, i := range idx {
		if k == bad {
			errs[i] = sinks.Permanent(fmt.Errorf("event %d of %d rejected: %w", bad, len(idx), rerr))
			continue
		}
		errs[i] = notIndexed
	}
}

// parseRetryAfter reads a Retry-After of delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3); zero when absent, past or malformed.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// snippet is the start of a body that is not HEC JSON, for an error text.
func snippet(body []byte) string {
	s := string(bytes.TrimSpace(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
