package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Delivery is a request body to replay.
type Delivery struct {
	Name string
	Body []byte
	// Events is how many events it carries; UUIDs are those of its events
	// that have one, which verification looks for.
	Events int
	UUIDs  []string
}

// LoadDeliveries reads every regular file in dir, in name order, as a
// delivery body to replay. Bodies are sent as they are; the events and
// uuids of those that are event hook deliveries are counted and verified,
// and a file that is not one is still sent (a target's answer to bad input
// is worth measuring too) but counts no events.
func LoadDeliveries(dir string) ([]Delivery, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("bench: read deliveries: %w", err)
	}
	var out []Delivery
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		body, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("bench: read delivery: %w", err)
		}
		d := Delivery{Name: e.Name(), Body: body}
		d.Events, d.UUIDs = eventUUIDs(body)
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("bench: no files in %s to replay", dir)
	}
	return out, nil
}

// eventUUIDs counts the events of an event hook delivery and returns the
// uuids of those that have one; 0 and nil when body is not a delivery.
func eventUUIDs(body []byte) (events int, uuids []string) {
	var d struct {
		Data struct {
			Events []map[string]any `json:"events"`
		} `json:"data"`
	}
	if json.Unmarshal(body, &d) != nil {
		return 0, nil
	}
	for _, ev := range d.Data.Events {
		if id, ok := ev["uuid"].(string); ok && id != "" {
			uuids = append(uuids, id)
		}
	}
	return len(d.Data.Events), uuids
}
