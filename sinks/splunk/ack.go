package splunk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hookbridge/hookbridge/sinks"
)

// firstAckPoll is the first wait for an ack. Polls then back off, doubling,
// up to Config.AckPoll, so that a quick indexer does not hold a batch for a
// whole poll interval.
const firstAckPoll = time.Second

// errNoAckID is the answer of a collector whose token has useACK off. The
// events were accepted, so sending them again would only duplicate them;
// they are dead-lettered with a reason that names the fix.
var errNoAckID = errors.New("splunk answered without an ackId: indexer acknowledgement is off for the token; " +
	"enable useACK on it or set splunk.ack: false")

// acknowledged waits for the ackId of a successful request to turn true. It
// returns nil once it did; a retryable error when it did not within
// AckTimeout (a pending ack and a lost one look the same, so the batch is
// sent again and duplicates are accepted); a permanent error when the
// collector does not do acks.
func (h *hec) acknowledged(ctx context.Context, res *response) error {
	if !res.hasAckID {
		return sinks.Permanent(errNoAckID)
	}
	id := res.ackID
	deadline := time.Now().Add(h.cfg.AckTimeout)
	wait := min(firstAckPoll, h.cfg.AckPoll)
	var lastErr error
	for {
		t := time.NewTimer(min(wait, max(time.Until(deadline), 0)))
		select {
		case <-ctx.Done():
			t.Stop()
			return &sinks.Error{Err: fmt.Errorf("wait for ackId %d: %w", id, ctx.Err())}
		case <-t.C:
		}
		done, err := h.pollAck(ctx, id)
		switch {
		case done:
			return nil
		case err != nil && isPermanent(err):
			return err
		case err != nil:
			lastErr = err
		}
		if !time.Now().Before(deadline) {
			err := fmt.Errorf("ackId %d on channel %s not acknowledged within %s; sending the batch again",
				id, h.cfg.Channel, h.cfg.AckTimeout)
			if lastErr != nil {
				err = fmt.Errorf("%w (last poll: %w)", err, lastErr)
			}
			return &sinks.Error{Err: err}
		}
		wait = min(2*wait, h.cfg.AckPoll)
	}
}

// pollAck asks whether ackId id is acknowledged. Splunk forgets an ackId
// once it reported it true, so a true answer must not be asked for again.
func (h *hec) pollAck(ctx context.Context, id int64) (bool, error) {
	body, _ := json.Marshal(struct {
		Acks []int64 `json:"acks"`
	}{[]int64{id}}) // cannot fail
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.ackURL, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("build ack request: %w", err)
	}
	req.Header.Set("Authorization", "Splunk "+h.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Splunk-Request-Channel", h.cfg.Channel)
	resp, err := h.client.Do(req)
	if err != nil {
		return false, fmt.Errorf("poll ack %d: %w", id, err)
	}
	defer resp.Body.Close()
	var b struct {
		Acks map[string]bool `json:"acks"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			return false, fmt.Errorf("decode ack answer: %w", err)
		}
		return b.Acks[strconv.FormatInt(id, 10)], nil
	}
	res, err := readResponse(resp, time.Now())
	if err != nil {
		return false, fmt.Errorf("poll ack %d: %w", id, err)
	}
	if res.status == http.StatusBadRequest && res.code == codeAckDisabled {
		return false, sinks.Permanent(fmt.Errorf("%w: %w", errNoAckID, res.err()))
	}
	return false, fmt.Errorf("poll ack %d: %w", id, res.err())
}

func isPermanent(err error) bool {
	var e *sinks.Error
	return errors.As(err, &e) && e.Permanent
}
