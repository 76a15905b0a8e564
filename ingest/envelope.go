package ingest

import (
	"errors"
	"fmt"

	"github.com/valyala/fastjson"
)

// envelope is the parsed part of an event hook delivery that ingest uses.
// Its slices point into the parser and live as long as the parser's next
// use.
type envelope struct {
	eventID   []byte // nil when missing or not a string
	eventTime []byte
	events    []*fastjson.Value
}

// errEmptyBody is returned for a delivery without a body.
var errEmptyBody = errors.New("body is empty; expected an event hook envelope")

// parseEnvelope validates body as strict JSON and extracts the envelope. Its
// errors are one line, specific, and safe to return to the caller: they
// quote no secrets, only positions and types.
func parseEnvelope(p *fastjson.Parser, body []byte) (envelope, error) {
	var env envelope
	if len(body) == 0 {
		return env, errEmptyBody
	}
	// fastjson's parser is lenient with some malformed input (bad escapes,
	// control characters, "nan"); validating first makes bad JSON a 400
	// instead of a silently altered event.
	if err := fastjson.ValidateBytes(body); err != nil {
		return env, fmt.Errorf("body is not valid JSON: %w", err)
	}
	root, err := p.ParseBytes(body)
	if err != nil {
		return env, fmt.Errorf("body is not valid JSON: %w", err)
	}
	switch root.Type() {
	case fastjson.TypeObject:
	case fastjson.TypeArray:
		return env, errors.New("body is a JSON array; expected an event hook envelope object " +
			"with data.events")
	default:
		return env, fmt.Errorf("body is a JSON %s; expected an event hook envelope object", root.Type())
	}
	data := root.Get("data")
	if data == nil {
		return env, errors.New("envelope has no data member; expected data.events")
	}
	if data.Type() != fastjson.TypeObject {
		return env, fmt.Errorf("envelope data is a JSON %s; expected an object with events", data.Type())
	}
	events := data.Get("events")
	if events == nil {
		return env, errors.New("envelope has no data.events member")
	}
	if events.Type() != fastjson.TypeArray {
		return env, fmt.Errorf("envelope data.events is a JSON %s; expected an array", events.Type())
	}
	env.events, _ = events.Array()
	env.eventID = stringOrNil(root.Get("eventId"))
	env.eventTime = stringOrNil(root.Get("eventTime"))
	return env, nil
}

func stringOrNil(v *fastjson.Value) []byte {
	if v == nil || v.Type() != fastjson.TypeString {
		return nil
	}
	b, _ := v.StringBytes()
	return b
}
