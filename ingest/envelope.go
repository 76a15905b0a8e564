package ingest

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/hookbridge/hookbridge/internal/jsontape"
)

// envelope is the parsed part of an event hook delivery that ingest uses.
// Its slices and values point into the document and live until its next
// Parse.
type envelope struct {
	eventID   []byte // nil when missing or not a string
	eventTime []byte
	events    jsontape.Value // an array
}

// errEmptyBody is returned for a delivery without a body.
var errEmptyBody = errors.New("body is empty; expected an event hook envelope")

// parseEnvelope parses body as strict JSON into doc and extracts the
// envelope. doc rewrites body's escaped strings in place. Its errors are one
// line, specific, and safe to return to the caller: they quote no secrets,
// only positions, types and at most one printable character.
func parseEnvelope(doc *jsontape.Doc, body []byte) (envelope, error) {
	var env envelope
	if len(body) == 0 {
		return env, errEmptyBody
	}
	if err := doc.Parse(body); err != nil {
		return env, describeJSONError(err)
	}
	root := doc.Root()
	switch root.Kind() {
	case jsontape.Object:
	case jsontape.Array:
		return env, errors.New("body is a JSON array; expected an event hook envelope object " +
			"with data.events")
	default:
		return env, fmt.Errorf("body is a JSON %s; expected an event hook envelope object", root.Kind())
	}
	data := root.Get("data")
	switch data.Kind() {
	case jsontape.Invalid:
		return env, errors.New("envelope has no data member; expected data.events")
	case jsontape.Object:
	default:
		return env, fmt.Errorf("envelope data is a JSON %s; expected an object with events", data.Kind())
	}
	env.events = data.Get("events")
	switch env.events.Kind() {
	case jsontape.Invalid:
		return env, errors.New("envelope has no data.events member")
	case jsontape.Array:
	default:
		return env, fmt.Errorf("envelope data.events is a JSON %s; expected an array", env.events.Kind())
	}
	env.eventID = stringOrNil(root.Get("eventId"))
	env.eventTime = stringOrNil(root.Get("eventTime"))
	return env, nil
}

func stringOrNil(v jsontape.Value) []byte {
	if v.Kind() != jsontape.String {
		return nil
	}
	return v.Bytes()
}

// maxReasonBytes bounds the reason returned to the caller.
const maxReasonBytes = 160

// describeJSONError turns the parser's error into the reason of a 400.
func describeJSONError(err error) error {
	var se *jsontape.SyntaxError
	if errors.As(err, &se) && strings.HasPrefix(se.Msg, "nesting deeper") {
		return fmt.Errorf("body nests deeper than %d levels", jsontape.MaxDepth)
	}
	return fmt.Errorf("body is not valid JSON: %s", oneLine(err.Error()))
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
