package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
	// Parse before validating: the parser stops at fastjson.MaxDepth levels
	// of nesting, while the validator recurses without a limit and a body
	// of a few million '[' would overflow the stack.
	root, err := p.ParseBytes(body)
	if err != nil {
		return env, describeJSONError(body, err)
	}
	// The parser is lenient with some malformed input (bad escapes, control
	// characters, "nan"); validating too makes bad JSON a 400 instead of a
	// silently altered event.
	if err := fastjson.ValidateBytes(body); err != nil {
		return env, describeJSONError(body, err)
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

// maxReasonBytes bounds the reason returned to the caller.
const maxReasonBytes = 160

// describeJSONError says where and why body is not valid JSON, in one short
// line that quotes nothing of the body but a character: fastjson's own
// messages grow with nesting and quote the rest of the body, which may hold
// anything. encoding/json gives the byte offset; it only runs on this error
// path, and its scanner is not recursive.
func describeJSONError(body []byte, parseErr error) error {
	var raw json.RawMessage
	err := json.Unmarshal(body, &raw)
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("body is not valid JSON at byte %d: %s", se.Offset, oneLine(se.Error()))
	case err != nil:
		return fmt.Errorf("body is not valid JSON: %s", oneLine(err.Error()))
	case strings.Contains(parseErr.Error(), "too big depth"):
		return fmt.Errorf("body nests deeper than %d levels", fastjson.MaxDepth)
	}
	return errors.New("body is not valid JSON")
}

// oneLine keeps a message printable, on one line and short.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return '?'
		}
		return r
	}, s)
	if len(s) > maxReasonBytes {
		cut := maxReasonBytes
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}
