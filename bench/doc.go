// Package bench generates realistic Okta event hook traffic for load tests and
// benchmarks: System Log events and event hook deliveries shaped like those in
// the shared public corpus and testdata/events.json, with the same mix of
// nulls, nested targets, open debugData maps, non-ASCII names and IPv4 and
// IPv6 hops. Output is deterministic for a given seed, so figures from two
// runs compare the same bytes.
package bench
