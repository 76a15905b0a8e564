package sinks

import (
	"encoding/json"
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// filter is a compiled sink filter; nil lets every event through.
type filter struct {
	prog *vm.Program
}

func compileFilter(src string) (*filter, error) {
	if src == "" {
		return nil, nil
	}
	prog, err := expr.Compile(src, expr.AsBool(), expr.AllowUndefinedVariables())
	if err != nil {
		return nil, fmt.Errorf("compile %q: %w", src, err)
	}
	return &filter{prog: prog}, nil
}

// match evaluates the filter on an event's JSON. An event the filter
// cannot be evaluated on does not match.
func (f *filter) match(event []byte) (bool, error) {
	if f == nil {
		return true, nil
	}
	var fields map[string]any
	if err := json.Unmarshal(event, &fields); err != nil {
		return false, fmt.Errorf("filter: event is not a JSON object: %w", err)
	}
	out, err := expr.Run(f.prog, fields)
	if err != nil {
		return false, fmt.Errorf("filter: %w", err)
	}
	ok, _ := out.(bool)
	return ok, nil
}
